"""POST /whep/{session}/{resource}/layer over HTTP: a viewer of a simulcast host (real
aiortc peers, tests/support/aiortc_simulcast_host.py) asks for the data-saver layer and gets it;
bad input is a 400 sentence, an unknown viewer 404; a one-stream host answers
``simulcast: false`` and keeps its one hub."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient
from aiortc import RTCPeerConnection
from yarl import URL

from live_server.media import VIEWING
from support.aiortc_simulcast_host import SimulcastHost
from support.helpers import auth, wait_for
from support.peers import NumberedVideoTrack, http_negotiate, viewer_pc

Client = TestClient[Any, Any]


async def _show(client: Client, make_user: Any) -> tuple[int, str]:
    _, token = await make_user(role="host")
    resp = await client.post("/api/sessions", json={"title": "Layers"}, headers=auth(token))
    session_id = int((await resp.json())["id"])
    resp = await client.get(f"/api/sessions/{session_id}/stream-key", headers=auth(token))
    return session_id, (await resp.json())["stream_key"]


async def _live(client: Client, session_id: int) -> None:
    async def live() -> bool:
        body = await (await client.get(f"/api/sessions/{session_id}")).json()
        return bool(body["state"] == "live")

    await wait_for(live, timeout=20, message="the show live")


async def test_a_viewer_chooses_its_layer_over_http(client: Client, make_user: Any) -> None:
    session_id, key = await _show(client, make_user)
    base = str(client.make_url("")).rstrip("/")
    host = SimulcastHost()
    viewer = viewer_pc()
    try:
        async with aiohttp.ClientSession() as http:

            async def whip(offer: str) -> str:
                headers = {"Content-Type": "application/sdp", **auth(key)}
                async with http.post(f"{base}/whip/{session_id}", data=offer, headers=headers) as r:
                    assert r.status == 201, await r.text()
                    return await r.text()

            await host.publish(whip)
            await _live(client, session_id)
            whep = await http_negotiate(http, viewer, f"{base}/whep/{session_id}")
            url = f"{URL(whep.location).path}/layer"
            for body in ({"layer": "ultra"}, {"layer": 3}, {}, [1]):
                resp = await client.post(url, json=body)
                assert resp.status == 400, await resp.text()
                assert (await resp.json())["error"]["message"]
            resp = await client.post(url, json={"layer": "ultra"})
            assert (await resp.json())["error"]["message"] == "layer must be one of auto, low, high"
            resp = await client.post(f"/whep/{session_id}/nobody/layer", json={"layer": "low"})
            assert resp.status == 404
            # the server's own view of the viewer
            room = next(r for r in _sfu(client.app).rooms() if r.session_id == session_id)
            entry = room.layers.viewers[whep.location.rsplit("/", 1)[-1]]
            resp = await client.post(url, json={"layer": "high"})
            assert await resp.json() == {"layer": "high", "simulcast": True}
            await wait_for(lambda: entry.layer == "h", timeout=10, message="on the top layer")
            resp = await client.post(url, json={"layer": "low"})
            assert resp.status == 200, await resp.text()
            assert await resp.json() == {"layer": "low", "simulcast": True}
            await wait_for(lambda: entry.layer == "l", timeout=10, message="on the low layer")
            resp = await client.options(url)
            assert resp.status == 204 and "POST" in resp.headers["Access-Control-Allow-Methods"]
    finally:
        await viewer.close()
        await host.close()


async def test_one_stream_host_has_no_layers(client: Client, make_user: Any) -> None:
    session_id, key = await _show(client, make_user)
    base = str(client.make_url("")).rstrip("/")
    host = RTCPeerConnection()
    host.addTransceiver(NumberedVideoTrack(), direction="sendonly")
    viewer = viewer_pc()
    try:
        async with aiohttp.ClientSession() as http:
            await http_negotiate(http, host, f"{base}/whip/{session_id}", key)
            await _live(client, session_id)
            whep = await http_negotiate(http, viewer, f"{base}/whep/{session_id}")
            resp = await client.post(f"{URL(whep.location).path}/layer", json={"layer": "low"})
            assert resp.status == 200, await resp.text()
            assert await resp.json() == {"layer": "low", "simulcast": False}
            room = next(r for r in _sfu(client.app).rooms() if r.session_id == session_id)
            assert room.layers is None
    finally:
        await viewer.close()
        await host.close()


def _sfu(app: Any) -> Any:
    return app[VIEWING]._sfu
