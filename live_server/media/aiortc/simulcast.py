"""Receiving a simulcast host's layers with aiortc 1.16, which has no simulcast.

aiortc routes every video RTP packet of the host (all layers and their RTX streams share
the section's payload types) to the one ``RTCRtpReceiver`` of the video transceiver, whose
jitter buffer, NACK generator and RTX table assume one stream. ``SimulcastReceiver`` keeps
aiortc's receive path and gives each layer one of its own:

- The answer negotiates the ``rtp-stream-id`` / ``repaired-rtp-stream-id`` header
  extensions (appended to the transceiver's ``_headerExtensions``, with the offer's ids),
  so aiortc's header parser fills ``packet.extensions.rtp_stream_id`` and
  ``repaired_rtp_stream_id``.
- One extra ``RTCRtpReceiver`` per rid, on the same DTLS transport, with its own
  ``RemoteStreamTrack`` and a forwarding jitter buffer (``ingest.forward_complete_frames``).
  Started with the transceiver's own parameters when aiortc starts the transceiver's
  receiver, then taken out of the transport's RTP router again: only the transceiver's
  receiver is routed to, so aiortc's "unknown SSRC, known payload type" rule still finds it.
- The transceiver's receiver hands each packet (its ``_handle_rtp_packet`` shadowed on the
  instance) to the demultiplexer, which learns SSRC -> rid from the RID extension and
  RTX SSRC -> layer from the repaired-RID extension (the layer's RTX table), then calls that
  layer's receiver: per-layer statistics and receiver reports, NACKs for the layer's SSRC,
  RTX unwrapping, reassembly. A packet of an SSRC not learnt yet and without a RID is
  dropped (browsers tag every packet until the SSRC shows up in a receiver report).
- One bandwidth estimate for the host's whole uplink: the transceiver receiver's REMB
  estimator sees every packet and sends REMB; the layers' own estimators are switched off
  (three REMBs, each with one layer's rate, would cap the host at its smallest layer).
- Sender reports and BYEs for a layer's SSRC are passed on to that layer's receiver (its
  receiver reports then carry LSR/DLSR); stop and disconnect of the transceiver's receiver
  stop the layers too, so their tracks end with the connection.

Internals used, checked by ``verify_simulcast()``: ``RTCRtpReceiver._handle_rtp_packet``,
``_handle_rtcp_packet``, ``_handle_disconnect``, ``receive``, ``stop``, ``_send_rtcp``,
``_send_rtcp_pli``, ``_set_rtcp_ssrc``, ``_track`` and the name-mangled ``__rtx_ssrc``,
``__remote_bitrate_estimator``, ``__rtcp_ssrc``; ``RTCRtpTransceiver._headerExtensions``;
``RTCDtlsTransport._handle_rtp_data`` calling ``route_rtp`` and ``_handle_rtp_packet``,
``_unregister_rtp_receiver``; ``HeaderExtensionsMap.configure`` knowing both RID URIs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from aiortc import RTCRtpReceiver, RTCRtpTransceiver
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpReceiveParameters
from aiortc.rtcrtpreceiver import RemoteStreamTrack
from aiortc.rtp import (
    RTCP_PSFB_APP,
    HeaderExtensions,
    HeaderExtensionsMap,
    RtcpByePacket,
    RtcpPsfbPacket,
    RtcpSrPacket,
    RtpPacket,
    pack_remb_fci,
)

from live_server.media.aiortc.ingest import forward_complete_frames
from live_server.media.simulcast_sdp import REPAIRED_RID_EXTENSION, RID_EXTENSION

logger = logging.getLogger(__name__)

_RTX = "_RTCRtpReceiver__rtx_ssrc"
_REMB = "_RTCRtpReceiver__remote_bitrate_estimator"
_RTCP_SSRC = "_RTCRtpReceiver__rtcp_ssrc"
_RECEIVER_METHODS = (
    "_handle_rtp_packet",
    "_handle_rtcp_packet",
    "_handle_disconnect",
    "receive",
    "stop",
    "_send_rtcp",
    "_send_rtcp_pli",
    "_set_rtcp_ssrc",
)


def _names(function: Any) -> set[str]:
    code = getattr(function, "__code__", None)
    return set(code.co_names) if code is not None else set()


def verify_simulcast() -> list[str]:
    """Problems with the aiortc internals the simulcast receive path uses (empty when fine)."""
    problems: list[str] = []
    for name in _RECEIVER_METHODS:
        if not callable(getattr(RTCRtpReceiver, name, None)):
            problems.append(f"RTCRtpReceiver.{name} is gone")
    init = _names(RTCRtpReceiver.__dict__.get("__init__"))
    for attr in (_RTX, _REMB, _RTCP_SSRC, "_track"):
        if attr not in init:
            problems.append(f"RTCRtpReceiver.{attr} is gone")
    if "_register_rtp_receiver" not in _names(getattr(RTCRtpReceiver, "receive", None)):
        problems.append("RTCRtpReceiver.receive no longer registers with its transport")
    if _RTX not in _names(getattr(RTCRtpReceiver, "_handle_rtp_packet", None)):
        problems.append("RTCRtpReceiver._handle_rtp_packet no longer reads its RTX table")
    if "__slots__" in vars(RTCRtpReceiver):
        problems.append("RTCRtpReceiver has __slots__: its methods cannot be shadowed")
    route = _names(getattr(RTCDtlsTransport, "_handle_rtp_data", None))
    if not {"route_rtp", "_handle_rtp_packet"} <= route:
        problems.append(
            "RTCDtlsTransport._handle_rtp_data no longer routes to receiver._handle_rtp_packet"
        )
    if not callable(getattr(RTCDtlsTransport, "_unregister_rtp_receiver", None)):
        problems.append("RTCDtlsTransport._unregister_rtp_receiver is gone")
    if "_headerExtensions" not in _names(RTCRtpTransceiver.__dict__.get("__init__")):
        problems.append("RTCRtpTransceiver._headerExtensions is gone")
    configure = getattr(HeaderExtensionsMap.configure, "__code__", None)
    consts = set(configure.co_consts) if configure is not None else set()
    if not {RID_EXTENSION, REPAIRED_RID_EXTENSION} <= consts:
        problems.append("aiortc's HeaderExtensionsMap no longer parses the RID extensions")
    fields = getattr(HeaderExtensions, "__dataclass_fields__", {})
    if not {"rtp_stream_id", "repaired_rtp_stream_id"} <= set(fields):
        problems.append("aiortc.rtp.HeaderExtensions has no rtp_stream_id fields")
    return problems


@dataclass
class Layer:
    """One rid's stream as received: its SSRCs, its own receiver and track."""

    rid: str
    receiver: RTCRtpReceiver
    track: RemoteStreamTrack
    ssrc: int | None = None
    rtx_ssrc: int | None = None
    packets: int = 0


