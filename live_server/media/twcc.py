"""Transport-wide congestion control feedback for a host's uplink (pure, no I/O).

A browser host estimates its own uplink (send-side bandwidth estimation, with probing)
when the receiver tells it when each packet arrived: every packet carries a transport-wide
sequence number (the ``transport-wide-cc`` header extension) and the receiver sends
transport-cc feedback (RTCP RTPFB, FMT 15; draft-holmer-rmcat-transport-wide-cc-
extensions-01) about every 100 ms. Without it the host goes by the receiver's REMB, and
aiortc's REMB never exceeds 1.5x what arrives: a Chromium host that dropped its top
simulcast layer may not get it back for a minute.

``TwccRecorder.on_packet`` notes each packet's sequence number and arrival time;
``build`` returns the next feedback packet (bytes, unprotected) for everything received
since the last one, or None. Encoding: two-bit status-vector chunks (seven packets each:
not received, received with a small delta, received with a large or negative delta),
receive deltas in 250 us units, the reference time in 64 ms units, RTCP padding to 32 bits.
"""

from __future__ import annotations

import struct

RTPFB = 205
FMT_TRANSPORT_CC = 15
URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
DELTA_US = 250
REFERENCE_US = 64_000
MAX_STATUS = 0xFFFF
NOT_RECEIVED, SMALL, LARGE = 0, 1, 2
MAX_KEPT = 4096  # packets remembered before the oldest are dropped unreported


class TwccRecorder:
    """The arrivals of one transport's packets, turned into transport-cc feedback."""

    def __init__(self, sender_ssrc: int) -> None:
        self.sender_ssrc = sender_ssrc & 0xFFFFFFFF
        self.media_ssrc = 0
        self._arrivals: dict[int, int] = {}  # unwrapped sequence number -> arrival (us)
        self._last16: int | None = None
        self._last: int = 0  # unwrapped
        self._next: int | None = None  # the first sequence number not reported yet
        self._count = 0  # feedback packets sent (8 bits on the wire)

    def on_packet(self, seq: int, arrival_us: int, ssrc: int = 0) -> None:
        """A packet with transport-wide sequence number ``seq`` arrived at ``arrival_us``."""
        seq &= 0xFFFF
        if self._last16 is None:
            unwrapped = seq
        else:
            step = (seq - self._last16) & 0xFFFF
            unwrapped = self._last + (step if step < 0x8000 else step - 0x10000)
        if self._last16 is None or unwrapped > self._last:
            self._last16, self._last = seq, unwrapped
        if self._next is not None and unwrapped < self._next:
            return  # reported as lost already (too late) or a duplicate
        self._arrivals.setdefault(unwrapped, arrival_us)
        if ssrc:
            self.media_ssrc = ssrc & 0xFFFFFFFF
        if len(self._arrivals) > MAX_KEPT:
            for old in sorted(self._arrivals)[: len(self._arrivals) - MAX_KEPT]:
                del self._arrivals[old]
            self._next = min(self._arrivals)

    def build(self) -> bytes | None:
        """The feedback for every packet since the last feedback, or None (nothing new)."""
        if not self._arrivals:
            return None
        received = sorted(self._arrivals)
        base = received[0] if self._next is None else self._next
        end = min(received[-1], base + MAX_STATUS - 1)
        first_arrival = self._arrivals[min(s for s in received if s >= base)]
        reference = first_arrival // REFERENCE_US
        symbols: list[int] = []
        deltas = bytearray()
        previous = reference * REFERENCE_US
        for seq in range(base, end + 1):
            arrival = self._arrivals.pop(seq, None)
            if arrival is None:
                symbols.append(NOT_RECEIVED)
                continue
            ticks = round((arrival - previous) / DELTA_US)
            if 0 <= ticks <= 0xFF:
                symbols.append(SMALL)
                deltas.append(ticks)
            else:
                ticks = max(-0x8000, min(0x7FFF, ticks))
                symbols.append(LARGE)
                deltas += struct.pack("!h", ticks)
            previous += ticks * DELTA_US
        self._next = end + 1
        chunks = bytearray()
        for i in range(0, len(symbols), 7):
            group = symbols[i : i + 7] + [NOT_RECEIVED] * (7 - len(symbols[i : i + 7]))
            word = 0xC000  # a status vector chunk of two-bit symbols
            for n, symbol in enumerate(group):
                word |= symbol << (12 - 2 * n)
            chunks += struct.pack("!H", word)
        body = (
            struct.pack(
                "!IIHHI",
                self.sender_ssrc,
                self.media_ssrc,
                base & 0xFFFF,
                len(symbols),
                ((reference & 0xFFFFFF) << 8) | (self._count & 0xFF),
            )
            + chunks
            + deltas
        )
        self._count += 1
        padding = (-(len(body) + 4)) % 4
        if padding:
            body += bytes(padding - 1) + bytes([padding])
        words = (len(body) + 4) // 4 - 1
        first = 0x80 | (0x20 if padding else 0) | FMT_TRANSPORT_CC
        return struct.pack("!BBH", first, RTPFB, words) + body


def parse_feedback(data: bytes) -> tuple[int, list[int | None]]:
    """A transport-cc feedback packet's base sequence number and, per packet from it,
    its arrival time in us relative to the reference time (None: not received). The
    decoder is written from the draft independently of the encoder, for the tests and
    for reading a browser's own feedback."""
    first, packet_type, words = struct.unpack_from("!BBH", data)
    if first >> 6 != 2 or packet_type != RTPFB or first & 0x1F != FMT_TRANSPORT_CC:
        raise ValueError("not a transport-cc feedback packet")
    size = (words + 1) * 4
    if len(data) < size:
        raise ValueError("truncated")
    if first & 0x20:
        size -= data[size - 1]
    base, count, reference_and_count = struct.unpack_from("!HHI", data, 12)
    reference = reference_and_count >> 8
    if reference & 0x800000:
        reference -= 1 << 24
    pos = 20
    statuses: list[int] = []
    while len(statuses) < count:
        (word,) = struct.unpack_from("!H", data, pos)
        pos += 2
        if not word & 0x8000:  # run length
            statuses += [(word >> 13) & 0x3] * (word & 0x1FFF)
        elif word & 0x4000:  # seven two-bit symbols
            statuses += [(word >> (12 - 2 * n)) & 0x3 for n in range(7)]
        else:  # fourteen one-bit symbols
            statuses += [(word >> (13 - n)) & 0x1 for n in range(14)]
    statuses = statuses[:count]
    times: list[int | None] = []
    now = reference * REFERENCE_US
    for status in statuses:
        if status == SMALL:
            now += data[pos] * DELTA_US
            pos += 1
        elif status == LARGE:
            (ticks,) = struct.unpack_from("!h", data, pos)
            now += ticks * DELTA_US
            pos += 2
        else:
            times.append(None)
            continue
        times.append(now)
    if pos > size:
        raise ValueError("deltas run past the packet")
    return base, times
