"""Issue 12, finding 2: every WHIP/WHEP peer has a lifetime and a budget.

WHEP viewers that never connect (an offer with ICE credentials and a fingerprint but no
candidates) were kept forever with their peer connection, sockets and queued frames; an offer
with 300 video sections cost 35-40 MB; nothing capped the viewers one address could hold;
and a viewer that vanished went only when aioice's consent freshness gave up (30 s).
"""

from __future__ import annotations

import asyncio
import gc
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest
from aiohttp.test_utils import TestClient
from aiortc import AudioStreamTrack, RTCPeerConnection

from live_server.media.fanout import ViewerTrack
from live_server.media.sdp import BadOffer, check_offer
from live_server.settings import Settings
from support.helpers import auth, wait_for
from support.peers import NumberedVideoTrack, http_negotiate, viewer_pc
from support.services import Services

Client = TestClient[Any, Any]
SDP = {"Content-Type": "application/sdp"}
# long enough that a real peer on a loaded 2-core machine connects (and keeps sending RTCP,
# every 0.5-1.5 s) well within them; far below the 30 s of aioice's consent expiry
CONNECT_DEADLINE_S = 3.0
SILENCE_S = 3.0
CAP = 4  # WHEP viewers per address


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(
        {
            "data_dir": tmp_path / "var",
            "secret": "test-secret",
            "peer_connect_timeout_s": CONNECT_DEADLINE_S,
            "viewer_silence_timeout_s": SILENCE_S,
            "max_viewers_per_address": CAP,
        },
        env={},
    )


def base(client: Client) -> str:
    return str(client.make_url("")).rstrip("/")


async def live_session(client: Client, make_user: Any, http: aiohttp.ClientSession) -> Any:
    """A session of a fresh host with a real aiortc publisher on air: (id, publisher pc)."""
    _, token = await make_user(role="host")
    resp = await client.post("/api/sessions", json={"title": "Show"}, headers=auth(token))
    session_id = (await resp.json())["id"]
    resp = await client.get(f"/api/sessions/{session_id}/stream-key", headers=auth(token))
    key = (await resp.json())["stream_key"]
    pc = RTCPeerConnection()
    pc.addTransceiver(NumberedVideoTrack(), direction="sendonly")
    pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    await http_negotiate(http, pc, f"{base(client)}/whip/{session_id}", key)

    async def is_live() -> bool:
        resp = await client.get(f"/api/sessions/{session_id}")
        return bool((await resp.json())["state"] == "live")

    await wait_for(is_live, timeout=15, message="the session is live")
    return session_id, pc


async def candidate_less_offer() -> str:
    """A real viewer offer with its ICE candidates removed: credentials and a fingerprint,
    nothing to connect to (what the finding's abandoned viewers sent)."""
    pc = viewer_pc()
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    lines = [
        line
        for line in sdp.split("\r\n")
        if not line.startswith(("a=candidate", "a=end-of-candidates"))
    ]
    assert not any("candidate" in line for line in lines)
    return "\r\n".join(lines)


def udp_sockets() -> int:
    return len(psutil.Process().net_connections(kind="udp"))


def live(cls: type) -> int:
    """How many objects of ``cls`` this process still holds (after a full collection)."""
    gc.collect()
    return sum(isinstance(o, cls) for o in gc.get_objects())


class Watcher:
    """A real viewer that counts what arrives."""

    def __init__(self) -> None:
        self.pc = viewer_pc()
        self.frames = 0
        self._tasks: list[asyncio.Task[None]] = []
        self.pc.on(
            "track", lambda track: self._tasks.append(asyncio.ensure_future(self._read(track)))
        )

    async def _read(self, track: Any) -> None:
        while True:
            try:
                await track.recv()
            except Exception:
                return
            self.frames += 1

    def vanish(self) -> None:
        """The network goes away: no DTLS close, no RTCP, no STUN, nothing more."""
        for transceiver in self.pc.getTransceivers():
            dtls = transceiver.receiver.transport
            if dtls is not None:
                for protocol in dtls.transport._connection._protocols:
                    protocol.transport.close()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()


