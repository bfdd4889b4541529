"""The fast send path for forwarded frames, and every aiortc 1.16 internal it touches.

aiortc's own sender turns each payload into an ``RtpPacket`` object, serialises it
with its header extensions, and awaits ``RTCDtlsTransport._send_rtp`` ->
``RTCIceTransport._send`` -> aioice ``Connection.sendto`` -> ``StunProtocol.send_data``
for every packet of every viewer: about 50-65 us per packet, most of it Python. A
forwarding SFU sends the same payloads to every viewer, so:

- ``SharedPacketizer`` packetises each publisher frame once per hub (aiortc's own
  VP8/H264/Opus packetisers); every viewer gets the same payload list.
- ``FastRtpSender`` holds one viewer's send state: the RTP header template (built once
  by aiortc's own serialiser with the negotiated MID and abs-send-time extensions), the
  sequence number, the history, and the selected ICE pair's socket. The hub sends a
  frame to all its viewers' states in one call (``send_batch``): the native loop
  (``live_server.media.native``, C: header, ``srtp_protect`` on the DTLS transport's
  own libsrtp session, ``sendmmsg``) when it is built, or its Python twin
  (``sendloop``: ``struct.pack_into``, pylibsrtp's ``protect``, ``sendmsg``). No
  awaits, no objects per packet.

It keeps aiortc's semantics: the sender's SSRC and RTX SSRC (announced in the SDP),
a history of the last 128 packets per viewer answering the viewer's NACKs (as RTX
when negotiated), the counters aiortc's RTCP sender reports and stats read, and the
DTLS transport's byte/packet counters. aiortc's RTCP path (receiver reports, NACK,
PLI) is untouched. Internals used, all checked by ``verify_fastpath()``:

1. ``RTCRtpSender``: ``_ssrc``, ``_rtx_ssrc``, ``__rtp_header_extensions_map``,
   ``__mid``, ``__rtx_payload_type``, the SR counters ``__ntp_timestamp``,
   ``__rtp_timestamp``, ``__octet_count``, ``__packet_count``, and ``_retransmit``
   (shadowed per instance, called by ``_handle_rtcp_packet`` for each NACKed seq).
2. ``RTCDtlsTransport``: ``_tx_srtp`` (pylibsrtp ``Session``), ``_state``,
   ``__tx_bytes``, ``__tx_packets``.
3. ``RTCIceTransport._connection`` (aioice ``Connection``) and its ``_nominated``
   candidate pairs; ``StunProtocol.send_data`` must still be a plain
   ``transport.sendto(data, addr)``, which is what we call.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import struct
import time
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from aioice.ice import CandidatePair, Connection, StunProtocol
from aiortc import RTCDtlsTransport, RTCRtpSender
from aiortc.codecs import get_encoder
from aiortc.codecs.base import Encoder
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcicetransport import RTCIceTransport
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RTP_HISTORY_SIZE, RtpPacket

from live_server.media import native
from live_server.media.aiortc import sendloop
from live_server.media.aiortc.ntp import fast_ntp_time
from live_server.media.aiortc.rtx import PADDING_BYTES, PaddingPacer, RtxStream
from live_server.media.aiortc.sendloop import (
    NOT_CONNECTED,
    PICTURE_ID_MASK,
    PROTECT_FAILED,
    SENT,
    WOULD_BLOCK,
    picture_id,
)
from live_server.media.retransmit import RetransmitGate

if TYPE_CHECKING:
    import av.packet
    from av.stream import Stream

    Packet = av.packet.Packet[Stream]
else:
    Packet = Any

logger = logging.getLogger(__name__)

_SENDER_ATTRS = (
    "_ssrc",
    "_rtx_ssrc",
    "_RTCRtpSender__rtp_header_extensions_map",
    "_RTCRtpSender__mid",
    "_RTCRtpSender__rtx_payload_type",
    "_RTCRtpSender__ntp_timestamp",
    "_RTCRtpSender__rtp_timestamp",
    "_RTCRtpSender__octet_count",
    "_RTCRtpSender__packet_count",
    "_RTCRtpSender__rtt",  # the round trip the retransmission gate waits
)
_DTLS_ATTRS = ("_tx_srtp", "_state", "_RTCDtlsTransport__tx_bytes", "_RTCDtlsTransport__tx_packets")
_SEQ_TS = struct.Struct("!BHI")  # byte 1 (marker | payload type), sequence number, timestamp

__all__ = [
    "NOT_CONNECTED",
    "PICTURE_ID_MASK",
    "PROTECT_FAILED",
    "SENT",
    "WOULD_BLOCK",
    "FastRtpSender",
    "picture_id",
]

#: one frame to several viewers' send states: (payloads, timestamp, ntp, states) -> statuses
SendBatch = Callable[[list[bytes], int, int, list[Any]], bytes]

_CONNECTED = DtlsState.CONNECTED

# Frames go to a viewer whose socket buffer holds more than this are dropped
# (the viewer then waits for the next keyframe, like a full queue).
MAX_BACKLOG_BYTES = 512 * 1024


def _init_names(cls: type) -> set[str]:
    code = getattr(cls.__dict__.get("__init__"), "__code__", None)
    return set(code.co_names) if code is not None else set()


def verify_fastpath() -> list[str]:
    """Problems with the aiortc/aioice internals the fast path uses (empty when fine)."""
    problems: list[str] = []
    sender_names = _init_names(RTCRtpSender)
    problems += [f"RTCRtpSender.{a} is gone" for a in _SENDER_ATTRS if a not in sender_names]
    handler = getattr(RTCRtpSender, "_handle_rtcp_packet", None)
    if not callable(getattr(RTCRtpSender, "_retransmit", None)) or "_retransmit" not in set(
        getattr(getattr(handler, "__code__", None), "co_names", ())
    ):
        problems.append("RTCRtpSender._handle_rtcp_packet no longer calls self._retransmit")
    dtls_names = _init_names(RTCDtlsTransport)
    problems += [f"RTCDtlsTransport.{a} is gone" for a in _DTLS_ATTRS if a not in dtls_names]
    if not hasattr(DtlsState, "CONNECTED"):
        problems.append("aiortc.rtcdtlstransport.State.CONNECTED is gone")
    if "_connection" not in _init_names(RTCIceTransport):
        problems.append("RTCIceTransport._connection is gone")
    if "_nominated" not in _init_names(Connection):
        problems.append("aioice Connection._nominated is gone")
    send_data = getattr(StunProtocol, "send_data", None)
    if "sendto" not in set(getattr(getattr(send_data, "__code__", None), "co_names", ())):
        problems.append("aioice StunProtocol.send_data no longer calls transport.sendto")
    if not isinstance(getattr(CandidatePair, "remote_addr", None), property):
        problems.append("aioice CandidatePair.remote_addr is gone")
    if RTP_HISTORY_SIZE != sendloop.HISTORY_SIZE:
        problems.append(f"aiortc's RTP history is {RTP_HISTORY_SIZE} packets, ours 128")
    return problems


def send_batch(send: SendBatch, payloads: list[bytes], timestamp: int, states: list[Any]) -> bytes:
    """One frame to several viewers' states of one kind (``FastRtpSender.send_batch``)."""
    return send(payloads, timestamp, fast_ntp_time(), states)


