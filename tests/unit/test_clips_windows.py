"""Clip window planning: pin windows, clamping, merging, per-product cap, keyframe snaps."""

from __future__ import annotations

import pytest

from recordings.windows import (
    ClipWindow,
    PinMark,
    plan_clip_windows,
    snap_start,
    snap_windows,
    validate_manual_window,
)


def test_three_separate_pins_make_three_clamped_windows() -> None:
    pins = [PinMark(1, 10, 4.0), PinMark(2, 11, 30.0), PinMark(3, 12, 56.0)]
    wins = plan_clip_windows(pins, 60.0)
    assert [(w.start, w.end, w.product_ids) for w in wins] == [
        (0.0, 29.0, (10,)),
        (25.0, 55.0, (11,)),
        (51.0, 60.0, (12,)),
    ]


def test_pin_inside_previous_window_merges_and_tags_both_products() -> None:
    pins = [PinMark(1, 10, 10.0), PinMark(2, 11, 20.0), PinMark(3, 10, 22.0)]
    (win,) = plan_clip_windows(pins, 600.0)
    assert (win.start, win.end) == (5.0, 47.0)
    assert win.product_ids == (10, 11)
    assert win.pin_ids == (1, 2, 3)


def test_merged_window_never_exceeds_max_len() -> None:
    pins = [PinMark(i, i, 10.0 + 20 * i) for i in range(6)]
    wins = plan_clip_windows(pins, 1000.0, max_len=60.0)
    assert all(w.duration <= 60.0 for w in wins)
    assert sorted(p for w in wins for p in w.pin_ids) == list(range(6))


def test_pins_outside_recording_ignored_and_cap_per_product() -> None:
    pins = [PinMark(1, 5, -1.0), PinMark(2, 5, 99.0)] + [
        PinMark(10 + i, 7, 40.0 * i) for i in range(5)
    ]
    wins = plan_clip_windows(pins, 90.0)
    assert all(w.product_ids == (7,) for w in wins)
    assert len(wins) == 3  # up to three clips per product, earliest pins first
    assert plan_clip_windows(pins, 0.0) == []


def test_window_too_short_after_clamping_is_dropped() -> None:
    assert plan_clip_windows([PinMark(1, 1, 10.0)], 10.5, min_len=6.0) == []


def test_snap_prefers_close_earlier_keyframe_then_later_one_before_pin() -> None:
    kf = [0.0, 10.0, 20.0, 30.0]
    assert snap_start(11.5, 16.5, kf) == 10.0  # 1.5 s lead is fine
    assert snap_start(15.0, 20.0, kf) == 20.0  # 5 s lead is not: the next keyframe <= pin
    assert snap_start(15.0, 18.0, kf) == 10.0  # next keyframe is after the pin: keep it in
    assert snap_start(5.0, 10.0, []) == 5.0
    snapped = snap_windows([ClipWindow(11.5, 41.5, 16.5)], kf)
    assert snapped[0].start == 10.0 and snapped[0].end == 41.5


@pytest.mark.parametrize(
    ("start", "end"),
    [(-1.0, 5.0), (5.0, 5.0), (1070.0, 1080.0), (1.0, 2.0), (0.0, 500.0), (float("nan"), 3.0)],
)
def test_manual_window_rejects_bad_ranges(start: float, end: float) -> None:
    with pytest.raises(ValueError):
        validate_manual_window(start, end, 1000.0)


def test_manual_window_clamps_end() -> None:
    win = validate_manual_window(50.0, 90.0, 60.0)
    assert (win.start, win.end) == (50.0, 60.0)
