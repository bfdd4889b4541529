"""The per-frame send loop in Python: the fallback twin of ``live_server.media.native._fanout``.

``send_frame(payloads, timestamp, ntp, states)`` sends one frame to every viewer in
``states`` and returns one status byte per viewer. For each viewer it writes the RTP
header from that viewer's template (built by aiortc's serialiser, see
``fastpath._header_template``), protects the packet with the DTLS transport's pylibsrtp
session, keeps the payload in a 128-packet history for NACKs, sends the datagrams (runs of
equal-sized ones as one UDP GSO send), and updates the counters aiortc's RTCP sender
reports and stats read. A viewer moved to another simulcast layer has its VP8 picture IDs
shifted too (``pid_shift``, see ``shift_picture_id``). The C module does exactly the same,
packet for packet (the tests compare the two); this one also sends through a socket-less
transport (TURN).
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import sys
from typing import Any

logger = logging.getLogger(__name__)

SENT = 0
NOT_CONNECTED = 1
WOULD_BLOCK = 2
PROTECT_FAILED = 3

HISTORY_SIZE = 128  # aiortc.rtp.RTP_HISTORY_SIZE
_HISTORY_MASK = HISTORY_SIZE - 1
_SEQ_TS = struct.Struct("!BHI")  # byte 1 (marker | payload type), sequence number, timestamp
_ABS = struct.Struct("!I")
_GSO_SIZE = struct.Struct("=H")
_SOL_UDP = 17
_UDP_SEGMENT = getattr(socket, "UDP_SEGMENT", 103)  # Linux >= 4.18 (linux/udp.h)
GSO_MAX_SEGMENTS = 64  # UDP_MAX_SEGMENTS on older kernels
GSO_MAX_BYTES = 65000

Entry = tuple[int, int, int, bytes]  # sequence number, RTP timestamp, marker (0x80/0), payload
PICTURE_ID_MASK = 0x7FFF  # VP8's long (15-bit) picture ID


def picture_id(payload: bytes) -> int | None:
    """The 15-bit picture ID of a VP8 payload descriptor (RFC 7741: X, I and M bits set,
    the only form aiortc's packetiser writes), else None."""
    if len(payload) < 4 or not (payload[0] & payload[1] & payload[2] & 0x80):
        return None
    return ((payload[2] & 0x7F) << 8) | payload[3]


def shift_picture_id(payload: bytes, shift: int) -> bytes:
    """``payload`` with its VP8 picture ID moved by ``shift`` (modulo 2^15); any other
    payload, or a zero shift, as it is."""
    pid = picture_id(payload) if shift else None
    if pid is None:
        return payload
    pid = (pid + shift) & PICTURE_ID_MASK
    return payload[:2] + bytes((0x80 | (pid >> 8), pid & 0xFF)) + payload[4:]


class SendState:
    """One viewer's RTP send state (the same constructor and members as the C type)."""

    def __init__(
        self,
        header: bytes,
        abs_at: int,
        payload_type: int,
        seq: int,
        ts_origin: int,
        session: Any,
        srtp: int,
        sender: Any,
        dtls: Any,
    ) -> None:
        del srtp  # the C twin's srtp_t; here the session's own protect() is used
        self._header = bytearray(header)
        self._abs_at = abs_at if abs_at > 0 else -1
        self._abs_top = (header[abs_at - 1] << 24) if abs_at > 0 else 0
        self._payload_type = payload_type
        self.seq = seq & 0xFFFF
        self.ts_origin = ts_origin & 0xFFFFFFFF  # the history keeps each packet's own ts
        self._pid_shift = 0
        self._protect = session.protect
        self._sender = sender
        self._dtls = dtls
        self._raw: socket.socket | None = None
        self._transport: Any = None
        self._addr: tuple[str, int] | None = None
        self.gso = sys.platform == "linux"
        self.packets_sent = 0
        self.gso_sends = 0
        self._history: list[Entry | None] = [None] * HISTORY_SIZE

    @property
    def pid_shift(self) -> int:
        """Added to VP8 picture IDs, modulo 2^15 (the history keeps each packet's own)."""
        return self._pid_shift

    @pid_shift.setter
    def pid_shift(self, value: int) -> None:
        self._pid_shift = value & PICTURE_ID_MASK

    @property
    def fd(self) -> int:
        """The socket descriptor datagrams leave from (-1: none, or a transport)."""
        return self._raw.fileno() if self._raw is not None else -1

    def set_destination(self, fd: int, host: str, port: int) -> None:
        """Send from (a duplicate of) socket ``fd`` to ``(host, port)``; ``fd`` -1: nowhere;
        ``host`` "": ``fd`` is connected."""
        self._close_raw()
        self._transport = None
        if fd >= 0:
            self._raw = socket.socket(fileno=os.dup(fd))
            self._addr = (host, port) if host else None

    def set_transport(self, transport: Any, addr: tuple[str, int]) -> None:
        """Send through an asyncio datagram transport (buffers instead of blocking)."""
        self._close_raw()
        self._transport = transport
        self._addr = addr

    def entry(self, seq: int) -> Entry | None:
        """The history's packet with sequence number ``seq``, if still kept."""
        entry = self._history[seq & _HISTORY_MASK]
        return entry if entry is not None and entry[0] == seq else None

    def close(self) -> None:
        """Forget the destination and the history."""
        self._close_raw()
        self._transport = None
        self._history = [None] * HISTORY_SIZE

    def _close_raw(self) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            raw.close()

    def send(self, payloads: list[bytes], timestamp: int, ntp: int) -> int:
        """Protect and send one frame; a status."""
        if self._raw is None and self._transport is None:
            return NOT_CONNECTED
        header = self._header
        ts = (self.ts_origin + timestamp) & 0xFFFFFFFF
        if self._abs_at > 0:
            _ABS.pack_into(header, self._abs_at - 1, self._abs_top | ((ntp >> 14) & 0xFFFFFF))
        protect = self._protect
        pt = self._payload_type
        seq = self.seq
        last = len(payloads) - 1
        if self._pid_shift:
            payloads = [shift_picture_id(p, self._pid_shift) for p in payloads]
        out: list[bytes] = []
        try:
            for i, payload in enumerate(payloads):
                _SEQ_TS.pack_into(header, 1, (0x80 if i == last else 0) | pt, seq, ts)
                out.append(protect(bytes(header) + payload))
                seq = (seq + 1) & 0xFFFF
        except Exception as exc:
            logger.warning("SRTP protect failed: %r", exc)
            return PROTECT_FAILED
        status = self._write(out)
        history = self._history
        seq = self.seq
        octets = 0
        for i, payload in enumerate(payloads):
            history[seq & _HISTORY_MASK] = (seq, ts, 0x80 if i == last else 0, payload)
            seq = (seq + 1) & 0xFFFF
            octets += len(payload)
        self.seq = seq
        count = len(payloads)
        self.packets_sent += count
        s = self._sender
        s._RTCRtpSender__ntp_timestamp = ntp
        s._RTCRtpSender__rtp_timestamp = ts
        s._RTCRtpSender__octet_count += octets
        s._RTCRtpSender__packet_count += count
        dtls = self._dtls
        dtls._RTCDtlsTransport__tx_bytes += sum(len(d) for d in out)
        dtls._RTCDtlsTransport__tx_packets += count
        return status

    def _write(self, out: list[bytes]) -> int:
        raw = self._raw
        addr = self._addr
        if raw is None:  # a transport (e.g. TURN): it buffers
            for datagram in out:
                self._transport.sendto(datagram, addr)
            return SENT
        n = len(out)
        i = 0
        try:
            while i < n:
                size = len(out[i])
                j = i + 1
                if self.gso:
                    limit = i + min(GSO_MAX_SEGMENTS, GSO_MAX_BYTES // size)
                    while j < n and j < limit and len(out[j]) == size:
                        j += 1
                    if j < n and j < limit and len(out[j]) < size:
                        j += 1  # a shorter datagram may end a GSO batch
                if j - i == 1:
                    if addr is None:
                        raw.send(out[i])
                    else:
                        raw.sendto(out[i], addr)
                else:
                    try:
                        gso = [(_SOL_UDP, _UDP_SEGMENT, _GSO_SIZE.pack(size))]
                        data = [b"".join(out[i:j])]
                        if addr is None:
                            raw.sendmsg(data, gso)
                        else:
                            raw.sendmsg(data, gso, 0, addr)
                        self.gso_sends += 1
                    except BlockingIOError:
                        raise
                    except OSError as exc:
                        logger.info("UDP GSO unavailable (%r): one datagram per packet", exc)
                        self.gso = False
                        continue
                i = j
        except BlockingIOError:
            return WOULD_BLOCK
        except OSError as exc:  # like asyncio: an ICMP error on UDP is not fatal
            logger.debug("send failed: %r", exc)
        return SENT


def send_frame(payloads: list[bytes], timestamp: int, ntp: int, states: list[SendState]) -> bytes:
    """Send one frame to every viewer in ``states``: one status byte per viewer."""
    return bytes([state.send(payloads, timestamp, ntp) for state in states])