class SharedPacketizer:
    """Packetises each publisher frame once for all viewers (aiortc's own packetiser).

    VP8 picture IDs therefore run per hub (per simulcast layer) rather than per viewer; a
    viewer that moves to another layer gets them shifted (``shift_picture_ids``) so they go
    on by one, and within a layer a dropped frame still leaves its gap.
    """

    def __init__(self, kind: str, codec_name: str, clock_rate: int) -> None:
        self.codec_name = codec_name
        codec = RTCRtpCodecParameters(
            mimeType=f"{kind}/{codec_name}", clockRate=clock_rate, payloadType=96
        )
        self._encoder: Encoder = get_encoder(codec)

    def pack(self, packet: Packet) -> tuple[list[bytes], int]:
        """RTP payloads and RTP timestamp (in the clock rate) of one encoded frame."""
        payloads, timestamp = self._encoder.pack(packet)
        return payloads, timestamp


def _own_udp_socket(transport: Any) -> socket.socket | None:
    """A duplicate of the asyncio UDP transport's socket descriptor, or None.

    Writing to our own descriptor (same socket, same non-blocking flag) lets us use
    ``sendmsg`` with UDP GSO and see ``EAGAIN`` instead of asyncio buffering without
    bound. aiortc's own sends (RTCP, STUN) keep going through the transport.
    """
    extra = transport.get_extra_info("socket") if transport is not None else None
    if extra is None or extra.type != socket.SOCK_DGRAM:
        return None
    if extra.family not in (socket.AF_INET, socket.AF_INET6):
        return None
    return socket.socket(extra.family, socket.SOCK_DGRAM, fileno=os.dup(extra.fileno()))


