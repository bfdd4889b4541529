"""Clip windows around product pins: where each automatic clip starts and ends.

Pure media-time math, shared by the processing job (which plans a recording's clips once
its duration and keyframes are known) and the content feature (pins, hand cuts). A pin at
media time ``t`` asks for a clip from ``t - before`` to ``t + after`` (5 s and 25 s by
default), clamped to the recording. When a pin falls inside the previous pin's window the
two are merged into one clip tagged with both products (never longer than ``max_len``).
Starts are then snapped to a keyframe so that a stream-copy cut begins with a decodable
picture.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

DEFAULT_BEFORE_S = 5.0
DEFAULT_AFTER_S = 25.0
DEFAULT_MAX_LEN_S = 60.0
DEFAULT_MIN_LEN_S = 2.0
MAX_CLIPS_PER_PRODUCT = 3
MAX_MANUAL_CLIP_S = 180.0


@dataclass(frozen=True, slots=True)
class PinMark:
    """A product pin as the clip planner sees it (media times in seconds)."""

    pin_id: int
    product_id: int
    media_time: float


@dataclass(frozen=True, slots=True)
class ClipWindow:
    """One planned clip: [start, end) in recording media time, with its tags."""

    start: float
    end: float
    anchor: float
    product_ids: tuple[int, ...] = field(default=())
    pin_ids: tuple[int, ...] = field(default=())

    @property
    def duration(self) -> float:
        """Length of the window in seconds."""
        return self.end - self.start


def _merge_tags(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    out = list(a)
    for item in b:
        if item not in out:
            out.append(item)
    return tuple(out)


def plan_clip_windows(
    pins: Sequence[PinMark],
    duration: float,
    *,
    before: float = DEFAULT_BEFORE_S,
    after: float = DEFAULT_AFTER_S,
    max_len: float = DEFAULT_MAX_LEN_S,
    min_len: float = DEFAULT_MIN_LEN_S,
    max_per_product: int = MAX_CLIPS_PER_PRODUCT,
) -> list[ClipWindow]:
    """Plan one clip per pin, clamped to ``[0, duration]``, merged when pins overlap.

    Pins outside the recording are ignored, a product gets at most ``max_per_product``
    clips (earliest pins win), and windows shorter than ``min_len`` after clamping
    are dropped.
    """
    if duration <= 0:
        return []
    per_product: dict[int, int] = {}
    raw: list[ClipWindow] = []
    for pin in sorted(pins, key=lambda p: (p.media_time, p.pin_id)):
        if pin.media_time < 0 or pin.media_time > duration:
            continue
        used = per_product.get(pin.product_id, 0)
        if used >= max_per_product:
            continue
        per_product[pin.product_id] = used + 1
        start = max(0.0, pin.media_time - before)
        end = min(duration, pin.media_time + after)
        raw.append(ClipWindow(start, end, pin.media_time, (pin.product_id,), (pin.pin_id,)))

    merged: list[ClipWindow] = []
    for win in raw:
        if merged:
            last = merged[-1]
            # Pins overlap when the new pin's moment is already inside the previous
            # clip: one clip then shows both products. Windows that only touch stay
            # separate clips (a little shared footage is fine for standalone shorts).
            if win.anchor < last.end:
                merged[-1] = ClipWindow(
                    last.start,
                    min(max(last.end, win.end), last.start + max_len),
                    last.anchor,
                    _merge_tags(last.product_ids, win.product_ids),
                    _merge_tags(last.pin_ids, win.pin_ids),
                )
                continue
        merged.append(win)
    return [w for w in merged if w.duration >= min_len]


def snap_start(
    start: float, anchor: float, keyframes: Sequence[float], max_lead: float = 3.0
) -> float:
    """Pick the keyframe a cut starting near ``start`` should begin at.

    ``keyframes`` must be sorted. The keyframe at or before ``start`` is preferred
    when it is at most ``max_lead`` seconds earlier; otherwise the first keyframe
    after ``start`` that is still at or before the ``anchor`` (the pin) is used, so
    the pinned moment is always in the clip. Falls back to the earlier keyframe.
    """
    if not keyframes:
        return start
    idx = bisect.bisect_right(keyframes, start + 1e-6) - 1
    before = keyframes[idx] if idx >= 0 else None
    if before is not None and start - before <= max_lead:
        return before
    nxt = keyframes[idx + 1] if idx + 1 < len(keyframes) else None
    if nxt is not None and nxt <= anchor:
        return nxt
    if before is not None:
        return before
    return keyframes[0] if keyframes[0] <= anchor else start


def snap_windows(windows: Sequence[ClipWindow], keyframes: Sequence[float]) -> list[ClipWindow]:
    """Snap each window's start to a keyframe (see :func:`snap_start`)."""
    out: list[ClipWindow] = []
    for win in windows:
        start = snap_start(win.start, win.anchor, keyframes)
        out.append(ClipWindow(start, win.end, win.anchor, win.product_ids, win.pin_ids))
    return out


def validate_manual_window(start: float, end: float, duration: float) -> ClipWindow:
    """Check a moderator's hand-cut window; raises ``ValueError`` with a reason."""
    if not (start == start and end == end):  # NaN guard
        raise ValueError("start and end must be numbers")
    if start < 0 or end <= start:
        raise ValueError("end must be after start and start must be >= 0")
    if start >= duration:
        raise ValueError("start is past the end of the recording")
    end = min(end, duration)
    if end - start < DEFAULT_MIN_LEN_S:
        raise ValueError(f"a clip must last at least {DEFAULT_MIN_LEN_S:g} s")
    if end - start > MAX_MANUAL_CLIP_S:
        raise ValueError(f"a clip may last at most {MAX_MANUAL_CLIP_S:g} s")
    return ClipWindow(start, end, start)
