"""Presence per video tier with real python-socketio clients: one node over TCP, and two real
processes sharing the room through the real Redis."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from live_server.room.live_state import RedisLiveState
from support.helpers import ServerProcess, auth, start_server_process, wait_for
from support.room import Room, RoomClient, make_room

REDIS_URL = "redis://127.0.0.1:6379/0"


def tiers(client: RoomClient) -> dict[str, int] | None:
    presence: dict[str, Any] | None = client.last_presence()
    return None if presence is None else {"viewers": presence["viewers"], **presence["tiers"]}


@pytest.fixture
async def room(client: Any, make_user: Any) -> AsyncIterator[Room]:
    base_url = str(client.make_url("/")).rstrip("/")
    r = await make_room(client, make_user, base_url)
    yield r
    await r.close()


async def test_viewers_say_their_tier_and_the_host_sees_the_counts(room: Room) -> None:
    sid = room.session_id
    host = await room.client(room.host_token)
    ana = await room.client(room.viewer_token)
    bob = await room.client(room.viewer2_token)
    anon = await room.client(None)
    snap = await RoomClient(room.base_url, None).connect()
    room.clients.append(snap)
    # before anyone says a tier: three viewers, in no tier
    await wait_for(
        lambda: tiers(host) == {"viewers": 3, "webrtc": 0, "hls": 0}, message="3 viewers"
    )

    assert await ana.call("room:watch_tier", {"session_id": sid, "tier": "webrtc"}) == {"ok": True}
    assert await bob.call("room:watch_tier", {"session_id": sid, "tier": "hls"}) == {"ok": True}
    assert await anon.call("room:watch_tier", {"session_id": sid, "tier": "hls"}) == {"ok": True}
    await wait_for(
        lambda: tiers(host) == {"viewers": 3, "webrtc": 1, "hls": 2}, message="per-tier counts"
    )
    # ask now instead of waiting for the next change (the studio's panel does)
    ack = await host.call("room:presence", {"session_id": sid})
    assert ack["ok"] and ack["presence"]["tiers"] == {"webrtc": 1, "hls": 2}
    assert ack["presence"]["viewers"] == 3 and ack["presence"]["peak"] == 3

    # bob's page falls back or upgrades: he moves between tiers
    await bob.call("room:watch_tier", {"session_id": sid, "tier": "webrtc"})
    await wait_for(
        lambda: tiers(host) == {"viewers": 3, "webrtc": 2, "hls": 1}, message="bob moved"
    )
    # a viewer who leaves leaves their tier
    await anon.close()
    await wait_for(
        lambda: tiers(host) == {"viewers": 2, "webrtc": 2, "hls": 0}, message="anon left"
    )

    # refusals: not in the room, a tier that does not exist, a field too many
    refused = await snap.call("room:watch_tier", {"session_id": sid, "tier": "hls"})
    assert refused["error"]["code"] == "not_joined"
    assert (await snap.call("room:presence", {"session_id": sid}))["error"]["code"] == "not_joined"
    bad = await ana.call("room:watch_tier", {"session_id": sid, "tier": "dash"})
    assert bad["error"]["code"] == "invalid" and "webrtc, hls" in bad["error"]["message"]
    extra = await ana.call("room:watch_tier", {"session_id": sid, "tier": "hls", "x": 1})
    assert extra["error"]["code"] == "invalid"
    # the refused calls changed nothing
    ack = await host.call("room:presence", {"session_id": sid})
    assert ack["presence"]["tiers"] == {"webrtc": 2, "hls": 0}


# -- two processes, one Redis --------------------------------------------------------------


@pytest.fixture
def prefix() -> str:
    return f"test-tiers-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def nodes(tmp_path: Path, prefix: str) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    env = {"LIVESHOP_REDIS_PREFIX": prefix, "LIVESHOP_SECRET": "two-node-secret"}
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


async def _register(
    http: aiohttp.ClientSession, url: str, db: Path, name: str, role: str = "viewer"
) -> str:
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
    return str(data["token"])


@pytest.mark.redis
@pytest.mark.slow
async def test_tier_counts_add_up_over_two_nodes(
    nodes: tuple[ServerProcess, ServerProcess], redis_cleanup: None
) -> None:
    a, b = nodes
    db = a.data_dir / "liveshop.db"
    async with aiohttp.ClientSession() as http:
        host_token = await _register(http, a.url, db, "tierhost", "host")
        tokens = [await _register(http, b.url, db, f"tierviewer{i}") for i in range(3)]
        async with http.post(
            f"{a.url}/api/sessions", json={"title": "Two tiers"}, headers=auth(host_token)
        ) as resp:
            assert resp.status == 201, await resp.text()
            sid = (await resp.json())["id"]
    clients: list[RoomClient] = []
    try:
        host = await RoomClient(a.url, host_token).connect()
        clients.append(host)
        await host.join(sid)
        # one viewer on node A (real-time), two on node B (one of each)
        placement = [(a, "webrtc"), (b, "hls"), (b, "webrtc")]
        viewers = []
        for token, (node, _) in zip(tokens, placement, strict=True):
            viewer = await RoomClient(node.url, token).connect()
            clients.append(viewer)
            await viewer.join(sid)
            viewers.append(viewer)
        for viewer, (_, tier) in zip(viewers, placement, strict=True):
            ack = await viewer.call("room:watch_tier", {"session_id": sid, "tier": tier})
            assert ack == {"ok": True}
        await wait_for(
            lambda: tiers(host) == {"viewers": 3, "webrtc": 2, "hls": 1},
            timeout=15,
            message="tiers summed over both nodes",
        )
        # a viewer on B moves to standard latency: A's host sees it
        await viewers[2].call("room:watch_tier", {"session_id": sid, "tier": "hls"})
        await wait_for(
            lambda: tiers(host) == {"viewers": 3, "webrtc": 1, "hls": 2},
            timeout=15,
            message="a tier change on the other node",
        )
        # node B's viewers leave: only A's remain
        for viewer in viewers[1:]:
            await viewer.close()
        await wait_for(
            lambda: tiers(host) == {"viewers": 1, "webrtc": 1, "hls": 0},
            timeout=15,
            message="B's viewers gone",
        )
    finally:
        for c in clients:
            await c.close()
