"""A viewer's RTX stream on the fast path (media/aiortc/rtx.py): retransmissions and
padding packets as aiortc's own parser reads them, and the pacer's rate."""

from __future__ import annotations

import asyncio
import time

from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from live_server.media.aiortc.rtx import PADDING_BYTES, PaddingPacer, RtxStream

RTX_PT, RTX_SSRC = 97, 0x0BADCAFE


def _ext_map() -> HeaderExtensionsMap:
    ext_map = HeaderExtensionsMap()
    ext_map.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=4, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
                RTCRtpHeaderExtensionParameters(
                    id=3, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
                ),
            ]
        )
    )
    return ext_map


def _stream(ext_map: HeaderExtensionsMap, seq: int) -> RtxStream:
    template = RtpPacket(payload_type=RTX_PT, ssrc=RTX_SSRC)
    template.extensions.mid = "1"
    template.extensions.abs_send_time = 0
    low = template.serialize(ext_map)
    template.extensions.abs_send_time = 0xFFFFFF
    high = template.serialize(ext_map)
    abs_at = next(i for i in range(len(low)) if low[i] != high[i])
    return RtxStream(bytearray(low), abs_at, RTX_PT, seq)


def test_padding_and_retransmissions_share_one_sequence_and_parse_as_aiortc_reads_them() -> None:
    ext_map = _ext_map()
    rtx = _stream(ext_map, 65535)
    resent = RtpPacket.parse(rtx.retransmission(1234, 90_000, 0x80, b"frame"), ext_map)
    pad = RtpPacket.parse(rtx.padding(90_000), ext_map)
    small = RtpPacket.parse(rtx.padding(90_000, size=10), ext_map)
    assert [p.sequence_number for p in (resent, pad, small)] == [65535, 0, 1]
    assert {p.ssrc for p in (resent, pad, small)} == {RTX_SSRC}
    assert {p.payload_type for p in (resent, pad, small)} == {RTX_PT}
    assert resent.marker == 1 and resent.payload == b"\x04\xd2frame" and resent.padding_size == 0
    # padding only: no payload (aiortc drops an RTX packet under 2 bytes before decoding)
    assert (pad.payload, pad.padding_size, pad.marker) == (b"", PADDING_BYTES, 0)
    assert (small.payload, small.padding_size) == (b"", 10)
    # the receiver's bandwidth estimator counts it: it carries the send time and the MID
    assert pad.extensions.abs_send_time is not None and pad.extensions.mid == "1"


async def test_the_pacer_sends_the_rate_it_is_given_and_stops() -> None:
    sent: list[int] = []

    def send(count: int) -> int:
        sent.append(count)
        return count

    packet_bytes = 300
    pacer = PaddingPacer(send, packet_bytes)
    pacer.set_rate(1_200_000)  # 500 packets a second
    started = time.monotonic()
    deadline = started + 5.0
    while sum(sent) < 250 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    elapsed = time.monotonic() - started
    total = sum(sent)
    assert total >= 250, total
    assert total <= 500 * elapsed + 2, (total, elapsed)  # never ahead of the rate
    assert max(sent) <= 200
    pacer.set_rate(0)
    await asyncio.sleep(0.1)
    before = sum(sent)
    await asyncio.sleep(0.1)
    assert sum(sent) == before and pacer.sent == before
    pacer.set_rate(600_000)
    await asyncio.sleep(0.2)
    pacer.close()
    after = sum(sent)
    await asyncio.sleep(0.1)
    assert sum(sent) == after > before
