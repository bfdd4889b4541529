"""Issue 13, part 3, on two real nodes sharing Redis and one database: the host is live
through A, a viewer watches through B (B pulls the show from A), a moderator bans the
viewer on A. B closes the viewer's video within 2 s (the room's ban notice over Redis),
and B refuses a new WHEP and a rejoin. Also a media-only edge reached through the
origin's redirect ticket."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import aiohttp
import pytest
from aiortc import RTCSessionDescription

from support.cluster import (
    Host,
    Nodes,
    Watcher,
    new_show,
    start_edge_node,
    start_full_node,
)
from support.helpers import auth, wait_for
from support.peers import http_negotiate, viewer_pc
from support.room import RoomClient

pytestmark = [pytest.mark.redis, pytest.mark.slow]


async def _token(http: aiohttp.ClientSession, url: str, username: str | None = None) -> str:
    if username is not None:  # a demo account
        body = {"username": username, "password": "demo"}
        async with http.post(f"{url}/api/auth/login", json=body) as resp:
            assert resp.status == 200, await resp.text()
            return str((await resp.json())["token"])
    body = {
        "username": f"fan{uuid.uuid4().hex[:8]}",
        "password": "fan-secret-1",
        "display_name": "Fan",
        "interests": ["fashion", "beauty", "home", "kitchen", "tech"],
    }
    async with http.post(f"{url}/api/auth/register", json=body) as resp:
        assert resp.status == 201, await resp.text()
        return str((await resp.json())["token"])


async def test_a_ban_on_one_node_closes_the_video_on_another(
    tmp_path: Path, prefix: str, nodes: Nodes, redis_keys: None
) -> None:
    data = tmp_path / "var"
    a = nodes.add(start_full_node(data, prefix))
    b = nodes.add(start_full_node(data, prefix))
    host = Host()
    watcher = Watcher()
    clients: list[RoomClient] = []
    async with aiohttp.ClientSession() as http:
        try:
            session_id, key, _ = await new_show(http, a.url, moderators=["demo-mod"])
            await host.publish(http, a.url, session_id, key)

            async def live() -> bool:
                async with http.get(f"{a.url}/api/sessions/{session_id}/broadcast") as resp:
                    return bool((await resp.json())["publishing"])

            await wait_for(live, timeout=20, message="the host live through A")
            viewer_token = await _token(http, b.url)
            resource = await http_negotiate(
                http, watcher.pc, f"{b.url}/whep/{session_id}", viewer_token
            )
            assert resource.location.startswith(b.url), resource.location
            await wait_for(watcher.playing, timeout=30, message="the viewer plays through B")
            viewer = RoomClient(b.url, viewer_token)
            mod = RoomClient(a.url, await _token(http, a.url, "demo-mod"))
            clients += [viewer, mod]
            for c in (viewer, mod):
                await c.connect()
            snapshot = await viewer.join(session_id)
            await mod.join(session_id)
            user_id = snapshot["me"]["user_id"]

            started = time.monotonic()
            ack = await mod.call("mod:ban", {"session_id": session_id, "user_id": user_id})
            assert ack["ok"], ack
            await wait_for(
                lambda: watcher.pc.connectionState in ("closed", "failed"),
                timeout=2.0,
                message="B closed the banned viewer's WHEP connection",
            )
            assert time.monotonic() - started < 2.0
            # B's media plane closed it (told through Redis), not A's
            await wait_for(lambda: "banned: 1 viewer connection(s) closed" in b.log(), timeout=5)
            assert "banned: 1 viewer connection(s) closed" not in a.log()

            # B refuses them a new WHEP and the room
            again = viewer_pc()
            try:
                await again.setLocalDescription(await again.createOffer())
                async with http.post(
                    f"{b.url}/whep/{session_id}",
                    data=again.localDescription.sdp,
                    headers={"Content-Type": "application/sdp", **auth(viewer_token)},
                ) as resp:
                    assert resp.status == 403
                    assert (await resp.json())["error"]["code"] == "banned"
            finally:
                await again.close()
            rejoin = RoomClient(b.url, viewer_token)
            clients.append(rejoin)
            await rejoin.connect()
            ack = await rejoin.call("room:join", {"session_id": session_id})
            assert ack["error"]["code"] == "banned", ack
        finally:
            for c in clients:
                await c.close()
            await watcher.close()
            await host.close()


async def test_a_ban_closes_the_video_on_an_edge_reached_through_a_redirect_ticket(
    tmp_path: Path, prefix: str, nodes: Nodes, redis_keys: None
) -> None:
    """The origin is full, so a signed-in viewer is sent to a media-only edge with a watch
    ticket naming them (the browser's redirected POST carries no Authorization). A ban on
    the origin closes that video on the edge, and neither the origin nor the old ticket
    gets them back in."""
    origin = nodes.add(
        start_full_node(tmp_path / "origin", prefix, LIVESHOP_MAX_WEBRTC_VIEWERS="1")
    )
    edge = nodes.add(start_edge_node(tmp_path / "edge", prefix, LIVESHOP_MAX_WEBRTC_VIEWERS="2"))
    host = Host()
    filler, watcher = Watcher(), Watcher()
    clients: list[RoomClient] = []
    sdp = {"Content-Type": "application/sdp"}
    async with aiohttp.ClientSession() as http:
        try:
            session_id, key, _ = await new_show(http, origin.url, moderators=["demo-mod"])
            await host.publish(http, origin.url, session_id, key)

            async def live() -> bool:
                async with http.get(f"{origin.url}/api/sessions/{session_id}/broadcast") as r:
                    return bool((await r.json())["publishing"])

            await wait_for(live, timeout=20, message="the host live through the origin")
            await filler.watch(http, f"{origin.url}/whep/{session_id}")  # the origin's one seat
            viewer_token = await _token(http, origin.url)
            await watcher.pc.setLocalDescription(await watcher.pc.createOffer())
            offer = watcher.pc.localDescription.sdp
            async with http.post(
                f"{origin.url}/whep/{session_id}",
                data=offer,
                headers={**sdp, **auth(viewer_token)},
                allow_redirects=False,
            ) as resp:
                assert resp.status == 307, await resp.text()
                ticketed = resp.headers["Location"]
            assert ticketed.startswith(f"{edge.url}/whep/{session_id}?ticket=")
            async with http.post(ticketed, data=offer, headers=sdp) as resp:  # no token
                assert resp.status == 201, await resp.text()
                answer = await resp.text()
            await watcher.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
            await wait_for(watcher.playing, timeout=30, message="the viewer plays on the edge")

            viewer = RoomClient(origin.url, viewer_token)
            mod = RoomClient(origin.url, await _token(http, origin.url, "demo-mod"))
            clients += [viewer, mod]
            for c in (viewer, mod):
                await c.connect()
            user_id = (await viewer.join(session_id))["me"]["user_id"]
            await mod.join(session_id)
            started = time.monotonic()
            ack = await mod.call("mod:ban", {"session_id": session_id, "user_id": user_id})
            assert ack["ok"], ack
            await wait_for(
                lambda: watcher.pc.connectionState in ("closed", "failed"),
                timeout=2.0,
                message="the edge closed the banned viewer's video",
            )
            assert time.monotonic() - started < 2.0
            await wait_for(lambda: "banned: 1 viewer connection(s) closed" in edge.log(), timeout=5)
            assert filler.pc.connectionState == "connected"  # nobody else's video

            # no way back: the origin refuses them, and so does the edge for the old ticket
            again = viewer_pc()
            try:
                await again.setLocalDescription(await again.createOffer())
                async with http.post(
                    f"{origin.url}/whep/{session_id}",
                    data=again.localDescription.sdp,
                    headers={**sdp, **auth(viewer_token)},
                    allow_redirects=False,
                ) as resp:
                    assert resp.status == 403, await resp.text()
                    assert (await resp.json())["error"]["code"] == "banned"
                async with http.post(ticketed, data=again.localDescription.sdp, headers=sdp) as r:
                    assert r.status == 403, await r.text()
                    assert (await r.json())["error"]["code"] == "banned"
            finally:
                await again.close()
        finally:
            for c in clients:
                await c.close()
            await watcher.close()
            await filler.close()
            await host.close()
