"""Transport-cc for a host's uplink on aiortc 1.16 (the feedback itself: ``media/twcc.py``).

aiortc negotiates no transport-wide congestion control: it answers a host with REMB only,
and its REMB cannot exceed 1.5x what arrives. When the host's offer carries the
``transport-wide-cc`` header extension, ``negotiate`` (between ``setRemoteDescription``
and ``createAnswer``) adds it to the transceiver's negotiated extensions, with the offer's
id, so the answer carries it and aiortc's parser reads each packet's transport-wide
sequence number; puts ``transport-cc`` in place of ``goog-remb`` in its codecs' RTCP
feedback; and switches the receiver's REMB estimator off. ``TwccFeedback`` then sees
every packet the DTLS transport routes (one transport per host: BUNDLE) and sends
transport-cc feedback every 100 ms: the browser's own send-side estimator, which probes,
sets its rate. ``LIVESHOP_INGEST_TWCC=0`` keeps REMB.

Internals used, checked by ``verify_twcc()``: ``RTCRtpTransceiver._headerExtensions`` and
``_codecs``; ``RTCRtpReceiver.__remote_bitrate_estimator`` and ``__rtcp_ssrc``;
``RTCDtlsTransport._rtp_router`` (its ``route_rtp`` is wrapped per instance),
``_send_rtp`` (SRTCP-protects RTCP), ``_state``; ``RtpPacket.extensions``'
``transport_sequence_number``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from typing import Any

from aiortc import RTCDtlsTransport, RTCRtpReceiver, RTCRtpTransceiver
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import RTCRtcpFeedback, RTCRtpHeaderExtensionParameters
from aiortc.rtp import HeaderExtensions

from live_server.media.twcc import URI, TwccRecorder

logger = logging.getLogger(__name__)

ENV = "LIVESHOP_INGEST_TWCC"
INTERVAL_S = 0.1
_REMB = "_RTCRtpReceiver__remote_bitrate_estimator"
_RTCP_SSRC = "_RTCRtpReceiver__rtcp_ssrc"
_EXTMAP = re.compile(r"^a=extmap:(\d{1,3})(?:/\w+)? (\S+)", re.MULTILINE)

_enabled = os.environ.get(ENV, "1").strip().lower() not in {"0", "false", "no", "off"}


def enabled() -> bool:
    """Whether hosts are offered transport-cc (``LIVESHOP_INGEST_TWCC``)."""
    return _enabled


def set_enabled(on: bool) -> None:
    """Switch transport-cc for hosts that connect from now on."""
    global _enabled
    _enabled = on


def verify_twcc() -> list[str]:
    """Problems with the aiortc internals this module uses (empty when fine)."""
    problems: list[str] = []
    if "transport_sequence_number" not in HeaderExtensions.__dataclass_fields__:
        problems.append("RtpPacket extensions have no transport_sequence_number")
    init = RTCRtpReceiver.__init__.__code__.co_names
    for attr in (_REMB, _RTCP_SSRC):
        if attr not in init:
            problems.append(f"RTCRtpReceiver.{attr} is gone")
    if not callable(getattr(RTCDtlsTransport, "_send_rtp", None)):
        problems.append("RTCDtlsTransport._send_rtp is gone")
    if "_rtp_router" not in RTCDtlsTransport.__init__.__code__.co_names:
        problems.append("RTCDtlsTransport._rtp_router is gone")
    for attr in ("_headerExtensions", "_codecs"):
        if attr not in RTCRtpTransceiver.__init__.__code__.co_names:
            problems.append(f"RTCRtpTransceiver.{attr} is gone")
    return problems


def offered_ids(offer_sdp: str) -> dict[str, int]:
    """The transport-wide-cc extension id per m-section kind ("audio", "video") in an offer."""
    found: dict[str, int] = {}
    for section in re.split(r"\r?\n(?=m=)", offer_sdp)[1:]:
        kind = section[2:].split(" ", 1)[0]
        for ext_id, uri in _EXTMAP.findall(section):
            if uri == URI and 1 <= int(ext_id) <= 14:
                found.setdefault(kind, int(ext_id))
    return found


def negotiate(transceiver: RTCRtpTransceiver, ext_id: int) -> None:
    """Answer ``transceiver``'s section with transport-cc (see the module docstring)."""
    t: Any = transceiver
    extensions: list[RTCRtpHeaderExtensionParameters] = t._headerExtensions
    if all(e.uri != URI for e in extensions):
        extensions.append(RTCRtpHeaderExtensionParameters(id=ext_id, uri=URI))
    for codec in t._codecs:
        feedback = [f for f in codec.rtcpFeedback if f.type not in ("goog-remb", "transport-cc")]
        codec.rtcpFeedback = [*feedback, RTCRtcpFeedback(type="transport-cc")]
    setattr(transceiver.receiver, _REMB, None)


class TwccFeedback:
    """Records every packet a host's DTLS transport routes and sends transport-cc feedback
    every ``INTERVAL_S`` (see the module docstring)."""

    def __init__(self, transport: RTCDtlsTransport, receivers: list[RTCRtpReceiver]) -> None:
        self._transport: Any = transport
        self._receivers = receivers
        self.recorder = TwccRecorder(self._sender_ssrc())
        self.sent = 0
        router: Any = self._transport._rtp_router
        route = router.route_rtp

        def route_and_note(packet: Any) -> Any:
            seq = packet.extensions.transport_sequence_number
            if seq is not None:
                self.recorder.on_packet(seq, time.monotonic_ns() // 1000, packet.ssrc)
            return route(packet)

        router.route_rtp = route_and_note
        #: sends the feedback until the transport closes (cancel it to stop)
        self.task: asyncio.Task[None] = asyncio.ensure_future(self._run())

    def _sender_ssrc(self) -> int:
        for receiver in self._receivers:
            ssrc = getattr(receiver, _RTCP_SSRC, None)
            if ssrc:
                return int(ssrc)
        return 1

    async def _run(self) -> None:
        transport = self._transport
        while transport._state not in (DtlsState.CLOSED, DtlsState.FAILED):
            await asyncio.sleep(INTERVAL_S)
            if transport._state is not DtlsState.CONNECTED:
                continue
            for receiver in self._receivers:  # REMB off: the host goes by this feedback
                setattr(receiver, _REMB, None)
            self.recorder.sender_ssrc = self._sender_ssrc()
            data = self.recorder.build()
            if data is None:
                continue
            try:
                await transport._send_rtp(data)
                self.sent += 1
            except ConnectionError:
                return
            except Exception:  # the feedback must never take the ingest down
                logger.exception("transport-cc feedback failed")
