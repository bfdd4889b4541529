"""Which of a simulcast host's layers feeds the show (pure rules, no I/O).

A simulcast host sends the same picture at several sizes, one RTP stream per rid. Until
viewers get a layer each (issue 16 part 4), everything downstream of the ingest (the
viewers' fan-out, the recording, replays and LL-HLS) takes one stream: the top layer, the
largest picture the host is sending right now. "Right now" matters: a browser starts
with its low layers while its bandwidth estimate grows, and drops its top layer when its
uplink or CPU cannot carry it.

``SourceChooser`` decides per incoming frame:

- Layers rank by the picture size their last keyframe declared, largest first; a layer
  whose size is not known yet ranks below the known ones, in the offer's order.
- A layer is *live* while its frames keep coming (a gap over ``stale_after_s`` ends it).
- The show's first source waits, up to ``start_wait_s`` from the first frame, until every
  expected layer is live: a browser's layers start within milliseconds of each other, and
  the first keyframe to arrive is often the smallest layer's. Starting on the top layer
  keeps the recording and the LL-HLS init segment at the show's real size.
- The target is the best-ranked live layer. A better layer than the current source must
  have been live for ``settle_s`` first, so a layer that flickers on and off does not pull
  the show up and down with it; layers that came up with the show (within ``settle_s`` of
  its first frame) are exempt, so the show starts on the top layer as soon as it arrives.
- The source changes only at a keyframe of the target: until that keyframe arrives the
  current source keeps flowing (if it still is) and the target is asked for a keyframe.
  Every switch is a clean start of a decodable picture for the viewers and the recorder.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

DEFAULT_STALE_AFTER_S = 1.0
DEFAULT_SETTLE_S = 1.0
DEFAULT_START_WAIT_S = 1.0


@dataclass
class LayerState:
    """What the ingest knows of one rid's stream."""

    rid: str
    order: int  # its place in the offer's a=simulcast line
    size: tuple[int, int] | None = None  # from its last keyframe
    last_frame_at: float | None = None
    live_since: float | None = None
    frames: int = 0
    keyframes: int = 0

    @property
    def pixels(self) -> int:
        """Width times height of its last keyframe (0 while unknown)."""
        return self.size[0] * self.size[1] if self.size else 0


@dataclass(frozen=True)
class Decision:
    """What to do with one incoming frame."""

    forward: bool  # hand it to the show's fan-out, recorder and LL-HLS
    switched: bool = False  # it is the first frame (a keyframe) of a new source layer
    keyframe_from: str | None = None  # ask this layer for a keyframe (throttled by the caller)


DROP = Decision(forward=False)
FORWARD = Decision(forward=True)


class SourceChooser:
    """Picks, frame by frame, the layer that feeds the show (see the module docstring)."""

    def __init__(
        self,
        rids: Sequence[str],
        stale_after_s: float = DEFAULT_STALE_AFTER_S,
        settle_s: float = DEFAULT_SETTLE_S,
        start_wait_s: float = DEFAULT_START_WAIT_S,
        expected: Collection[str] | None = None,
    ) -> None:
        """``expected``: the layers the first source waits for (default: all; a host's
        paused layers are not expected)."""
        if not rids:
            raise ValueError("a simulcast source needs at least one layer")
        self._layers = {rid: LayerState(rid, order) for order, rid in enumerate(rids)}
        self._stale_after_s = stale_after_s
        self._settle_s = settle_s
        self._start_wait_s = start_wait_s
        self._expected = [rid for rid in rids if expected is None or rid in expected]
        self.current: str | None = None
        self.switches = 0
        self._first_frame_at: float | None = None

    def layer(self, rid: str) -> LayerState | None:
        """The state of ``rid``'s layer (None for a rid the offer did not declare)."""
        return self._layers.get(rid)

    def ranked(self) -> list[LayerState]:
        """Every layer, best first: largest known picture, then the offer's order."""
        return sorted(self._layers.values(), key=lambda s: (s.size is None, -s.pixels, s.order))

    def is_live(self, state: LayerState, now: float) -> bool:
        """True while ``state``'s frames keep coming."""
        return state.last_frame_at is not None and now - state.last_frame_at <= self._stale_after_s

    def target(self, now: float) -> str | None:
        """The layer the show should be on (None while no layer is live)."""
        current = self._layers.get(self.current) if self.current else None
        current_live = current is not None and self.is_live(current, now)
        if self.current is None and self._still_starting(now):
            return None
        for state in self.ranked():
            if not self.is_live(state, now):
                continue
            if state is current or not current_live:
                return state.rid
            assert state.live_since is not None  # set with last_frame_at
            if now - state.live_since >= self._settle_s or self._came_up_with_show(state):
                return state.rid
            # a better layer that has not settled yet: keep looking (the current one is live)
        return self.current if current_live else None

    def _still_starting(self, now: float) -> bool:
        first = self._first_frame_at
        if first is None or now - first >= self._start_wait_s:
            return False
        return not all(self.is_live(self._layers[rid], now) for rid in self._expected)

    def _came_up_with_show(self, state: LayerState) -> bool:
        first = self._first_frame_at
        return (
            first is not None
            and state.live_since is not None
            and (state.live_since - first <= self._settle_s)
        )

    def on_frame(
        self, rid: str, keyframe: bool, size: tuple[int, int] | None, now: float
    ) -> Decision:
        """Note a frame of ``rid`` (``size``: what a keyframe declares) and say what to do."""
        state = self._layers.get(rid)
        if state is None:
            return DROP
        if self._first_frame_at is None:
            self._first_frame_at = now
        if not self.is_live(state, now):
            state.live_since = now
        state.last_frame_at = now
        state.frames += 1
        if keyframe:
            state.keyframes += 1
            if size is not None:
                state.size = size
        target = self.target(now)
        if rid == self.current:
            if target is None or target == rid:
                return FORWARD
            return Decision(forward=True, keyframe_from=target)
        if rid != target:
            return DROP
        if not keyframe:
            return Decision(forward=False, keyframe_from=rid)
        self.current = rid
        self.switches += 1
        return Decision(forward=True, switched=True)
