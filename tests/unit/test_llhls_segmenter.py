"""The LL-HLS cutting rules (recordings.llhls.segmenter) on synthetic sample times."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable

import pytest

from recordings.llhls.models import PackagerConfig
from recordings.llhls.segmenter import (
    VIDEO_STALL_S,
    Closed,
    ClosedPart,
    ClosedSegment,
    Segmenter,
)

DEFAULT = PackagerConfig()
# what live_server/hls configures: PART-TARGET 0.2 s, cut at 85 % of it
TIGHT = PackagerConfig(part_target_s=0.17, part_max_s=0.2, segment_target_s=2.0, segment_max_s=4.0)
AUDIO_S = 0.02


def run(
    segmenter: Segmenter, samples: Iterable[tuple[str, float, bool]], end_s: float
) -> list[Closed]:
    """Feed (kind, t, keyframe) samples; the closed parts and segments, then the finish."""
    out: list[Closed] = []
    for kind, t, key in samples:
        if kind == "video":
            out.extend(segmenter.video(t, key))
        else:
            out.extend(segmenter.audio(t, AUDIO_S))
    out.extend(segmenter.finish(end_s))
    return out


def show(
    seconds: float, fps: float = 30, keyframe_every_s: float | None = 2.0, audio: bool = True
) -> list[tuple[str, float, bool]]:
    """Video frames at ``fps`` (keyframes every ``keyframe_every_s``) and 20 ms audio, by time."""
    samples: list[tuple[str, float, bool]] = []
    next_key = 0.0
    for i in range(round(seconds * fps)):
        t = i / fps
        key = keyframe_every_s is not None and t >= next_key - 1e-9
        if key:
            next_key += keyframe_every_s or 0.0
        samples.append(("video", t, key or i == 0))
    if audio:
        samples += [("audio", i * AUDIO_S, True) for i in range(round(seconds / AUDIO_S))]
    samples.sort(key=lambda s: (s[1], s[0] == "audio"))
    return samples


def check_rules(closed: list[Closed], config: PackagerConfig) -> None:
    """Every promise the playlist makes about parts and segments."""
    parts = [c for c in closed if isinstance(c, ClosedPart)]
    segments = [c for c in closed if isinstance(c, ClosedSegment)]
    assert parts and segments
    assert [s.msn for s in segments] == list(range(len(segments)))
    assert isinstance(closed[-1], ClosedSegment)
    position = 0
    for segment in segments:
        mine = parts[position : position + segment.parts]
        position += segment.parts
        assert [p.msn for p in mine] == [segment.msn] * segment.parts
        assert [p.index for p in mine] == list(range(segment.parts))
        # the segment's end comes right after its last part
        assert closed.index(segment) == closed.index(mine[-1]) + 1
        assert segment.start_s == mine[0].start_s
        assert segment.duration_s == pytest.approx(sum(p.duration_s for p in mine), abs=1e-9)
        assert segment.duration_s <= config.segment_max_s + 1e-6
        for i, part in enumerate(mine):
            assert 0 < part.duration_s <= config.part_max_s + 1e-6, part
            last = i == len(mine) - 1
            if not last and not part.independent:
                assert part.duration_s >= 0.85 * config.part_target_s - 1e-6, part
    assert position == len(parts)
    for before, after in itertools.pairwise(parts):
        assert after.start_s == pytest.approx(before.start_s + before.duration_s, abs=1e-9)


def test_steady_30fps_with_keyframes_every_2s() -> None:
    closed = run(Segmenter(DEFAULT, video=True), show(8), end_s=8.0)
    check_rules(closed, DEFAULT)
    segments = [c for c in closed if isinstance(c, ClosedSegment)]
    parts = [c for c in closed if isinstance(c, ClosedPart)]
    assert [round(s.start_s, 6) for s in segments] == [0, 2, 4, 6]
    assert all(s.duration_s == pytest.approx(2.0) and s.parts == 10 for s in segments)
    assert all(p.duration_s == pytest.approx(0.2) for p in parts)
    assert [p.independent for p in parts] == [p.index == 0 for p in parts]


def test_a_segment_waits_for_its_keyframe_and_its_last_part_may_be_short() -> None:
    closed = run(Segmenter(DEFAULT, video=True), show(10, keyframe_every_s=2.5), end_s=10.0)
    check_rules(closed, DEFAULT)
    segments = [c for c in closed if isinstance(c, ClosedSegment)]
    assert [round(s.start_s, 3) for s in segments] == [0, 2.5, 5.0, 7.5]
    first = [c for c in closed if isinstance(c, ClosedPart) and c.msn == 0]
    assert first[-1].duration_s == pytest.approx(0.1)  # 2.4 -> 2.5, the segment's last


def test_without_keyframes_a_segment_is_closed_before_segment_max() -> None:
    closed = run(Segmenter(DEFAULT, video=True), show(12, keyframe_every_s=None), end_s=12.0)
    check_rules(closed, DEFAULT)
    segments = [c for c in closed if isinstance(c, ClosedSegment)]
    assert all(s.duration_s <= DEFAULT.segment_max_s for s in segments)
    assert segments[0].duration_s > DEFAULT.segment_max_s - 0.2
    starts = [c for c in closed if isinstance(c, ClosedPart) and c.index == 0]
    assert [p.independent for p in starts] == [True] + [False] * (len(starts) - 1)


@pytest.mark.parametrize("fps", [10, 12, 15, 24, 25, 29.97, 30, 60])
def test_frame_rates_keep_parts_between_85_percent_and_the_max(fps: float) -> None:
    closed = run(Segmenter(DEFAULT, video=True), show(9, fps=fps), end_s=9.0)
    check_rules(closed, DEFAULT)


@pytest.mark.parametrize("fps", [25, 30, 60])
def test_the_http_tiers_tight_config(fps: float) -> None:
    closed = run(Segmenter(TIGHT, video=True), show(9, fps=fps), end_s=9.0)
    check_rules(closed, TIGHT)


@pytest.mark.parametrize("seed", range(5))
def test_jittery_frame_times_keep_every_rule(seed: int) -> None:
    rng = random.Random(seed)
    samples: list[tuple[str, float, bool]] = []
    t, next_key = 0.0, 0.0
    while t < 10:
        key = t >= next_key
        if key:
            next_key += rng.uniform(1.8, 2.6)
        samples.append(("video", t, key))
        t += rng.uniform(1 / 60, 1 / 10)  # anything from 60 down to 10 fps
    samples += [("audio", i * AUDIO_S + rng.uniform(0, 0.015), True) for i in range(500)]
    samples.sort(key=lambda s: s[1])
    check_rules(run(Segmenter(DEFAULT, video=True), samples, end_s=10.0), DEFAULT)


def test_audio_never_cuts_while_video_flows() -> None:
    segmenter = Segmenter(DEFAULT, video=True)
    assert segmenter.audio(0.0, AUDIO_S) == []  # no part before the first video frame
    assert not segmenter.started
    closed = run(segmenter, show(4), end_s=4.0)
    parts = [c for c in closed if isinstance(c, ClosedPart)]
    # every part starts on a video frame time (multiples of 1/30 s)
    assert all(abs(p.start_s * 30 - round(p.start_s * 30)) < 1e-6 for p in parts)


def test_audio_only_show_is_cut_by_audio_and_every_part_is_independent() -> None:
    samples = [("audio", i * AUDIO_S, True) for i in range(350)]
    closed = run(Segmenter(DEFAULT, video=False), samples, end_s=7.0)
    check_rules(closed, DEFAULT)
    parts = [c for c in closed if isinstance(c, ClosedPart)]
    segments = [c for c in closed if isinstance(c, ClosedSegment)]
    assert all(p.independent for p in parts)
    assert [s.duration_s for s in segments] == pytest.approx([2.0, 2.0, 2.0, 1.0])
    assert all(p.duration_s == pytest.approx(0.2) for p in parts)


def test_a_video_stall_hands_the_cutting_to_audio_until_video_is_back() -> None:
    samples = [s for s in show(10) if not (s[0] == "video" and 3.0 <= s[1] < 7.0)]
    closed = run(Segmenter(DEFAULT, video=True), samples, end_s=10.0)
    parts = [c for c in closed if isinstance(c, ClosedPart)]
    stalled = [p for p in parts if 3.0 <= p.start_s < 7.0]
    assert len(stalled) >= 15  # parts kept coming while only audio arrived
    longest = DEFAULT.part_target_s + VIDEO_STALL_S + AUDIO_S
    assert all(p.duration_s <= longest + 1e-6 for p in parts)
    assert not any(p.independent for p in stalled)
    segments = [c for c in closed if isinstance(c, ClosedSegment)]
    assert all(s.duration_s <= DEFAULT.segment_max_s + 1e-6 for s in segments)
    # the keyframe at 8 s (video back since 7 s) opens a segment again
    assert any(s.start_s == pytest.approx(8.0) for s in segments)


def test_late_samples_join_the_open_part() -> None:
    segmenter = Segmenter(DEFAULT, video=True)
    assert segmenter.video(1.0, True) == []
    assert segmenter.audio(0.95, AUDIO_S) == []  # audio running behind the video
    assert segmenter.video(1.0, False) == []  # same time again: no empty part
    closed = segmenter.video(1.2, False)
    assert closed == [ClosedPart(0, 0, 1.0, pytest.approx(0.2), True)]  # type: ignore[arg-type]


def test_a_keyframe_at_the_start_of_an_audio_cut_part_makes_it_independent() -> None:
    segmenter = Segmenter(DEFAULT, video=True)
    segmenter.video(0.0, True)
    cuts = []
    for i in range(1, 65):  # only audio after the first frame: it cuts at 0.5, 0.7, ... 1.1
        cuts += [c.start_s + c.duration_s for c in segmenter.audio(i * AUDIO_S, AUDIO_S)]
    assert cuts == pytest.approx([0.5, 0.7, 0.9, 1.1])
    assert segmenter.audio(1.3, AUDIO_S)  # and at 1.3 s, opening a part that is not independent
    assert segmenter.video(1.3, True) == []  # the video is back, on a keyframe, right there
    closed = segmenter.finish(1.4)
    assert isinstance(closed[0], ClosedPart) and closed[0].start_s == pytest.approx(1.3)
    assert closed[0].independent


def test_keyframe_due_says_when_a_keyframe_would_close_the_segment() -> None:
    segmenter = Segmenter(DEFAULT, video=True)
    assert not segmenter.keyframe_due(0.0)
    segmenter.video(0.0, True)
    assert not segmenter.keyframe_due(1.9)
    assert segmenter.keyframe_due(2.0)
    assert segmenter.position == (0, 0)


def test_finish_closes_the_open_part_and_segment() -> None:
    segmenter = Segmenter(DEFAULT, video=True)
    assert segmenter.finish(1.0) == []
    segmenter.video(0.5, True)
    segmenter.video(0.6, False)
    closed = segmenter.finish(0.7)
    assert closed == [
        ClosedPart(0, 0, 0.5, pytest.approx(0.2), True),  # type: ignore[arg-type]
        ClosedSegment(0, 0.5, pytest.approx(0.2), 1),  # type: ignore[arg-type]
    ]
    assert not segmenter.started


@pytest.mark.parametrize(
    "kwargs",
    [
        {"part_target_s": 0.0},
        {"part_target_s": 0.4, "part_max_s": 0.3},
        {"segment_target_s": 5.0},
        {"transcode_fps": 0},
    ],
)
def test_config_refuses_rules_that_cannot_hold(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        PackagerConfig(**kwargs)  # type: ignore[arg-type]


def test_transcode_keyframe_interval() -> None:
    assert DEFAULT.transcode_keyframe_interval == 60
    assert PackagerConfig(segment_target_s=1.0, transcode_fps=25).transcode_keyframe_interval == 25
