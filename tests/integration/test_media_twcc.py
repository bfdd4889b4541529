"""Transport-cc for a host's uplink, over real sockets: an aiortc host whose packets carry
transport-wide sequence numbers (aiortc's own sender writes none, so a wrapper on its
DTLS transport stamps each outgoing RTP packet, as a browser does) publishes to the SFU;
the SFU's answer negotiates transport-cc instead of REMB, and the host receives, over
SRTCP, feedback naming every packet it stamped with arrival times that follow its send
times. The browser side (Chromium's own estimator on this feedback) is
tests/browser/test_simulcast.py."""

from __future__ import annotations

import re
import struct
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket, is_rtcp

from live_server.media.aiortc import twcc as aiortc_twcc
from live_server.media.clock import MediaClock
from live_server.media.sfu import Sfu
from live_server.media.twcc import URI, parse_feedback
from support.helpers import wait_for

SESSION = 31
EXT_ID = 5


@pytest.fixture
async def sfu() -> AsyncIterator[Sfu]:
    instance = Sfu(MediaClock(), publisher_timeout_s=60)
    yield instance
    await instance.close()


def _with_twcc(sdp: str) -> str:
    """The offer's video section also offers transport-wide-cc (as a browser's does)."""
    return re.sub(r"(m=video[^\r\n]*\r\n)", rf"\1a=extmap:{EXT_ID} {URI}\r\n", sdp, count=1)


def _ext_map(answer: str) -> HeaderExtensionsMap:
    video = answer[answer.index("m=video") :]
    found = re.findall(r"a=extmap:(\d+) (\S+)", video)
    ext_map = HeaderExtensionsMap()
    ext_map.configure(
        RTCRtpParameters(
            headerExtensions=[RTCRtpHeaderExtensionParameters(id=int(i), uri=u) for i, u in found]
        )
    )
    return ext_map


class StampingHost:
    """An aiortc host whose outgoing RTP gets transport-wide sequence numbers, and which
    keeps the transport-cc feedback and REMBs it receives."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection()
        self.pc.addTransceiver(VideoStreamTrack(), direction="sendonly")
        self.sent: dict[int, float] = {}  # transport-wide seq -> send time (us)
        self.feedback: list[tuple[int, list[int | None]]] = []
        self.rembs = 0

    async def publish(self, sfu: Sfu) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        _, answer = await sfu.publish(SESSION, _with_twcc(self.pc.localDescription.sdp))
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        dtls: Any = self.pc.getTransceivers()[0].sender.transport
        ext_map = _ext_map(answer)
        send, handle = dtls._send_rtp, dtls._handle_rtcp_data
        counter = [0]

        async def stamped(data: bytes) -> None:
            if not is_rtcp(data):
                packet = RtpPacket.parse(data, ext_map)
                packet.extensions.transport_sequence_number = counter[0] & 0xFFFF
                self.sent[counter[0]] = time.monotonic_ns() / 1000
                counter[0] += 1
                data = packet.serialize(ext_map)
            await send(data)

        async def noted(data: bytes) -> None:
            pos = 0
            while pos + 4 <= len(data):  # a compound RTCP packet, one part at a time
                first, kind, words = struct.unpack_from("!BBH", data, pos)
                part = data[pos : pos + (words + 1) * 4]
                if kind == 205 and first & 0x1F == 15:
                    self.feedback.append(parse_feedback(part))
                elif kind == 206 and first & 0x1F == 15:
                    self.rembs += 1
                pos += len(part)
            await handle(data)

        dtls._send_rtp, dtls._handle_rtcp_data = stamped, noted
        return answer


async def test_the_host_gets_transport_cc_feedback_for_every_packet_it_sends(sfu: Sfu) -> None:
    assert aiortc_twcc.enabled()
    host = StampingHost()
    try:
        answer = await host.publish(sfu)
        video = answer[answer.index("m=video") :]
        assert f"a=extmap:{EXT_ID} {URI}" in video
        assert "transport-cc" in video and "goog-remb" not in video
        await wait_for(lambda: len(host.feedback) >= 10, timeout=15, message="10 feedbacks")
        rembs_then = host.rembs
        stamped = len(host.sent)
        await wait_for(lambda: len(host.feedback) >= 20, timeout=15, message="20 feedbacks")
        reported: dict[int, int] = {}
        for base, times in host.feedback:
            for i, at in enumerate(times):
                if at is not None:
                    reported[base + i] = at  # no wrap within this test's few packets
        # every packet sent before the 10th feedback was reported received, once
        assert all(seq in reported for seq in range(stamped - 20)), (stamped, len(reported))
        # arrival times follow send times on loopback: over more than a second the spans
        # agree within 100 ms (event-loop delay on a busy machine; a unit error is 4x)
        seqs = sorted(s for s in reported if s in host.sent)
        sent_span = host.sent[seqs[-1]] - host.sent[seqs[0]]
        arrival_span = reported[seqs[-1]] - reported[seqs[0]]
        assert sent_span > 1_000_000 and abs(arrival_span - sent_span) < 100_000, (
            sent_span,
            arrival_span,
        )
        # the server sends no REMB for this host (its estimator is the host's own)
        assert host.rembs == rembs_then == 0
        room: Any = sfu.room(SESSION)
        assert room.publisher.twcc is not None and room.publisher.twcc.sent >= 20
    finally:
        await host.pc.close()


async def test_the_setting_off_keeps_remb(sfu: Sfu) -> None:
    aiortc_twcc.set_enabled(False)
    host = StampingHost()
    try:
        answer = await host.publish(sfu)
        video = answer[answer.index("m=video") :]
        assert URI not in video and "goog-remb" in video
        await wait_for(lambda: host.rembs >= 1, timeout=15, message="a REMB")
        assert host.feedback == []
    finally:
        aiortc_twcc.set_enabled(True)
        await host.pc.close()
