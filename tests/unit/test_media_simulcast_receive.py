"""The simulcast receive path with real aiortc objects: RTP packets of two layers (and one
layer's RTX stream) enter the DTLS transport's packet handler as they would off the wire;
each layer's track gets its own frames, RTX repairs the right layer, NACK/PLI and sender
reports are per layer SSRC, and stopping the transceiver ends every layer's track."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import av.packet
import pytest
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpTransceiver, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpParameters, RTCRtpReceiveParameters
from aiortc.rtp import (
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    HeaderExtensions,
    HeaderExtensionsMap,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpRtpfbPacket,
    RtcpSenderInfo,
    RtcpSrPacket,
    RtpPacket,
)

from live_server.media.aiortc import hooks as aiortc_hooks
from live_server.media.aiortc.simulcast import SimulcastReceiver, verify_simulcast
from live_server.media.simulcast_sdp import REPAIRED_RID_EXTENSION, RID_EXTENSION
from recordings.bitstream import vp8_dimensions

H_SSRC, L_SSRC, H_RTX_SSRC, STRAY_SSRC = 1111, 2222, 3333, 4444
LSR = "_RTCRtpReceiver__lsr"  # a receiver's last sender report per SSRC


def test_the_aiortc_internals_it_uses_are_there(monkeypatch: pytest.MonkeyPatch) -> None:
    assert verify_simulcast() == []
    # the canary names what moved
    monkeypatch.delattr(RTCRtpReceiver, "_handle_rtcp_packet")
    monkeypatch.setattr(HeaderExtensions, "__dataclass_fields__", {})
    assert verify_simulcast() == [
        "RTCRtpReceiver._handle_rtcp_packet is gone",
        "aiortc.rtp.HeaderExtensions has no rtp_stream_id fields",
    ]


def vp8_keyframe(width: int, height: int) -> bytes:
    """A VP8 key frame header (frame tag, start code, size) and some bytes: enough for the
    keyframe bit and the size, not for a decoder."""
    size = width.to_bytes(2, "little") + height.to_bytes(2, "little")
    return bytes([0x50, 0x01, 0x00, 0x9D, 0x01, 0x2A]) + size + bytes(20)


async def _simulcast_pc() -> tuple[RTCPeerConnection, RTCRtpTransceiver, str]:
    sender = RTCPeerConnection()
    sender.addTransceiver("video", direction="sendonly")
    await sender.setLocalDescription(await sender.createOffer())
    offer = sender.localDescription.sdp
    await sender.close()
    offer += (
        f"a=extmap:10 {RID_EXTENSION}\r\na=extmap:11 {REPAIRED_RID_EXTENSION}\r\n"
        "a=rid:h send\r\na=rid:l send\r\na=simulcast:send h;l\r\n"
    )
    pc = RTCPeerConnection()
    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
    transceiver = pc.getTransceivers()[0]
    aiortc_hooks.keep_first_codec(transceiver)
    aiortc_hooks.mark_passthrough(transceiver)
    return pc, transceiver, offer


def _packet(
    wire: HeaderExtensionsMap,
    ssrc: int,
    seq: int,
    payload: bytes,
    marker: bool,
    pt: int,
    ts: int = 9000,
    **ext: Any,
) -> bytes:
    packet = RtpPacket(payload_type=pt, marker=marker, sequence_number=seq, timestamp=ts, ssrc=ssrc)
    packet.payload = payload
    for name, value in ext.items():
        setattr(packet.extensions, name, value)
    return packet.serialize(wire)


async def test_layers_are_demultiplexed_by_rid_with_rtx_nack_pli_and_reports() -> None:
    pc, transceiver, _ = await _simulcast_pc()
    try:
        rx = SimulcastReceiver(transceiver, ("h", "l"), 10, 11, label="test")
        answer = await pc.createAnswer()
        # the answer negotiates both RID extensions with the offer's ids
        assert f"a=extmap:10 {RID_EXTENSION}" in answer.sdp
        assert f"a=extmap:11 {REPAIRED_RID_EXTENSION}" in answer.sdp
        wire = HeaderExtensionsMap()  # the host's side: the offer's extension ids
        wire.configure(RTCRtpParameters(headerExtensions=list(transceiver._headerExtensions)))
        packet = functools.partial(_packet, wire)
        codecs = transceiver._codecs
        vp8 = next(c.payloadType for c in codecs if c.name == "VP8")
        rtx = next(c.payloadType for c in codecs if c.name == "rtx")

        sent: list[bytes] = []
        transport: Any = transceiver.receiver.transport

        async def capture(data: bytes) -> None:
            sent.append(data)

        transport._send_rtp = capture  # no network: keep what the receivers send
        # what aiortc does once DTLS is up
        await transceiver.receiver.receive(
            RTCRtpReceiveParameters(
                codecs=codecs, headerExtensions=transceiver._headerExtensions, muxId="0"
            )
        )
        feed = transport._handle_rtp_data
        # h: frame 1 in one packet, frame 2 in two packets of which the first is lost
        await feed(packet(H_SSRC, 100, b"\x10" + vp8_keyframe(1280, 720), True, vp8,
                           rtp_stream_id="h"), 0)  # fmt: skip
        await feed(packet(L_SSRC, 500, b"\x10" + vp8_keyframe(320, 180), True, vp8,
                           rtp_stream_id="l"), 0)  # fmt: skip
        await feed(packet(H_SSRC, 102, b"\x00\x01tail", True, vp8, ts=12000), 0)
        # a stream nobody announced: no RID, no learnt SSRC
        await feed(packet(STRAY_SSRC, 7, b"\x10" + vp8_keyframe(64, 64), True, vp8), 0)
        # the lost packet comes back as RTX on h's repair stream
        await feed(packet(H_RTX_SSRC, 1, (101).to_bytes(2, "big") + b"\x10\x01head",
                           False, rtx, ts=12000, repaired_rtp_stream_id="h"), 0)  # fmt: skip

        h, low = rx.layers["h"], rx.layers["l"]
        assert (h.ssrc, h.rtx_ssrc, low.ssrc) == (H_SSRC, H_RTX_SSRC, L_SSRC)
        assert rx.unrouted == 1

        async def frames(track: Any, count: int) -> list[bytes]:
            out = []
            for _ in range(count):
                frame = await asyncio.wait_for(track.recv(), 2)
                assert isinstance(frame, av.packet.Packet)
                out.append(bytes(frame))
            return out

        h_frames = await frames(h.track, 2)
        assert vp8_dimensions(h_frames[0]) == (1280, 720)
        assert h_frames[1] == b"\x01head\x01tail"  # reassembled with the repaired packet
        assert vp8_dimensions((await frames(low.track, 1))[0]) == (320, 180)
        assert low.track._queue.empty()

        # NACK for h's SSRC (the gap at 101), from h's receiver
        rtcp = [p for data in sent for p in RtcpPacket.parse(data)]
        nacks = [p for p in rtcp if isinstance(p, RtcpRtpfbPacket) and p.fmt == RTCP_RTPFB_NACK]
        assert [(p.media_ssrc, p.lost) for p in nacks] == [(H_SSRC, [101])]
        # keyframe requests go to the layer's SSRC
        sent.clear()
        assert await rx.request_keyframe("l") is True
        plis = [p for data in sent for p in RtcpPacket.parse(data)]
        assert [(type(p), p.fmt, p.media_ssrc) for p in plis] == [
            (RtcpPsfbPacket, RTCP_PSFB_PLI, L_SSRC)
        ]
        # a sender report for l reaches l's receiver (its reports then carry LSR)
        report = RtcpSrPacket(
            ssrc=L_SSRC,
            sender_info=RtcpSenderInfo(
                ntp_timestamp=0x0001_0002_0003_0004, rtp_timestamp=1, packet_count=1,
                octet_count=10,
            ),
        )  # fmt: skip
        await transport._handle_rtcp_data(bytes(report))
        assert getattr(low.receiver, LSR) == {L_SSRC: 0x0002_0003}
        assert getattr(h.receiver, LSR) == {}

        # stopping the transceiver's receiver ends every layer's track
        await transceiver.receiver.stop()
        for layer in (h, low):
            try:
                await asyncio.wait_for(layer.track.recv(), 2)
                raise AssertionError("the layer's track is still live")
            except MediaStreamError:
                pass
    finally:
        await pc.close()
