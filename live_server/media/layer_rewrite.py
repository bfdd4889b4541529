"""One continuous RTP stream for a viewer whose simulcast layer changes (pure, no I/O).

Issue 16 part 4 gives each viewer one layer and moves it between layers at keyframes. The
viewer must see one stream all along: one SSRC (the viewer's own, chosen by its sender),
sequence numbers that go on by one, timestamps that go on by about the time that passed,
and for VP8 a picture ID that goes on by one (libwebrtc's VP8 receiver reads a jump in it as
lost frames). Each layer has its own numbering; ``LayerRewriter`` maps a packet's numbers
from its layer onto the viewer's stream:

- While on a layer, every number is the layer's own plus a fixed offset (so retransmitted
  and reordered packets map consistently; wraps are modular).
- ``switch_to(rid)`` arms a switch; the new layer's numbering takes over at its next
  keyframe's first packet (``rewrite(..., frame_start=True, keyframe=True)``): its sequence
  number follows the last one sent, its timestamp the last one plus the wall-clock time
  since (at the clock rate, at least one tick), its picture ID the last one plus one.
- Packets of any other layer, and of the new one before its keyframe, are not for this
  viewer (``None``).

The fan-out does not use it: each viewer's sender numbers its own packets and
``ViewerTrack.ts_shift`` keeps its timestamps going (docs/media.md, "A layer per viewer").
"""

from __future__ import annotations

from dataclasses import dataclass

SEQ_BITS = 16
TIMESTAMP_BITS = 32
PICTURE_ID_BITS = 15  # VP8's long picture ID (the short 7-bit form is widened by the caller)


class _Continuity:
    """One modular counter carried across sources: ``map`` adds the current source's offset."""

    def __init__(self, bits: int, start: int | None = None) -> None:
        self._mask = (1 << bits) - 1
        self._start = start
        self._offset = 0
        self.last: int | None = None  # the highest value sent (modular order)

    def rebase(self, value: int, step: int) -> None:
        """Make ``value`` of a new source map to ``last + step`` (at the very start: to
        ``start``, or to itself without one)."""
        if self.last is None:
            target = value if self._start is None else self._start & self._mask
        else:
            target = (self.last + step) & self._mask
        self._offset = (target - value) & self._mask

    def map(self, value: int) -> int:
        out = (value + self._offset) & self._mask
        if self.last is None or self._newer(out, self.last):
            self.last = out
        return out

    def _newer(self, a: int, b: int) -> bool:
        half = (self._mask + 1) >> 1
        return a != b and ((a - b) & self._mask) < half


@dataclass(frozen=True)
class Rewritten:
    """A packet's numbers on the viewer's stream."""

    sequence_number: int
    timestamp: int
    picture_id: int | None


class LayerRewriter:
    """Maps each layer's RTP numbering onto one viewer's stream (see the module docstring)."""

    def __init__(
        self,
        clock_rate: int = 90000,
        first_sequence_number: int | None = None,
        first_timestamp: int | None = None,
    ) -> None:
        """``first_*``: where the viewer's stream starts (the sender's own random origin);
        without them the first layer's numbers pass through unchanged."""
        self._clock_rate = clock_rate
        self._seq = _Continuity(SEQ_BITS, first_sequence_number)
        self._ts = _Continuity(TIMESTAMP_BITS, first_timestamp)
        self._pid = _Continuity(PICTURE_ID_BITS)
        self.current: str | None = None
        self.pending: str | None = None
        self._last_sent_at: float | None = None
        self.switches = 0

    def switch_to(self, rid: str) -> None:
        """Move to ``rid`` at its next keyframe (a no-op when already on it)."""
        self.pending = None if rid == self.current else rid

    def rewrite(
        self,
        rid: str,
        sequence_number: int,
        timestamp: int,
        now: float,
        frame_start: bool = False,
        keyframe: bool = False,
        picture_id: int | None = None,
    ) -> Rewritten | None:
        """The viewer's numbers for one packet of ``rid``; None when it is not for them.

        ``frame_start``/``keyframe``: the packet starts a frame / that frame is a keyframe;
        ``picture_id``: the VP8 picture ID of its frame, if any; ``now``: arrival time (s).
        """
        start_here = keyframe and frame_start
        # a switch (or the very first layer, when none was asked for) starts at a keyframe
        if start_here and (rid == self.pending or (self.current is None and self.pending is None)):
            self._rebase(sequence_number, timestamp, picture_id, now)
            self.current, self.pending = rid, None
            self.switches += 1
        elif rid != self.current:
            return None
        self._last_sent_at = now
        return Rewritten(
            sequence_number=self._seq.map(sequence_number),
            timestamp=self._ts.map(timestamp),
            picture_id=self._pid.map(picture_id) if picture_id is not None else None,
        )

    def _rebase(self, seq: int, ts: int, picture_id: int | None, now: float) -> None:
        elapsed = now - self._last_sent_at if self._last_sent_at is not None else 0.0
        self._seq.rebase(seq, 1)
        self._ts.rebase(ts, max(1, round(elapsed * self._clock_rate)))
        if picture_id is not None:
            self._pid.rebase(picture_id, 1)