class SimulcastReceiver:
    """Demultiplexes a simulcast transceiver's video by rid (see the module docstring).

    Build it after ``setRemoteDescription`` and ``keep_first_codec`` (the transceiver's
    codecs are final) and before ``createAnswer`` (the answer then carries the RID
    extensions).
    """

    def __init__(
        self,
        transceiver: RTCRtpTransceiver,
        rids: tuple[str, ...],
        rid_extension_id: int,
        repaired_extension_id: int | None,
        label: str = "",
    ) -> None:
        self._main: Any = transceiver.receiver
        self.label = label
        extensions: list[RTCRtpHeaderExtensionParameters] = transceiver._headerExtensions
        wanted = [(rid_extension_id, RID_EXTENSION)]
        if repaired_extension_id is not None:
            wanted.append((repaired_extension_id, REPAIRED_RID_EXTENSION))
        for ext_id, uri in wanted:
            if all(e.uri != uri for e in extensions):
                extensions.append(RTCRtpHeaderExtensionParameters(id=ext_id, uri=uri))
        codecs = list(transceiver._codecs)
        transport: RTCDtlsTransport = self._main.transport
        self.layers: dict[str, Layer] = {}
        for rid in rids:
            receiver: Any = RTCRtpReceiver("video", transport)
            receiver._track = RemoteStreamTrack(kind="video")
            setattr(receiver, _REMB, None)  # one estimate for the whole uplink (see above)
            rtcp_ssrc = getattr(self._main, _RTCP_SSRC)
            if rtcp_ssrc is not None:
                receiver._set_rtcp_ssrc(rtcp_ssrc)
            forward_complete_frames(receiver, codecs)
            self.layers[rid] = Layer(rid=rid, receiver=receiver, track=receiver._track)
        self._by_ssrc: dict[int, Layer] = {}
        self._started = False
        self.unrouted = 0  # packets dropped: an SSRC not learnt yet and no RID on it
        self._stock_receive = self._main.receive
        self._stock_stop = self._main.stop
        self._stock_disconnect = self._main._handle_disconnect
        self._stock_rtcp = self._main._handle_rtcp_packet
        # instance attributes shadow the class's methods for this receiver only
        shadows = {
            "_handle_rtp_packet": self._handle_rtp_packet,
            "_handle_rtcp_packet": self._handle_rtcp_packet,
            "receive": self._receive,
            "stop": self._stop,
            "_handle_disconnect": self._handle_disconnect,
        }
        for name, method in shadows.items():
            setattr(self._main, name, method)

    async def request_keyframe(self, rid: str) -> bool:
        """Send a PLI for ``rid``'s SSRC; False while that SSRC is not known yet."""
        layer = self.layers.get(rid)
        if layer is None or layer.ssrc is None:
            return False
        receiver: Any = layer.receiver
        await receiver._send_rtcp_pli(layer.ssrc)
        return True

    # -- the transceiver receiver's shadowed methods ---------------------------

    async def _receive(self, parameters: RTCRtpReceiveParameters) -> None:
        await self._stock_receive(parameters)
        if self._started:
            return
        self._started = True
        transport: Any = self._main.transport
        for layer in self.layers.values():
            own = RTCRtpReceiveParameters(
                codecs=parameters.codecs,
                headerExtensions=parameters.headerExtensions,
                muxId="",
                rtcp=parameters.rtcp,
            )
            await layer.receiver.receive(own)
            # routed to through the demultiplexer only
            transport._unregister_rtp_receiver(layer.receiver)

    async def _handle_rtp_packet(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        layer = self._by_ssrc.get(packet.ssrc)
        rid = packet.extensions.rtp_stream_id
        repaired = packet.extensions.repaired_rtp_stream_id
        if rid is not None and (layer is None or layer.rid != rid or layer.ssrc != packet.ssrc):
            layer = self._learn_media(rid, packet.ssrc)
        elif repaired is not None and (layer is None or layer.rtx_ssrc != packet.ssrc):
            layer = self._learn_rtx(repaired, packet.ssrc)
        if layer is None:
            self.unrouted += 1
            return
        # only the host's announced layers count towards its uplink's estimate
        await self._estimate_bandwidth(packet, arrival_time_ms)
        layer.packets += 1
        receiver: Any = layer.receiver
        await receiver._handle_rtp_packet(packet, arrival_time_ms)

    def _learn_media(self, rid: str, ssrc: int) -> Layer | None:
        layer = self.layers.get(rid)
        if layer is None:
            return None
        if layer.ssrc != ssrc:
            if layer.ssrc is not None:
                self._by_ssrc.pop(layer.ssrc, None)
            layer.ssrc = ssrc
            logger.info("%s simulcast layer %s: ssrc %d", self.label, rid, ssrc)
            if layer.rtx_ssrc is not None:
                getattr(layer.receiver, _RTX)[layer.rtx_ssrc] = ssrc
        self._by_ssrc[ssrc] = layer
        return layer

    def _learn_rtx(self, rid: str, ssrc: int) -> Layer | None:
        layer = self.layers.get(rid)
        if layer is None:
            return None
        table: dict[int, int] = getattr(layer.receiver, _RTX)
        if layer.rtx_ssrc is not None and layer.rtx_ssrc != ssrc:
            table.pop(layer.rtx_ssrc, None)
            self._by_ssrc.pop(layer.rtx_ssrc, None)
        layer.rtx_ssrc = ssrc
        self._by_ssrc[ssrc] = layer
        if layer.ssrc is not None:
            table[ssrc] = layer.ssrc  # the layer's receiver unwraps it onto the media SSRC
        return layer

    async def _estimate_bandwidth(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        estimator = getattr(self._main, _REMB)
        abs_send_time = packet.extensions.abs_send_time
        if estimator is None or abs_send_time is None:
            return
        remb = estimator.add(
            abs_send_time=abs_send_time,
            arrival_time_ms=arrival_time_ms,
            payload_size=len(packet.payload) + packet.padding_size,
            ssrc=packet.ssrc,
        )
        rtcp_ssrc = getattr(self._main, _RTCP_SSRC)
        if remb is not None and rtcp_ssrc is not None:
            feedback = RtcpPsfbPacket(
                fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=pack_remb_fci(*remb)
            )
            await self._main._send_rtcp(feedback)

    async def _handle_rtcp_packet(self, packet: Any) -> None:
        await self._stock_rtcp(packet)
        sources: list[int] = []
        if isinstance(packet, RtcpSrPacket):
            sources = [packet.ssrc]
        elif isinstance(packet, RtcpByePacket):
            sources = list(packet.sources)
        for ssrc in sources:
            layer = self._by_ssrc.get(ssrc)
            if layer is not None:
                receiver: Any = layer.receiver
                await receiver._handle_rtcp_packet(packet)

    async def _stop(self) -> None:
        await self._stock_stop()
        for layer in self.layers.values():
            await layer.receiver.stop()
            self._end_track(layer)

    def _handle_disconnect(self) -> None:
        self._stock_disconnect()
        for layer in self.layers.values():
            receiver: Any = layer.receiver
            receiver._handle_disconnect()
            self._end_track(layer)

    @staticmethod
    def _end_track(layer: Layer) -> None:
        # a layer that never started has no decoder thread to end its track: end it here
        queue = layer.track._queue
        if layer.track.readyState == "live" and queue.empty():
            queue.put_nowait(None)
