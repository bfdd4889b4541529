"""Helpers for the live-room tests: a recorded Socket.IO client and a ready-made session."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import socketio

from support.helpers import auth, wait_for


class RoomClient:
    """A python-socketio AsyncClient that records every event it receives."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url
        self.token = token
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: dict[str, list[Any]] = defaultdict(list)
        self.disconnected = asyncio.Event()

        @self.sio.on("*")  # type: ignore[misc]
        async def _any(event: str, data: Any = None) -> None:
            self.events[event].append(data)

        @self.sio.event  # type: ignore[misc]
        async def disconnect(*_: Any) -> None:
            self.disconnected.set()

    async def connect(self) -> RoomClient:
        await self.sio.connect(
            self.url,
            auth={"token": self.token} if self.token else None,
            transports=["websocket"],
            wait_timeout=10,
        )
        return self

    async def call(self, event: str, *data: Any, timeout: float = 10) -> Any:
        return await self.sio.call(event, data[0] if len(data) == 1 else data, timeout=timeout)

    async def join(self, session_id: int) -> dict[str, Any]:
        ack = await self.call("room:join", {"session_id": session_id})
        assert ack.get("ok"), ack
        return ack["snapshot"]  # type: ignore[no-any-return]

    def texts(self) -> list[str]:
        return [m["text"] for m in self.events["chat:message"]]

    def ticks(self) -> list[dict[str, Any]]:
        return self.events["room:tick"]

    def last_pins(self) -> list[dict[str, Any]] | None:
        pins = [t["pins"] for t in self.ticks() if "pins" in t]
        return pins[-1] if pins else None

    def reaction_sum(self, kind: str = "heart") -> int:
        return sum(t.get("reactions", {}).get(kind, 0) for t in self.ticks())

    def last_presence(self) -> dict[str, int] | None:
        found = [t["presence"] for t in self.ticks() if "presence" in t]
        return found[-1] if found else None

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


@dataclass
class Room:
    """A scheduled session with a host, a moderator, two viewers and four products."""

    base_url: str
    session_id: int
    host: dict[str, Any]
    host_token: str
    mod: dict[str, Any]
    mod_token: str
    viewer: dict[str, Any]
    viewer_token: str
    viewer2: dict[str, Any]
    viewer2_token: str
    product_ids: list[int]
    clients: list[RoomClient] = field(default_factory=list)

    async def client(self, token: str | None, join: bool = True) -> RoomClient:
        c = await RoomClient(self.base_url, token).connect()
        self.clients.append(c)
        if join:
            await c.join(self.session_id)
        return c

    async def close(self) -> None:
        for c in self.clients:
            await c.close()


async def make_room(http: Any, make_user: Any, base_url: str) -> Room:
    """Creates users, products and a session through the REST API of a test client."""
    host, host_token = await make_user("host")
    mod, mod_token = await make_user()
    viewer, viewer_token = await make_user()
    viewer2, viewer2_token = await make_user()
    product_ids = []
    for i in range(4):
        resp = await http.post(
            "/api/products",
            json={
                "title": f"Product {i} <b>bold</b>",
                "price_minor": 1000 + i,
                "currency": "USD",
                "category": "fashion",
                "stock": 10 + i,
            },
            headers=auth(host_token),
        )
        assert resp.status == 201, await resp.text()
        product_ids.append((await resp.json())["id"])
    resp = await http.post(
        "/api/sessions",
        json={
            "title": "Room test",
            "product_ids": product_ids,
            "moderators": [mod["username"]],
        },
        headers=auth(host_token),
    )
    assert resp.status == 201, await resp.text()
    session_id = (await resp.json())["id"]
    return Room(
        base_url,
        session_id,
        host,
        host_token,
        mod,
        mod_token,
        viewer,
        viewer_token,
        viewer2,
        viewer2_token,
        product_ids,
    )


__all__ = ["Room", "RoomClient", "make_room", "wait_for"]
