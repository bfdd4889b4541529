"""Issue 12, finding 14: an SDP offer is read to the end of the body, however many TCP
segments it arrives in (it was one `content.read(n)`: whatever happened to be buffered)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp.test_utils import TestClient
from aiortc import AudioStreamTrack, RTCPeerConnection, RTCSessionDescription

from support.helpers import auth
from support.peers import NumberedVideoTrack
from support.rawhttp import read_response, request_head

Client = TestClient[Any, Any]


async def test_finding_14_offer_in_two_tcp_writes_is_accepted(
    client: Client, make_user: Any
) -> None:
    _, host = await make_user("host")
    resp = await client.post("/api/sessions", json={"title": "Show"}, headers=auth(host))
    session_id = (await resp.json())["id"]
    resp = await client.get(f"/api/sessions/{session_id}/stream-key", headers=auth(host))
    key = (await resp.json())["stream_key"]

    pc = RTCPeerConnection()
    pc.addTransceiver(NumberedVideoTrack(), direction="sendonly")
    pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    try:
        await pc.setLocalDescription(await pc.createOffer())
        offer = pc.localDescription.sdp.encode()
        # The first write stops before the ICE credentials: judged on it alone, the offer
        # has none (the refusal the finding reported).
        cut = offer.index(b"a=ice-ufrag")
        head = request_head(
            "POST",
            f"/whip/{session_id}",
            {
                "Content-Type": "application/sdp",
                "Content-Length": str(len(offer)),
                "Authorization": f"Bearer {key}",
            },
        )
        reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
        try:
            writer.write(head + offer[:cut])
            await writer.drain()
            # The pause between the two writes: a server that answers within it judged
            # half an offer (a correct one waits for the rest).
            with contextlib.suppress(TimeoutError):
                early = await read_response(reader, timeout=0.5)
                raise AssertionError(f"answered half an offer: {early.status} {early.body!r}")
            writer.write(offer[cut:])
            await writer.drain()
            answer = await read_response(reader, timeout=20)
        finally:
            writer.close()
        assert answer.status == 201, answer.body
        assert answer.headers["content-type"].startswith("application/sdp")
        assert answer.headers["location"].startswith(f"/whip/{session_id}/")
        # the answer is a complete SDP the publisher accepts
        await pc.setRemoteDescription(
            RTCSessionDescription(sdp=answer.body.decode(), type="answer")
        )
    finally:
        await pc.close()
