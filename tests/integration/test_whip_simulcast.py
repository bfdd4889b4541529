"""WHIP with simulcast over HTTP: a hostile rid/simulcast offer is a 400 sentence that leaves
the show free for the next offer; a simulcast offer is answered with the layers to receive
(in the offer's order) and the RID extensions; a single-stream host has no layers."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from aiortc import AudioStreamTrack, RTCPeerConnection

from live_server.media.simulcast_sdp import REPAIRED_RID_EXTENSION, RID_EXTENSION
from support.helpers import auth
from support.peers import NumberedVideoTrack

Client = TestClient[Any, Any]
SDP = {"Content-Type": "application/sdp"}
LAYERS = (
    f"a=extmap:10 {RID_EXTENSION}\r\na=extmap:11 {REPAIRED_RID_EXTENSION}\r\n"
    "a=rid:h send\r\na=rid:m send\r\na=rid:l send\r\na=simulcast:send h;m;l\r\n"
)


async def _session(client: Client, make_user: Any) -> tuple[int, str]:
    _, token = await make_user(role="host")
    resp = await client.post("/api/sessions", json={"title": "Show"}, headers=auth(token))
    session_id = (await resp.json())["id"]
    resp = await client.get(f"/api/sessions/{session_id}/stream-key", headers=auth(token))
    return session_id, (await resp.json())["stream_key"]


async def _offer() -> tuple[RTCPeerConnection, str]:
    pc = RTCPeerConnection()
    pc.addTransceiver(NumberedVideoTrack(), direction="sendonly")
    pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc, pc.localDescription.sdp


def _simulcast(sdp: str, lines: str = LAYERS) -> str:
    head, _, rest = sdp.partition("m=video")
    video, _, audio = rest.partition("m=audio")
    return f"{head}m=video{video}{lines}m=audio{audio}"


async def test_simulcast_offers_over_whip(client: Client, make_user: Any) -> None:
    session_id, key = await _session(client, make_user)
    pc, offer = await _offer()
    url = f"/whip/{session_id}"
    headers = {**SDP, **auth(key)}
    try:
        hostile = [
            LAYERS.replace("h;m;l", ";".join(["h"] * 500)),
            LAYERS.replace("a=rid:h send", "a=rid:h\x7f send"),
            LAYERS.replace(f"a=extmap:10 {RID_EXTENSION}\r\n", ""),
            LAYERS + "".join(f"a=rid:x{i} send\r\n" for i in range(200)),
        ]
        for lines in hostile:
            resp = await client.post(url, data=_simulcast(offer, lines), headers=headers)
            assert resp.status == 400, await resp.text()
            body = await resp.json()
            assert body["error"]["code"] == "bad_offer" and body["error"]["message"]

        # a good simulcast offer: the answer receives h, m, l in that order
        resp = await client.post(url, data=_simulcast(offer), headers=headers)
        assert resp.status == 201, await resp.text()
        answer = await resp.text()
        resource = resp.headers["Location"]
        video = answer.split("m=video", 1)[1].split("m=audio", 1)[0]
        assert "a=rid:h recv\r\na=rid:m recv\r\na=rid:l recv\r\na=simulcast:recv h;m;l\r\n" in video
        assert f"a=extmap:10 {RID_EXTENSION}" in video
        assert f"a=extmap:11 {REPAIRED_RID_EXTENSION}" in video
        assert "a=simulcast" not in answer.split("m=audio", 1)[1]
        resp = await client.get(f"/api/sessions/{session_id}/broadcast")
        layers = (await resp.json())["layers"]
        assert [x["rid"] for x in layers] == ["h", "m", "l"]
        assert all(x["ssrc"] is None and not x["live"] and not x["source"] for x in layers)
        resp = await client.delete(resource, headers=auth(key))
        assert resp.status == 200, await resp.text()

        # a single-stream host right after: exactly today's path, no layers
        single, offer = await _offer()
        try:
            resp = await client.post(url, data=offer, headers=headers)
            assert resp.status == 201, await resp.text()
            assert "a=simulcast" not in await resp.text()
            resp = await client.get(f"/api/sessions/{session_id}/broadcast")
            assert (await resp.json())["layers"] == []
        finally:
            await single.close()
    finally:
        await pc.close()
