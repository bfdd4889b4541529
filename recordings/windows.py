"""Clip windows around product pins: where each automatic clip starts and ends.

Pure media-time math, shared by the processing job (which plans a recording's clips once
its duration and keyframes are known) and the content feature (pins, hand cuts). Every
pin at media time ``t`` gets a clip of its own, from ``t - before`` to ``t + after`` (5 s
and 25 s by default), clamped to the recording; clips of pins close together overlap.
A clip is tagged with the product it was made for first, then with the other products
that were pinned while it plays. Starts are then snapped to a keyframe at most ``before``
seconds ahead of the pin, so that a stream-copy cut begins with a decodable picture.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

DEFAULT_BEFORE_S = 5.0
DEFAULT_AFTER_S = 25.0
DEFAULT_MIN_LEN_S = 2.0
MAX_CLIPS_PER_PRODUCT = 3
MAX_MANUAL_CLIP_S = 180.0
SNAP_SLACK_S = 1e-3


@dataclass(frozen=True, slots=True)
class PinMark:
    """A product pin as the clip planner sees it (media times in seconds).

    ``until`` is when the card was taken down; None means it stayed up to the end.
    """

    pin_id: int
    product_id: int
    media_time: float
    until: float | None = None


@dataclass(frozen=True, slots=True)
class ClipWindow:
    """One planned clip: [start, end) in recording media time, with its tags.

    ``product_ids[0]`` is the product the clip was made for (its pin is ``anchor``);
    the others were on screen during the clip, in the order they were pinned.
    """

    start: float
    end: float
    anchor: float
    product_ids: tuple[int, ...] = field(default=())
    pin_ids: tuple[int, ...] = field(default=())

    @property
    def duration(self) -> float:
        """Length of the window in seconds."""
        return self.end - self.start


def _shown_during(pins: Sequence[PinMark], start: float, end: float, primary: int) -> list[int]:
    """Products other than ``primary`` whose card was up at some moment of [start, end)."""
    out: list[int] = []
    for pin in pins:
        until = pin.until if pin.until is not None else float("inf")
        if pin.product_id == primary or pin.product_id in out:
            continue
        if pin.media_time < end and max(until, pin.media_time) > start:
            out.append(pin.product_id)
    return out


def plan_clip_windows(
    pins: Sequence[PinMark],
    duration: float,
    *,
    before: float = DEFAULT_BEFORE_S,
    after: float = DEFAULT_AFTER_S,
    min_len: float = DEFAULT_MIN_LEN_S,
    max_per_product: int = MAX_CLIPS_PER_PRODUCT,
) -> list[ClipWindow]:
    """Plan one clip per pin, clamped to ``[0, duration]``, in pin order.

    Pins outside the recording are ignored; a product pinned again while its own clip
    still runs gets no second clip (it is already in it); a product gets at most
    ``max_per_product`` clips (earliest pins win); windows shorter than ``min_len``
    after clamping are dropped.
    """
    if duration <= 0:
        return []
    ordered = [
        p
        for p in sorted(pins, key=lambda p: (p.media_time, p.pin_id))
        if 0 <= p.media_time <= duration
    ]
    per_product: dict[int, int] = {}
    out: list[ClipWindow] = []
    for pin in ordered:
        if any(
            w.product_ids[0] == pin.product_id and w.start <= pin.media_time < w.end for w in out
        ):
            continue
        used = per_product.get(pin.product_id, 0)
        if used >= max_per_product:
            continue
        start = max(0.0, pin.media_time - before)
        end = min(duration, pin.media_time + after)
        if end - start < min_len:
            continue
        per_product[pin.product_id] = used + 1
        others = _shown_during(ordered, start, end, pin.product_id)
        out.append(ClipWindow(start, end, pin.media_time, (pin.product_id, *others), (pin.pin_id,)))
    return out


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
    """Snap each window's start to the first keyframe at or after it that is still at or
    before its pin, so a clip never starts more than its planned lead before the pin.

    Only when no keyframe falls in that span (a sender with a long keyframe interval)
    does the cut start at the keyframe before, so the pinned moment stays in the clip.
    """
    out: list[ClipWindow] = []
    for win in windows:
        start = snap_start(win.start, win.anchor, keyframes, max_lead=SNAP_SLACK_S)
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
