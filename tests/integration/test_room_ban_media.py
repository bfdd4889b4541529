"""Issue 13, part 3: a ban means ban. A real aiortc host and WHEP viewers, python-socketio
room clients: a banned viewer's running video is closed within 2 s, a new WHEP, the LL-HLS
grant, rejoining the room and buying from the show are refused; a timeout only mutes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from aiortc import RTCPeerConnection

from support.commerce import make_buyer, make_product
from support.helpers import auth, wait_for
from support.peers import NumberedVideoTrack, http_negotiate, viewer_pc
from support.room import RoomClient
from support.services import Services

pytestmark = pytest.mark.slow
Client = TestClient[Any, Any]
SDP = {"Content-Type": "application/sdp"}


@dataclass
class LiveShow:
    """A live show (a real WHIP host) with a moderator and two viewers ready to buy."""

    base: str
    session_id: int
    product_id: int
    mod: dict[str, Any]
    mod_token: str
    viewer: dict[str, Any]
    viewer_token: str
    other: dict[str, Any]
    other_token: str


@pytest.fixture
async def show(client: Client, make_user: Any) -> AsyncIterator[LiveShow]:
    _host, host_token = await make_user("host")
    mod, mod_token = await make_user()
    viewer, viewer_token = await make_buyer(client, make_user)
    other, other_token = await make_buyer(client, make_user)
    product_id = await make_product(client, host_token, stock=10, title="Blue mug")
    resp = await client.post(
        "/api/sessions",
        json={"title": "Ban test", "product_ids": [product_id], "moderators": [mod["username"]]},
        headers=auth(host_token),
    )
    assert resp.status == 201, await resp.text()
    session_id = int((await resp.json())["id"])
    resp = await client.get(f"/api/sessions/{session_id}/stream-key", headers=auth(host_token))
    stream_key = (await resp.json())["stream_key"]
    base = str(client.make_url("")).rstrip("/")
    host = RTCPeerConnection()
    host.addTransceiver(NumberedVideoTrack(), direction="sendonly")
    async with aiohttp.ClientSession() as http:
        await http_negotiate(http, host, f"{base}/whip/{session_id}", stream_key)

    async def live() -> bool:
        body = await (await client.get(f"/api/sessions/{session_id}")).json()
        return bool(body["state"] == "live")

    await wait_for(live, timeout=20, message="the show live")
    try:
        yield LiveShow(
            base, session_id, product_id, mod, mod_token, viewer, viewer_token, other, other_token
        )
    finally:
        await host.close()


async def _watch(show: LiveShow, token: str) -> RTCPeerConnection:
    """A real WHEP viewer, connected."""
    pc = viewer_pc()
    async with aiohttp.ClientSession() as http:
        await http_negotiate(http, pc, f"{show.base}/whep/{show.session_id}", token)
    await wait_for(lambda: pc.connectionState == "connected", timeout=15, message="WHEP up")
    return pc


async def _buy(client: Client, show: LiveShow, token: str, source: Any) -> tuple[int, Any]:
    body: dict[str, Any] = {"product_id": show.product_id}
    if source is not None:
        body["source"] = source
    resp = await client.post(
        "/api/checkout/buy-now",
        json=body,
        headers={**auth(token), "Idempotency-Key": f"k-{time.monotonic_ns()}"},
    )
    return resp.status, await resp.json()


async def test_ban_closes_video_and_refuses_watching_rejoining_and_buying(
    client: Client, services: Services, show: LiveShow
) -> None:
    sid = show.session_id
    live_source = {"type": "live", "id": sid}
    mod = await RoomClient(show.base, show.mod_token).connect()
    banned_room = await RoomClient(show.base, show.viewer_token).connect()
    other_room = await RoomClient(show.base, show.other_token).connect()
    pcs: list[RTCPeerConnection] = []
    try:
        for c in (mod, banned_room, other_room):
            await c.join(sid)
        banned_pc = await _watch(show, show.viewer_token)
        other_pc = await _watch(show, show.other_token)
        pcs += [banned_pc, other_pc]

        # a timeout only mutes: no chat, but the video plays on and buying works
        ack = await mod.call(
            "mod:timeout", {"session_id": sid, "user_id": show.other["id"], "seconds": 60}
        )
        assert ack["ok"], ack
        ack = await other_room.call("chat:send", {"session_id": sid, "text": "hi"})
        assert ack["error"]["code"] == "timed_out", ack
        status, body = await _buy(client, show, show.other_token, live_source)
        assert status == 201, body
        hls = await client.get(f"/api/sessions/{sid}/hls", headers=auth(show.other_token))
        assert hls.status == 200

        # the ban: the running WHEP connection is closed within 2 s
        started = time.monotonic()
        ack = await mod.call("mod:ban", {"session_id": sid, "user_id": show.viewer["id"]})
        assert ack["ok"], ack
        await wait_for(
            lambda: banned_pc.connectionState in ("closed", "failed"),
            timeout=2.0,
            message="the banned viewer's WHEP connection closed",
        )
        assert time.monotonic() - started < 2.0
        await wait_for(lambda: banned_room.disconnected.is_set(), timeout=2, message="socket out")
        assert services.broadcast.viewer_count(sid) == 1  # the timed-out viewer still watches
        assert other_pc.connectionState == "connected"
        assert other_room.sio.connected

        # a new WHEP is refused with a sentence
        again = viewer_pc()
        pcs.append(again)
        await again.setLocalDescription(await again.createOffer())
        resp = await client.post(
            f"/whep/{sid}",
            data=again.localDescription.sdp,
            headers={**SDP, **auth(show.viewer_token)},
        )
        assert resp.status == 403
        error = (await resp.json())["error"]
        assert error["code"] == "banned"
        assert "can't watch" in error["message"]

        # no LL-HLS playlist or grant for them either (they are signed in, so known)
        hls = await client.get(f"/api/sessions/{sid}/hls", headers=auth(show.viewer_token))
        assert hls.status == 403
        assert (await hls.json())["error"]["code"] == "banned"
        playlist = await client.get(f"/hls/{sid}/index.m3u8", headers=auth(show.viewer_token))
        assert playlist.status == 403

        # rejoining the room is refused
        rejoin = await RoomClient(show.base, show.viewer_token).connect()
        try:
            ack = await rejoin.call("room:join", {"session_id": sid})
            assert ack["error"]["code"] == "banned", ack
        finally:
            await rejoin.close()

        # buying from the show's page is refused; the same product elsewhere is not
        status, body = await _buy(client, show, show.viewer_token, live_source)
        assert status == 403, body
        assert body["error"]["code"] == "banned"
        assert "can't buy" in body["error"]["message"]
        status, body = await _buy(client, show, show.viewer_token, None)
        assert status == 201, body
        assert body["order"]["source"]["type"] == "direct"

        # the moderation log names the banned user and the pinned product
        ack = await mod.call("pin:add", {"session_id": sid, "product_id": show.product_id})
        assert ack["ok"], ack
        log = await mod.call("mod:log", {"session_id": sid})
        ban = next(e for e in log["entries"] if e["action"] == "ban")
        assert ban["target_user"] == {"id": show.viewer["id"], "name": show.viewer["display_name"]}
        pin = next(e for e in log["entries"] if e["action"] == "pin")
        assert pin["product"] == {"id": show.product_id, "title": "Blue mug"}
        assert pin["target_user"] is None

    finally:
        for c in (mod, banned_room, other_room):
            await c.close()
        await asyncio.gather(*(pc.close() for pc in pcs))
