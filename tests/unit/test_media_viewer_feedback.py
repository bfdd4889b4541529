"""The viewer-feedback hook reads aiortc's own RTCP packets (REMB, receiver reports, NACKs)
for the sender's SSRC only, and its canary names what moved in aiortc."""

from __future__ import annotations

import time

import pytest
from aiortc import RTCRtpSender
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    pack_remb_fci,
)

from live_server.media.aiortc.feedback import note_rtcp, verify_feedback
from live_server.media.feedback_meter import FeedbackMeter

SSRC, RTX, OTHER = 1234, 4321, 5678


def test_the_aiortc_internals_it_uses_are_there(monkeypatch: pytest.MonkeyPatch) -> None:
    assert verify_feedback() == []
    monkeypatch.delattr(RTCRtpSender, "_handle_rtcp_packet")
    assert verify_feedback() == ["RTCRtpSender._handle_rtcp_packet is gone"]


def _wire(packet: object) -> object:
    """Through aiortc's own serialiser and parser, as off the wire."""
    (parsed,) = RtcpPacket.parse(bytes(packet))  # type: ignore[call-overload]
    return parsed


def test_rtcp_about_this_stream_feeds_the_meter() -> None:
    meter = FeedbackMeter()
    now = time.monotonic()
    packets = [
        RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=pack_remb_fci(300_000, [SSRC])),
        RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=pack_remb_fci(9, [OTHER])),
        RtcpRrPacket(
            ssrc=1,
            reports=[
                RtcpReceiverInfo(SSRC, 64, 10, 100, 0, 0, 0),
                RtcpReceiverInfo(RTX, 128, 10, 100, 0, 0, 0),  # the RTX stream (padding)
                RtcpReceiverInfo(OTHER, 255, 10, 100, 0, 0, 0),
            ],
        ),
        RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=1, media_ssrc=SSRC, lost=[10, 11, 12]),
        RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=1, media_ssrc=OTHER, lost=[1]),
        RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1, media_ssrc=SSRC),
    ]
    for packet in packets:
        note_rtcp(_wire(packet), SSRC, meter, now, RTX)
    meter.on_sent(30, now)
    feedback = meter.feedback(now)
    assert feedback.remb_bps == 300_000
    assert feedback.fraction_lost == 64 / 256
    assert (feedback.padding_lost, feedback.padding_reports) == (0.5, 1)
    assert feedback.nack_rate == pytest.approx(3 / 30)
