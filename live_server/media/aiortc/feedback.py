"""A viewer's RTCP, as aiortc 1.16's sender receives it, for the layer chooser.

Each viewer's ``RTCRtpSender`` gets every RTCP packet the viewer sends about it from
``RTCDtlsTransport._handle_rtcp_data``, which awaits ``recipient._handle_rtcp_packet``.
``watch_feedback`` shadows that method on the instance: the viewer's REMB estimate (a PSFB
APP packet naming the sender's SSRC), the fraction lost of its receiver-report blocks (the
media stream's, and the RTX stream's, which carries a probe's padding) and the size of its
NACKs go to a ``FeedbackSink`` (``feedback_meter.FeedbackMeter``), then
aiortc's own handling runs as before (RTT, stats, retransmissions, keyframe requests).
``packets_sent`` reads the sender's packet counter, which the fast path keeps too.

Internals used, checked by ``verify_feedback()``: ``RTCRtpSender._handle_rtcp_packet``,
``_ssrc``, ``_rtx_ssrc`` and the name-mangled ``__packet_count``;
``RTCDtlsTransport._handle_rtcp_data`` calling ``_handle_rtcp_packet``;
``aiortc.rtp.unpack_remb_fci``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiortc import RTCRtpSender
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    unpack_remb_fci,
)

logger = logging.getLogger(__name__)

_PACKET_COUNT = "_RTCRtpSender__packet_count"


class FeedbackSink(Protocol):
    """What the viewer's RTCP is told to (``feedback_meter.FeedbackMeter``)."""

    def on_remb(self, bitrate_bps: float, now: float) -> None: ...

    def on_receiver_report(self, fraction_lost: int) -> None: ...

    def on_padding_report(self, fraction_lost: int) -> None: ...

    def on_nack(self, packets: int, now: float) -> None: ...


def _names(function: Any) -> set[str]:
    code = getattr(function, "__code__", None)
    return set(code.co_names) if code is not None else set()


def verify_feedback() -> list[str]:
    """Problems with the aiortc internals the feedback hook uses (empty when fine)."""
    problems: list[str] = []
    if not callable(getattr(RTCRtpSender, "_handle_rtcp_packet", None)):
        problems.append("RTCRtpSender._handle_rtcp_packet is gone")
    init = _names(RTCRtpSender.__dict__.get("__init__"))
    for attr in (_PACKET_COUNT, "_ssrc", "_rtx_ssrc"):
        if attr not in init:
            problems.append(f"RTCRtpSender.{attr} is gone")
    if "_handle_rtcp_packet" not in _names(getattr(RTCDtlsTransport, "_handle_rtcp_data", None)):
        problems.append("RTCDtlsTransport._handle_rtcp_data no longer calls _handle_rtcp_packet")
    if "__slots__" in vars(RTCRtpSender):
        problems.append("RTCRtpSender has __slots__: its methods cannot be shadowed")
    return problems


def note_rtcp(
    packet: Any, ssrc: int, sink: FeedbackSink, now: float, rtx_ssrc: int | None = None
) -> None:
    """Tell ``sink`` what one RTCP packet about the stream ``ssrc`` (and its RTX stream
    ``rtx_ssrc``, whose report block rides in the same receiver report) says."""
    if isinstance(packet, RtcpRrPacket | RtcpSrPacket):
        for report in packet.reports:
            if report.ssrc == ssrc:
                sink.on_receiver_report(report.fraction_lost)
            elif rtx_ssrc is not None and report.ssrc == rtx_ssrc:
                sink.on_padding_report(report.fraction_lost)
    elif isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
        if packet.media_ssrc == ssrc:
            sink.on_nack(len(packet.lost), now)
    elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
        try:
            bitrate, ssrcs = unpack_remb_fci(packet.fci)
        except ValueError:
            return
        if ssrc in ssrcs:
            sink.on_remb(float(bitrate), now)


def watch_feedback(sender: RTCRtpSender, sink: FeedbackSink) -> None:
    """Feed ``sink`` from the RTCP the viewer behind ``sender`` sends (see the docstring)."""
    s: Any = sender
    handle: Callable[[Any], Awaitable[None]] = s._handle_rtcp_packet

    async def handle_and_note(packet: Any) -> None:
        try:
            note_rtcp(packet, s._ssrc, sink, time.monotonic(), s._rtx_ssrc)
        except Exception:  # the chooser's input must never break aiortc's RTCP handling
            logger.exception("viewer feedback hook failed")
        await handle(packet)

    s._handle_rtcp_packet = handle_and_note


def packets_sent(sender: RTCRtpSender) -> int:
    """RTP packets ``sender`` has sent (the fast path counts into the same counter)."""
    return int(getattr(sender, _PACKET_COUNT, 0))
