"""Two real LiveShop processes share one room through the real Redis.

Both serve the same data directory (one SQLite file, one signing secret) and use
`--redis-url`: chat, pins, reactions, bans, rate limits and the viewer count cross nodes.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from live_server.room.live_state import RedisLiveState
from support.helpers import ServerProcess, auth, start_server_process, wait_for
from support.room import RoomClient

pytestmark = [pytest.mark.redis, pytest.mark.slow]
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix() -> str:
    return f"test-room-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def nodes(tmp_path: Path, prefix: str) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    # the chat bucket refills once every 1,000 s: "a burst of 4 is refused" cannot depend on timing
    env = {
        "LIVESHOP_REDIS_PREFIX": prefix,
        "LIVESHOP_SECRET": "two-node-secret",
        "LIVESHOP_CHAT_RATE_PER_S": "0.001",
    }
    data = tmp_path / "var"
    args = ["--redis-url", REDIS_URL]
    a = start_server_process(data, demo=False, extra_args=args, env=env)
    try:
        b = start_server_process(data, demo=False, extra_args=args, env=env)
    except Exception:
        a.stop()
        raise
    yield a, b
    for node in (a, b):
        node.stop()


@pytest.fixture
async def redis_cleanup(prefix: str) -> AsyncIterator[None]:
    yield
    state = RedisLiveState.from_url(REDIS_URL, prefix)
    await state.delete_all()
    await state.close()


async def _user(
    http: aiohttp.ClientSession, url: str, db: Path, name: str, role: str
) -> tuple[int, str]:
    body = {
        "username": name,
        "password": "pw-secret-1",
        "display_name": name.title(),
        "interests": ["fashion", "beauty", "home", "kitchen", "tech"],
    }
    async with http.post(f"{url}/api/auth/register", json=body) as resp:
        assert resp.status == 201, await resp.text()
        data = await resp.json()
    if role != "viewer":
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE users SET role = ? WHERE id = ?", (role, data["user"]["id"]))
        async with http.post(
            f"{url}/api/auth/login", json={"username": name, "password": "pw-secret-1"}
        ) as resp:
            data = await resp.json()
    return data["user"]["id"], data["token"]


async def test_room_spans_two_processes(
    nodes: tuple[ServerProcess, ServerProcess], redis_cleanup: None
) -> None:
    a, b = nodes
    db = a.data_dir / "liveshop.db"
    clients: list[RoomClient] = []

    async def connect(node: ServerProcess, token: str | None) -> RoomClient:
        c = await RoomClient(node.url, token).connect()
        clients.append(c)
        return c

    async with aiohttp.ClientSession() as http:
        _, host_token = await _user(http, a.url, db, "hostx", "host")
        _, mod_token = await _user(http, b.url, db, "modx", "viewer")
        viewer_id, viewer_token = await _user(http, a.url, db, "viewerx", "viewer")
        _, viewer2_token = await _user(http, b.url, db, "viewery", "viewer")
        async with http.post(
            f"{a.url}/api/products",
            json={
                "title": "Red scarf",
                "price_minor": 2500,
                "currency": "USD",
                "category": "fashion",
                "stock": 7,
            },
            headers=auth(host_token),
        ) as resp:
            assert resp.status == 201, await resp.text()
            product_id = (await resp.json())["id"]
        async with http.post(
            f"{b.url}/api/sessions",
            json={"title": "Two nodes", "product_ids": [product_id], "moderators": ["modx"]},
            headers=auth(host_token),
        ) as resp:
            assert resp.status == 201, await resp.text()
            sid = (await resp.json())["id"]
    try:
        host = await connect(a, host_token)
        viewer_a = await connect(a, viewer_token)
        viewer_b = await connect(b, viewer2_token)
        mod_b = await connect(b, mod_token)
        for c in (host, viewer_a, viewer_b, mod_b):
            await c.join(sid)

        # chat crosses nodes
        ack = await viewer_a.call("chat:send", {"session_id": sid, "text": "hello from A"})
        assert ack["ok"]
        await wait_for(lambda: "hello from A" in viewer_b.texts(), message="chat A -> B")
        await viewer_b.call("chat:send", {"session_id": sid, "text": "hello from B"})
        await wait_for(lambda: "hello from B" in viewer_a.texts(), message="chat B -> A")

        # viewer count summed over nodes (host and moderator not counted)
        await wait_for(
            lambda: (host.last_presence() or {}).get("viewers") == 2, message="2 viewers"
        )

        # reactions from both nodes, aggregated, one tick stream (no duplicate seq)
        for _ in range(4):
            await viewer_a.call("reaction:send", {"session_id": sid, "kind": "heart", "count": 5})
            await viewer_b.call("reaction:send", {"session_id": sid, "kind": "heart", "count": 5})
        for c in (viewer_a, viewer_b, host):
            await wait_for(
                lambda c=c: c.reaction_sum("heart") == 40, message="40 hearts everywhere"
            )
        seqs = [t["seq"] for t in host.ticks()]
        assert len(seqs) == len(set(seqs))

        # a pin made on B shows on A within a tick, with stock from the database
        ack = await mod_b.call("pin:add", {"session_id": sid, "product_id": product_id})
        assert ack["ok"], ack
        await wait_for(lambda: viewer_a.last_pins(), message="card on A")
        card = (viewer_a.last_pins() or [])[0]
        assert card["title"] == "Red scarf" and card["stock"] == 7

        # slow mode set on B holds for the same user's connection on A
        ack = await mod_b.call("mod:settings", {"session_id": sid, "slow_mode_seconds": 60})
        assert ack["ok"], ack
        await wait_for(lambda: viewer_a.events["room:settings"], message="settings on A")
        viewer_b_on_a = await connect(a, viewer2_token)
        await viewer_b_on_a.join(sid)
        first = await viewer_b.call("chat:send", {"session_id": sid, "text": "slow one"})
        second = await viewer_b_on_a.call("chat:send", {"session_id": sid, "text": "slow two"})
        assert first["ok"] and second["error"]["code"] == "slow_mode", (first, second)
        await mod_b.call("mod:settings", {"session_id": sid, "slow_mode_seconds": 0})

        # the rate limit is shared: a second connection on B draws from the same bucket
        viewer_a_on_b = await connect(b, viewer_token)
        await viewer_a_on_b.join(sid)
        codes = []
        for i in range(4):
            conn = viewer_a if i % 2 == 0 else viewer_a_on_b
            ack = await conn.call("chat:send", {"session_id": sid, "text": f"burst {i}"})
            codes.append(ack.get("error", {}).get("code", "ok"))
        assert "rate_limited" in codes, codes

        # a ban issued on B disconnects the viewer's sockets on A and on B
        ack = await mod_b.call("mod:ban", {"session_id": sid, "user_id": viewer_id})
        assert ack["ok"]
        await wait_for(lambda: viewer_a.disconnected.is_set(), message="banned on A")
        await wait_for(lambda: viewer_a_on_b.disconnected.is_set(), message="banned on B")
        again = await connect(a, viewer_token)
        refused = await again.call("room:join", {"session_id": sid})
        assert refused["error"]["code"] == "banned"
        # left: viewer2, connected to both nodes (each node counts its own distinct viewers)
        await wait_for(lambda: (host.last_presence() or {}).get("viewers") == 2, message="2 left")
    finally:
        for c in clients:
            await c.close()