async def test_finding_02_viewers_that_never_connect_are_closed_within_the_deadline(
    client: Client, make_user: Any, services: Services
) -> None:
    async with aiohttp.ClientSession() as http:
        session_id, publisher = await live_session(client, make_user, http)
        watcher = Watcher()
        try:
            # a real viewer connects well within the deadline and must stay
            await http_negotiate(http, watcher.pc, f"{base(client)}/whep/{session_id}")
            await wait_for(lambda: watcher.frames > 10, timeout=15, message="real viewer plays")
            sockets_before = udp_sockets()
            peers_before, tracks_before = live(RTCPeerConnection), live(ViewerTrack)
            offers = [await candidate_less_offer() for _ in range(2)]
            # and a real offer (with candidates) whose client goes away before connecting
            abandoned = viewer_pc()
            await abandoned.setLocalDescription(await abandoned.createOffer())
            offers.append(abandoned.localDescription.sdp)
            await abandoned.close()
            del abandoned
            started = time.monotonic()
            for offer in offers:
                resp = await client.post(f"/whep/{session_id}", data=offer, headers=SDP)
                assert resp.status == 201, await resp.text()
            assert services.broadcast.viewer_count(session_id) == 4
            assert udp_sockets() > sockets_before  # each holds its own ICE sockets
            await wait_for(
                lambda: services.broadcast.viewer_count(session_id) == 1,
                timeout=CONNECT_DEADLINE_S + 6,
                message="viewers that never connected are closed",
            )
            assert time.monotonic() - started >= CONNECT_DEADLINE_S * 0.9
            # ... and everything they held is released: sockets, peer connections, queues
            await wait_for(lambda: udp_sockets() <= sockets_before, message="sockets closed")
            await wait_for(
                lambda: live(RTCPeerConnection) <= peers_before,
                message="peer connections collected",
            )
            assert live(ViewerTrack) <= tracks_before  # their frame queues with them
            # the connected viewer outlived the deadline and still plays
            frames = watcher.frames
            await wait_for(lambda: watcher.frames > frames + 10, message="real viewer plays on")
            assert services.broadcast.viewer_count(session_id) == 1
        finally:
            await watcher.close()
            await publisher.close()


SECTION = {
    "video": ("UDP/TLS/RTP/SAVPF 96", "a=rtpmap:96 VP8/90000"),
    "audio": ("UDP/TLS/RTP/SAVPF 111", "a=rtpmap:111 opus/48000/2"),
    "application": ("UDP/DTLS/SCTP webrtc-datachannel", "a=sctp-port:5000"),
}


def offer_with_sections(kinds: list[str], base_offer: str) -> str:
    """``base_offer``'s session part with one small section per entry of ``kinds``
    (32 KB for 300 video sections: far under the 64 KiB size limit)."""
    lines = base_offer.split("\r\n")
    head = []
    for line in lines:
        if line.startswith("m="):
            break
        if not line.startswith("a=group"):
            head.append(line)
    for prefix in ("a=ice-ufrag", "a=ice-pwd", "a=fingerprint"):
        head.append(next(line for line in lines if line.startswith(prefix)))
    head.append("a=setup:actpass")
    body: list[str] = []
    for mid, kind in enumerate(kinds):
        proto, attribute = SECTION[kind]
        body += [f"m={kind} 9 {proto}", "c=IN IP4 0.0.0.0", f"a=mid:{mid}", attribute]
        if kind != "application":
            body += ["a=recvonly", "a=rtcp-mux"]
    return "\r\n".join(head + body) + "\r\n"


