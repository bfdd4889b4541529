"""Issue 13 part 5: one "watching" count everywhere. A real aiortc host (WHIP) and WHEP
viewer, python-socketio room clients: the viewer page's presence, the studio's, /metrics
and the show's analytics give the same number; a video connection and a room socket of
one person count once; host and moderators are not counted."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from aiortc import RTCPeerConnection

from support.helpers import auth, wait_for
from support.peers import NumberedVideoTrack, http_negotiate, viewer_pc
from support.room import RoomClient

pytestmark = pytest.mark.slow
Client = TestClient[Any, Any]


class DeviceClient(RoomClient):
    """An anonymous page's socket: it names its device, as the web client does."""

    def __init__(self, url: str, device: str) -> None:
        super().__init__(url, None)
        self.device = device

    async def connect(self) -> RoomClient:
        await self.sio.connect(
            self.url,
            auth={"viewer_key": self.device},
            transports=["websocket"],
            wait_timeout=10,
        )
        return self


def viewers(client: RoomClient) -> int | None:
    presence = client.last_presence()
    return None if presence is None else presence["viewers"]


async def metric_watching(client: Client, session_id: int) -> float | None:
    text = await (await client.get("/metrics")).text()
    found = re.search(rf'^liveshop_show_watching\{{session_id="{session_id}"\}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else None


async def test_viewer_page_studio_metrics_and_analytics_agree(
    client: Client, make_user: Any
) -> None:
    _host, host_token = await make_user("host")
    mod, mod_token = await make_user()
    _ana, ana_token = await make_user()
    resp = await client.post(
        "/api/sessions",
        json={"title": "Counting", "moderators": [mod["username"]]},
        headers=auth(host_token),
    )
    assert resp.status == 201, await resp.text()
    sid = int((await resp.json())["id"])
    resp = await client.get(f"/api/sessions/{sid}/stream-key", headers=auth(host_token))
    stream_key = (await resp.json())["stream_key"]
    base = str(client.make_url("")).rstrip("/")
    publisher = RTCPeerConnection()
    publisher.addTransceiver(NumberedVideoTrack(), direction="sendonly")
    video = viewer_pc()
    clients: list[RoomClient] = []
    try:
        async with aiohttp.ClientSession() as http:
            await http_negotiate(http, publisher, f"{base}/whip/{sid}", stream_key)

            async def live() -> bool:
                body = await (await client.get(f"/api/sessions/{sid}")).json()
                return bool(body["state"] == "live")

            await wait_for(live, timeout=20, message="the show live")
            # the host's studio and a moderator: in the room, not counted
            studio = await RoomClient(base, host_token).connect()
            moderator = await RoomClient(base, mod_token).connect()
            # Ana: real-time video over WHEP and a room socket (she counts once)
            ana = await RoomClient(base, ana_token).connect()
            # an anonymous device with two tabs: room sockets only (it counts once)
            tabs = [await DeviceClient(base, "device-b-1234").connect() for _ in range(2)]
            clients += [studio, moderator, ana, *tabs]
            for c in clients:
                await c.join(sid)
            whep = await http_negotiate(http, video, f"{base}/whep/{sid}", ana_token)

            # the viewer page (ticks), the studio (its presence call), /metrics: 2
            await wait_for(lambda: viewers(tabs[0]) == 2, timeout=10, message="viewer page: 2")
            ack = await studio.call("room:presence", {"session_id": sid})
            assert ack["presence"]["viewers"] == 2, ack
            # Ana's video puts her in the real-time tier before her page says anything
            assert ack["presence"]["tiers"] == {"webrtc": 1, "hls": 0}, ack
            assert viewers(studio) == 2 and viewers(ana) == 2
            assert await metric_watching(client, sid) == 2.0

            # Ana closes her room socket and keeps watching the video: still 2
            await ana.close()
            await wait_for(
                lambda: viewers(studio) == 2 and viewers(tabs[0]) == 2,
                timeout=5,
                message="video only still counts",
            )
            ack = await studio.call("room:presence", {"session_id": sid})
            assert ack["presence"]["viewers"] == 2 and ack["presence"]["tiers"]["webrtc"] == 1

            # analytics: the same peak and the same two people (written every few seconds)
            async def report() -> dict[str, Any]:
                resp = await client.get(f"/api/sessions/{sid}/analytics", headers=auth(host_token))
                assert resp.status == 200
                summary: dict[str, Any] = (await resp.json())["summary"]
                return summary

            async def analytics_agree() -> bool:
                s = await report()
                return bool(s["peak_viewers"] == 2 and s["unique_viewers"] == 2)

            await wait_for(analytics_agree, timeout=20, message="analytics peak 2, unique 2")
            audience = await client.get(f"/api/sessions/{sid}/audience", headers=auth(host_token))
            assert (await audience.json())["peak_viewers"] == 2

            # Ana stops the video: only the anonymous device is left, everywhere
            async with http.delete(whep.location) as resp:
                assert resp.status == 200
            await wait_for(
                lambda: viewers(studio) == 1 and viewers(tabs[1]) == 1,
                timeout=10,
                message="one left",
            )
            assert await metric_watching(client, sid) == 1.0
            assert (await report())["peak_viewers"] == 2
    finally:
        for c in clients:
            await c.close()
        await video.close()
        await publisher.close()


async def test_a_garbage_device_key_counts_the_socket_alone(client: Client, make_user: Any) -> None:
    """A device key that is not 1-200 visible ASCII characters is ignored: the socket
    connects and counts alone."""
    _host, host_token = await make_user("host")
    resp = await client.post("/api/sessions", json={"title": "Keys"}, headers=auth(host_token))
    sid = int((await resp.json())["id"])
    base = str(client.make_url("")).rstrip("/")
    studio = RoomClient(base, host_token)
    odd = [DeviceClient(base, bad) for bad in ("", "x" * 500, "with space")]
    try:
        for c in [studio, *odd]:
            await c.connect()
            await c.join(sid)
        await wait_for(lambda: viewers(studio) == 3, timeout=10, message="three sockets")
    finally:
        for c in [studio, *odd]:
            await c.close()