def _header_template(
    sender: Any, payload_type: int, ssrc: int, mid: str | None
) -> tuple[bytearray, int]:
    """A header for this sender built by aiortc's serialiser; returns it and the offset
    of the abs-send-time value (-1 when that extension was not negotiated)."""
    ext_map = sender._RTCRtpSender__rtp_header_extensions_map
    packet = RtpPacket(payload_type=payload_type, sequence_number=0, timestamp=0, ssrc=ssrc)
    packet.extensions.mid = mid
    packet.extensions.abs_send_time = 0
    low = packet.serialize(ext_map)
    packet.extensions.abs_send_time = 0xFFFFFF
    high = packet.serialize(ext_map)
    diff = [i for i in range(len(low)) if low[i] != high[i]]
    if len(low) != len(high) or (diff and diff != [diff[0], diff[0] + 1, diff[0] + 2]):
        raise ValueError("unexpected abs-send-time layout")
    return bytearray(low), (diff[0] if diff else -1)


class FastRtpSender:
    """Sends one viewer's RTP synchronously on behalf of its aiortc ``RTCRtpSender``.

    Create it with ``attach`` once the sender runs (its ``send()`` configured the MID
    and header extensions, which happens after DTLS connected). The per-packet work is
    done by a send state: the native loop's (``live_server.media.native``) when it is
    available and the path is a plain UDP socket, else the Python twin's (``sendloop``).
    """

    def __init__(self, sender: RTCRtpSender, payload_type: int, label: str) -> None:
        s: Any = sender
        self._sender = s
        self._label = label
        self._dtls: Any = sender.transport
        self._connection: Any = self._dtls.transport._connection
        self._pair: CandidatePair | None = None
        self._socket: Any = None
        self._raw: socket.socket | None = None
        self._addr: tuple[str, int] = ("", 0)
        self._payload_type = payload_type
        self._header, self._abs_at = _header_template(
            s, payload_type, s._ssrc, s._RTCRtpSender__mid
        )
        rtx_payload_type: int | None = s._RTCRtpSender__rtx_payload_type
        self._rtx: RtxStream | None = None
        if rtx_payload_type is not None:
            mid = s._RTCRtpSender__mid
            header, abs_at = _header_template(s, rtx_payload_type, s._rtx_ssrc, mid)
            self._rtx = RtxStream(header, abs_at, rtx_payload_type, random.randint(0, 32767))
        self._seq = random.randint(0, 32767)  # lower half, like aiortc (SRTP rollover)
        self._ts_origin = random.getrandbits(32)
        self._pid_shift = 0
        self._native: ModuleType | None = native.backend()
        self._state: Any = None  # a sendloop.SendState or a native one
        #: sends one frame to a list of states of this kind: ``(payloads, ts, ntp, states)``
        self.send_batch: SendBatch = sendloop.send_frame
        self.retransmitted = 0
        #: which NACKed packets to resend (once per round trip, within the viewer's estimate)
        self.gate = RetransmitGate()
        self._pacer: PaddingPacer | None = None
        s._retransmit = self._retransmit

    @classmethod
    def attach(cls, sender: RTCRtpSender, payload_type: int, label: str) -> FastRtpSender | None:
        """A fast sender for ``sender``, or None (logged) when its path is not plain UDP."""
        try:
            fast = cls(sender, payload_type, label)
            if not fast._resolve():
                logger.info("%s fast path unavailable: no selected UDP pair", label)
                fast.detach()
                return None
            return fast
        except Exception as exc:  # never break a viewer: aiortc's own path still works
            logger.warning("%s fast path unavailable: %r", label, exc)
            sender.__dict__.pop("_retransmit", None)
            return None

    def detach(self) -> None:
        """Give NACK handling back to aiortc's sender and release our socket."""
        self._sender.__dict__.pop("_retransmit", None)
        self.close()

    def _resolve(self) -> bool:
        pair = self._connection._nominated.get(1)
        if pair is None:
            return False
        if pair is not self._pair:
            protocol = pair.protocol
            if type(protocol).send_data is not StunProtocol.send_data:
                return False
            self._close_raw()
            self._pair = pair
            self._socket = protocol.transport
            self._addr = pair.remote_addr
            self._raw = _own_udp_socket(self._socket)
            self._bind_state()
        return self._socket is not None

    def _bind_state(self) -> None:
        """Point the send state at the pair's socket; native when it can be."""
        raw = self._raw
        if raw is not None and self._native is not None:
            if not self.native:
                self._replace_state(self._native)
            try:
                self._state.set_destination(raw.fileno(), *self._addr)
                return
            except ValueError as exc:  # e.g. a scoped IPv6 address
                logger.info("%s native send loop unavailable: %r", self._label, exc)
        if self.native or self._state is None:
            self._replace_state(sendloop)
        if raw is not None:
            self._state.set_destination(raw.fileno(), *self._addr)
        else:  # no socket of our own (e.g. TURN): asyncio's transport buffers
            self._state.set_transport(self._socket, self._addr)

    def _replace_state(self, module: Any) -> None:
        old = self._state
        seq = old.seq if old is not None else self._seq  # the viewer's sequence goes on
        if old is not None:
            old.close()  # its history goes: only NACKs for frames before a path change
        session = self._dtls._tx_srtp
        srtp = native.srtp_address(session) if module is not sendloop else 0
        self._state = module.SendState(
            bytes(self._header),
            self._abs_at,
            self._payload_type,
            seq,
            self._ts_origin,
            session,
            srtp,
            self._sender,
            self._dtls,
        )
        self._state.pid_shift = self._pid_shift
        self.send_batch = module.send_frame

    def shift_timestamps(self, ticks: int) -> None:
        """Move this viewer's RTP timestamps by ``ticks`` from the next frame on (a switch
        to another simulcast layer's timeline). The retransmission history stays: packets
        lost just before a switch are still answered (an aiortc viewer's jitter buffer
        waits for a hole until 128 packets later, seconds on a low layer)."""
        self._ts_origin = (self._ts_origin + ticks) & 0xFFFFFFFF
        if self._state is not None:
            self._state.ts_origin = self._ts_origin

    def shift_picture_ids(self, step: int) -> None:
        """Move this viewer's VP8 picture IDs by ``step`` (modulo 2^15) from the next frame
        on, like ``shift_timestamps``: each layer's packetiser numbers its own pictures, and
        a receiver reads a jump in them at a switch as lost pictures."""
        self._pid_shift = (self._pid_shift + step) & sendloop.PICTURE_ID_MASK
        if self._state is not None:
            self._state.pid_shift = self._pid_shift

    def restart_at_keyframe(self) -> None:
        """The next frame is a keyframe that restarts the viewer's picture (an urgent layer
        move): NACKs for packets sent before it are no longer answered."""
        if self._state is not None:
            self.gate.forget_before(self._state.seq, time.monotonic())

    @property
    def native(self) -> bool:
        """Whether this viewer's packets go through the native loop."""
        return self._native is not None and isinstance(self._state, self._native.SendState)

    def _close_raw(self) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            raw.close()

    def close(self) -> None:
        """Release this sender's duplicate of the socket's descriptor and its history."""
        if self._pacer is not None:
            self._pacer.close()
        self._close_raw()
        if self._state is not None:
            self._state.close()

    @property
    def packets_sent(self) -> int:
        """RTP media packets sent (retransmissions not counted)."""
        return int(self._state.packets_sent) if self._state is not None else 0

    @property
    def gso_sends(self) -> int:
        """UDP GSO sends (each several datagrams)."""
        return int(self._state.gso_sends) if self._state is not None else 0

    @property
    def backlog(self) -> int:
        """Bytes waiting in this viewer's socket transport (asyncio's send buffer)."""
        size = getattr(self._socket, "get_write_buffer_size", None)  # TURN has none
        return int(size()) if size is not None else 0

    def batch_state(self) -> Any:
        """This viewer's send state when it can take a frame now (for ``send_batch``),
        else None (``send_frame`` then says why: not connected, or a backlog)."""
        # called for every viewer and frame: the common case in as few calls as possible
        if self._dtls._state is not _CONNECTED:
            return None
        if self._connection._nominated.get(1) is not self._pair and not self._resolve():
            return None
        if self._socket is None or self.backlog > MAX_BACKLOG_BYTES:
            return None
        return self._state

    def send_frame(self, payloads: list[bytes], timestamp: int) -> int:
        """Send one frame's payloads now: ``SENT``, ``NOT_CONNECTED``, ``WOULD_BLOCK`` or
        ``PROTECT_FAILED``."""
        if self._dtls._state is not _CONNECTED or not self._resolve():
            return NOT_CONNECTED
        return self.send_batch(payloads, timestamp, fast_ntp_time(), [self._state])[0]

    def _write_one(self, data: bytes) -> None:
        raw = self._raw
        try:
            if raw is None:
                self._socket.sendto(data, self._addr)
            else:
                raw.sendto(data, self._addr)
        except OSError as exc:  # a full socket loses the retransmission, like a packet
            logger.debug("%s retransmission not sent: %r", self._label, exc)

    async def _retransmit(self, sequence_number: int) -> None:
        """Answer a viewer's NACK from this sender's history (as RTX when negotiated)."""
        dtls = self._dtls
        if dtls._state is not DtlsState.CONNECTED or not self._resolve():
            return
        state = self._state
        entry = state.entry(sequence_number)
        if entry is None:
            if self.gate.gone(sequence_number, state.seq, time.monotonic()):
                # its decoder waits for a keyframe now: do what its own PLI would (the
                # callback hooks.on_viewer_keyframe_request set, else aiortc's handling)
                logger.debug("%s NACK for %d too late: keyframe", self._label, sequence_number)
                self._sender._send_keyframe()
            return
        seq, ts, marker, payload = entry
        size = len(payload) + len(self._header)
        rtt = self._sender._RTCRtpSender__rtt
        if not self.gate.allow(sequence_number, size, time.monotonic(), rtt):
            return
        if self._rtx is None:
            header = bytearray(self._header)
            _SEQ_TS.pack_into(header, 1, marker | self._payload_type, seq, ts)
            packet = bytes(header) + payload
        else:
            packet = self._rtx.retransmission(seq, ts, marker, payload)
        self._write_protected(packet)
        self.retransmitted += 1

    def _write_protected(self, packet: bytes) -> None:
        dtls = self._dtls
        data = dtls._tx_srtp.protect(packet)
        self._write_one(data)
        dtls._RTCDtlsTransport__tx_bytes += len(data)
        dtls._RTCDtlsTransport__tx_packets += 1

    @property
    def can_pad(self) -> bool:
        """Whether this viewer has an RTX stream to carry a probe's padding."""
        return self._rtx is not None

    def pad(self, bps: float) -> None:
        """Add ``bps`` of padding on the RTX stream from now on (0: stop; see ``rtx``)."""
        if self._rtx is None:
            return
        if self._pacer is None:
            if bps <= 0:
                return
            self._pacer = PaddingPacer(self.send_padding, PADDING_BYTES + len(self._header))
        self._pacer.set_rate(bps)

    @property
    def padded(self) -> int:
        """Padding packets sent so far."""
        return self._pacer.sent if self._pacer is not None else 0

    def send_padding(self, count: int) -> int:
        """Send ``count`` padding-only RTX packets now; how many went out."""
        rtx = self._rtx
        if rtx is None or self._dtls._state is not _CONNECTED or not self._resolve():
            return 0
        if self.backlog > MAX_BACKLOG_BYTES:
            return 0
        ts = int(self._sender._RTCRtpSender__rtp_timestamp)
        for _ in range(count):
            self._write_protected(rtx.padding(ts))
        return count