async def test_finding_02_an_offer_with_300_video_sections_is_refused(
    client: Client, make_user: Any, services: Services
) -> None:
    async with aiohttp.ClientSession() as http:
        session_id, publisher = await live_session(client, make_user, http)
        try:
            offer = offer_with_sections(["video"] * 300, await candidate_less_offer())
            assert len(offer.encode()) < 64 * 1024  # under the size limit: the count decides
            peers_before = live(RTCPeerConnection)
            resp = await client.post(f"/whep/{session_id}", data=offer, headers=SDP)
            assert resp.status == 400, await resp.text()
            error = (await resp.json())["error"]
            assert error["code"] == "bad_offer"
            assert "300 video sections" in error["message"], error
            assert services.broadcast.viewer_count(session_id) == 0
            assert live(RTCPeerConnection) <= peers_before  # refused before any was made
            # the same rule refuses a WHIP offer (check_offer serves both), per kind and in all
            with pytest.raises(BadOffer, match="3 audio sections"):
                check_offer(offer_with_sections(["audio"] * 3, offer))
            with pytest.raises(BadOffer, match="6 media sections"):
                check_offer(offer_with_sections(["audio", "video", "application"] * 2, offer))
            # what a player really sends is still fine: one video and one audio section
            two = offer_with_sections(["video", "audio"], offer)
            resp = await client.post(f"/whep/{session_id}", data=two, headers=SDP)
            assert resp.status == 201, await resp.text()
        finally:
            await publisher.close()


async def test_finding_02_viewers_per_address_are_capped(
    client: Client, make_user: Any, services: Services
) -> None:
    async with aiohttp.ClientSession() as http:
        session_id, publisher = await live_session(client, make_user, http)
        try:
            locations = []
            for _ in range(CAP):
                resp = await client.post(
                    f"/whep/{session_id}", data=await candidate_less_offer(), headers=SDP
                )
                assert resp.status == 201, await resp.text()
                locations.append(resp.headers["Location"])
            resp = await client.post(
                f"/whep/{session_id}", data=await candidate_less_offer(), headers=SDP
            )
            assert resp.status == 429, await resp.text()
            error = (await resp.json())["error"]
            assert error["code"] == "too_many_viewers"
            assert f"already holds {CAP} video players" in error["message"]
            assert int(resp.headers["Retry-After"]) >= 1
            assert services.broadcast.viewer_count(session_id) == CAP
            # leaving frees a place at once
            resp = await client.delete(locations[0])
            assert resp.status == 200
            resp = await client.post(
                f"/whep/{session_id}", data=await candidate_less_offer(), headers=SDP
            )
            assert resp.status == 201, await resp.text()
            # so does the connect deadline: the abandoned ones go and the address may watch
            await wait_for(
                lambda: services.broadcast.viewer_count(session_id) == 0,
                timeout=CONNECT_DEADLINE_S + 6,
            )
            resp = await client.post(
                f"/whep/{session_id}", data=await candidate_less_offer(), headers=SDP
            )
            assert resp.status == 201, await resp.text()
        finally:
            await publisher.close()


async def test_finding_02_a_vanished_viewer_goes_before_the_consent_timeout(
    client: Client, make_user: Any, services: Services
) -> None:
    async with aiohttp.ClientSession() as http:
        session_id, publisher = await live_session(client, make_user, http)
        staying, leaving = Watcher(), Watcher()
        try:
            for watcher in (staying, leaving):
                await http_negotiate(http, watcher.pc, f"{base(client)}/whep/{session_id}")
            await wait_for(
                lambda: staying.frames > 10 and leaving.frames > 10,
                timeout=15,
                message="both viewers play",
            )
            assert services.broadcast.viewer_count(session_id) == 2
            leaving.vanish()
            vanished_at = time.monotonic()
            # aioice's consent freshness would take 30 s; the viewer's silence decides now
            await wait_for(
                lambda: services.broadcast.viewer_count(session_id) == 1,
                timeout=SILENCE_S + 6,
                message="the vanished viewer is dropped",
            )
            # (it last spoke up to 1.5 s before vanishing: its silence began then)
            assert time.monotonic() - vanished_at >= SILENCE_S - 1.5
            # a viewer that keeps answering is never taken for a vanished one
            frames = staying.frames
            await wait_for(lambda: staying.frames > frames + 30, message="the other plays on")
            assert services.broadcast.viewer_count(session_id) == 1
        finally:
            await staying.close()
            await leaving.close()
            await publisher.close()
