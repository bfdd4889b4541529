"""One viewer's RTX stream on the fast path: retransmissions and a probe's padding.

The RTX SSRC aiortc announced for a viewer's video carries two kinds of packets, sharing
one sequence counter:

- a retransmission of a NACKed packet (RFC 4588: the original sequence number, then the
  original payload), built by ``RtxStream.retransmission``;
- padding (``RtxStream.padding``): a packet with no payload and the RTP padding bit set,
  as libwebrtc sends to probe a link. A receiver counts its bytes towards its bandwidth
  estimate and reports the stream's loss in its receiver reports; it never reaches the
  decoder (aiortc drops an RTX packet shorter than 2 bytes of payload; libwebrtc drops
  padding-only packets).

``PaddingPacer`` sends padding at a bit rate in 20 ms steps while a layer probe runs
(``media/layer_choice.py``). Every packet carries the header template's extensions (MID,
abs-send-time with the send time: the receiver's estimator needs it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections.abc import Callable

from live_server.media.aiortc.ntp import fast_ntp_time

logger = logging.getLogger(__name__)

_SEQ_TS = struct.Struct("!BHI")
_WORD = struct.Struct("!I")
_OSN = struct.Struct("!H")
PADDING_BYTES = 255  # the most one packet can carry (its last byte counts them)
PACE_S = 0.02
MAX_PACKETS_PER_STEP = 200


class RtxStream:
    """The header template, payload type and sequence counter of a viewer's RTX SSRC."""

    def __init__(self, header: bytearray, abs_at: int, payload_type: int, seq: int) -> None:
        self._header = header
        self._abs_at = abs_at
        self.payload_type = payload_type
        self.seq = seq & 0xFFFF

    def _next_header(self, marker: int, timestamp: int, padding: bool) -> bytearray:
        header = bytearray(self._header)
        if padding:
            header[0] |= 0x20
        _SEQ_TS.pack_into(header, 1, marker | self.payload_type, self.seq, timestamp)
        if self._abs_at > 0:
            word = (header[self._abs_at - 1] << 24) | ((fast_ntp_time() >> 14) & 0xFFFFFF)
            _WORD.pack_into(header, self._abs_at - 1, word)
        self.seq = (self.seq + 1) & 0xFFFF
        return header

    def retransmission(self, seq: int, timestamp: int, marker: int, payload: bytes) -> bytes:
        """The RTX packet (unprotected) resending packet ``seq``."""
        header = self._next_header(marker, timestamp, padding=False)
        return bytes(header) + _OSN.pack(seq) + payload

    def padding(self, timestamp: int, size: int = PADDING_BYTES) -> bytes:
        """A padding-only RTX packet (unprotected) of ``size`` padding bytes (1-255)."""
        size = min(max(size, 1), PADDING_BYTES)
        header = self._next_header(0, timestamp, padding=True)
        return bytes(header) + bytes(size - 1) + bytes([size])


class PaddingPacer:
    """Calls ``send(count)`` every ``PACE_S`` with the number of padding packets due for
    the rate set by ``set_rate`` (bit/s; 0 stops). ``send`` returns how many went out."""

    def __init__(self, send: Callable[[int], int], packet_bytes: int) -> None:
        self._send = send
        self._packet_bits = packet_bytes * 8
        self._rate = 0.0
        self._task: asyncio.Task[None] | None = None
        self.sent = 0

    @property
    def rate(self) -> float:
        """The padding rate asked for now (bit/s)."""
        return self._rate

    def set_rate(self, bps: float) -> None:
        """Pad at ``bps`` from now on (0: stop)."""
        self._rate = max(0.0, bps)
        if self._rate > 0 and self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        due = 0.0
        last = time.monotonic()
        try:
            while self._rate > 0:
                await asyncio.sleep(PACE_S)
                now = time.monotonic()
                due += self._rate * (now - last) / self._packet_bits
                last = now
                count = min(int(due), MAX_PACKETS_PER_STEP)
                if count:
                    due -= count
                    self.sent += self._send(count)
                due = min(due, 1.0)  # a late step does not turn into a burst
        except Exception:  # padding must never take the viewer down
            logger.exception("padding failed")
        finally:
            self._task = None

    def close(self) -> None:
        """Stop padding at once."""
        self._rate = 0.0
        task, self._task = self._task, None
        if task is not None:
            with contextlib.suppress(RuntimeError):
                task.cancel()
