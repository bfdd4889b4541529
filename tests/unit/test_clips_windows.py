"""Clip window planning: a clip per pin, tags, clamping, per-product cap, keyframe snaps."""

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
    pins = [PinMark(1, 10, 4.0, 24.0), PinMark(2, 11, 30.0, 50.0), PinMark(3, 12, 56.0, 60.0)]
    wins = plan_clip_windows(pins, 60.0)
    assert [(w.start, w.end, w.product_ids) for w in wins] == [
        (0.0, 29.0, (10,)),
        (25.0, 55.0, (11,)),
        (51.0, 60.0, (12,)),
    ]


def test_pins_close_together_get_a_clip_each_tagged_with_their_own_product_first() -> None:
    pins = [PinMark(1, 10, 10.0, until=18.0), PinMark(2, 11, 20.0, until=30.0)]
    first, second = plan_clip_windows(pins, 600.0)
    assert (first.start, first.end, first.anchor) == (5.0, 35.0, 10.0)
    assert (second.start, second.end, second.anchor) == (15.0, 45.0, 20.0)
    # each is made for its own pin; the other product was on screen during it
    assert first.product_ids == (10, 11) and first.pin_ids == (1,)
    assert second.product_ids == (11, 10) and second.pin_ids == (2,)


def test_a_product_not_on_screen_during_a_clip_is_not_listed() -> None:
    pins = [PinMark(1, 10, 10.0, until=12.0), PinMark(2, 11, 40.0, until=50.0)]
    first, second = plan_clip_windows(pins, 600.0)
    assert first.product_ids == (10,)  # 11 comes up at 40 s, after this clip (5-35 s)
    assert second.product_ids == (11,)  # 10 came down at 12 s, before this one (35-65 s)
    still_up = plan_clip_windows([PinMark(1, 10, 10.0), PinMark(2, 11, 40.0)], 600.0)
    assert still_up[1].product_ids == (11, 10)  # never taken down: up to the end


def test_a_product_pinned_again_inside_its_own_clip_gets_no_second_clip() -> None:
    pins = [PinMark(1, 10, 10.0), PinMark(2, 11, 20.0), PinMark(3, 10, 22.0)]
    wins = plan_clip_windows(pins, 600.0)
    assert [(w.anchor, w.product_ids[0]) for w in wins] == [(10.0, 10), (20.0, 11)]


def test_many_pins_make_as_many_clips_of_full_length() -> None:
    pins = [PinMark(i, i, 10.0 + 20 * i) for i in range(6)]
    wins = plan_clip_windows(pins, 1000.0)
    assert [w.pin_ids for w in wins] == [(i,) for i in range(6)]
    assert all(w.duration == 30.0 for w in wins)


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


def test_snapped_clips_start_at_most_their_lead_before_the_pin() -> None:
    kf = [0.0, 10.0, 12.0, 20.0, 30.0]
    win = [ClipWindow(11.5, 41.5, 16.5), ClipWindow(25.0, 55.0, 30.0), ClipWindow(5.0, 35, 8.0)]
    snapped = snap_windows(win, kf)
    assert [(w.start, w.end) for w in snapped] == [(12.0, 41.5), (30.0, 55.0), (0.0, 35)]
    # the last one: no keyframe between 5 s and its pin at 8 s, so the one before is used


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
