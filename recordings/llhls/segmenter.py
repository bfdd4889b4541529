"""Where parts and segments are cut: pure rules on media times (seconds), no PyAV.

Video drives the cutting when the show has video: a part closes at the first video frame
at or after ``part_target_s`` (or a little earlier when the next frame would take it past
``part_max_s``), a segment at the first keyframe at or after ``segment_target_s``, and at
any frame when waiting one more frame could take it past ``segment_max_s`` (the next segment
then starts on a frame that is not a keyframe). Audio samples join the open part; an
audio-only show is cut by audio the same way (every audio sample is independent). When the
video stalls for ``VIDEO_STALL_S`` while audio keeps coming, audio cuts the parts until
video is back, so parts keep flowing.

Times are expected to grow per kind; a sample that does not lie after the open part's start
(audio running behind video) simply joins the open part.
"""

from __future__ import annotations

from dataclasses import dataclass

from recordings.llhls.models import PackagerConfig

MAX_FRAME_GAP_S = 0.1  # the promises hold while video arrives at >= 10 fps
VIDEO_STALL_S = 0.5  # audio cuts the parts after this long without video
SHORT_PART = 0.85  # no part (but a segment's last) is shorter than this share of the target
EPS = 1e-6


@dataclass(frozen=True)
class ClosedPart:
    """A part that is complete: its place and its time span."""

    msn: int
    index: int
    start_s: float
    duration_s: float
    independent: bool


@dataclass(frozen=True)
class ClosedSegment:
    """A segment that is complete (right after its last part)."""

    msn: int
    start_s: float
    duration_s: float
    parts: int


Closed = ClosedPart | ClosedSegment


class Segmenter:
    """Decides, sample by sample, when the open part (and segment) closes."""

    def __init__(self, config: PackagerConfig, video: bool) -> None:
        self._config = config
        self._video = video
        self._msn = 0
        self._index = 0
        self._part_start: float | None = None
        self._part_independent = False
        self._part_has_video = False
        self._segment_start = 0.0
        self._durations: list[float] = []  # closed parts of the open segment
        self._last_video: float | None = None
        self._video_gap = 0.0  # the latest interval between two video frames

    @property
    def started(self) -> bool:
        """True once the first part is open."""
        return self._part_start is not None

    @property
    def position(self) -> tuple[int, int]:
        """(msn, part index) of the open part."""
        return self._msn, self._index

    def keyframe_due(self, t: float) -> bool:
        """True when a keyframe at ``t`` would close the segment (the transcoder makes one)."""
        start = self._part_start
        return (
            start is not None
            and t - start > EPS
            and t - self._segment_start >= self._config.segment_target_s - EPS
        )

    def video(self, t: float, keyframe: bool) -> list[Closed]:
        """A video frame at ``t``; what it closes (it then opens the next part)."""
        if self._last_video is not None and 0 < t - self._last_video < VIDEO_STALL_S:
            self._video_gap = t - self._last_video  # (a stall says nothing about the next gap)
        self._last_video = t if self._last_video is None else max(t, self._last_video)
        start = self._part_start
        if start is None:
            self._open(t, keyframe, video=True)
            return []
        elapsed = t - start
        first_video, self._part_has_video = not self._part_has_video, True
        if elapsed <= EPS:
            if keyframe and first_video and elapsed >= -EPS:
                self._part_independent = True  # audio opened it at this very time
            return []
        cfg = self._config
        in_segment = t - self._segment_start
        if keyframe and in_segment >= cfg.segment_target_s - EPS:
            return self._cut(t, new_segment=True, independent=True, video=True)
        if in_segment + max(MAX_FRAME_GAP_S, self._video_gap) > cfg.segment_max_s + EPS:
            return self._cut(t, new_segment=True, independent=keyframe, video=True)
        if self._part_is_due(elapsed, self._video_gap):
            return self._cut(t, new_segment=False, independent=keyframe, video=True)
        return []

    def audio(self, t: float, duration: float) -> list[Closed]:
        """An audio sample at ``t`` lasting ``duration``; what it closes."""
        start = self._part_start
        if start is None:
            if not self._video:
                self._open(t, independent=True)
            return []
        elapsed = t - start
        if elapsed <= EPS:
            return []
        cfg = self._config
        in_segment = t - self._segment_start
        if not self._video:
            if in_segment >= cfg.segment_target_s - EPS or (
                in_segment + duration > cfg.segment_max_s + EPS
            ):
                return self._cut(t, new_segment=True, independent=True)
            if self._part_is_due(elapsed, duration):
                return self._cut(t, new_segment=False, independent=True)
            return []
        if self._last_video is not None and t - self._last_video < VIDEO_STALL_S:
            return []  # the video drives; this sample joins the open part
        if in_segment + duration > cfg.segment_max_s + EPS:
            return self._cut(t, new_segment=True, independent=False)
        if self._part_is_due(elapsed, duration):
            return self._cut(t, new_segment=False, independent=False)
        return []

    def finish(self, end_s: float) -> list[Closed]:
        """The stream ended at ``end_s``: close the open part and segment."""
        start = self._part_start
        if start is None:
            return []
        closed = self._cut(max(end_s, start + EPS), new_segment=True, independent=False)
        self._part_start = None
        return closed

    # -- internals --------------------------------------------------------------------

    def _part_is_due(self, elapsed: float, next_gap: float) -> bool:
        cfg = self._config
        if elapsed >= cfg.part_target_s - EPS:
            return True
        # the next sample would come too late for part_max: close a little early
        return (
            elapsed >= SHORT_PART * cfg.part_target_s - EPS
            and elapsed + next_gap > cfg.part_max_s + EPS
        )

    def _open(self, t: float, independent: bool, video: bool = False) -> None:
        self._part_start = t
        self._part_independent = independent
        self._part_has_video = video
        if not self._durations:
            self._segment_start = t

    def _cut(
        self, t: float, new_segment: bool, independent: bool, video: bool = False
    ) -> list[Closed]:
        start = self._part_start
        assert start is not None
        duration = t - start
        closed: list[Closed] = [
            ClosedPart(self._msn, self._index, start, duration, self._part_independent)
        ]
        self._durations.append(duration)
        if new_segment:
            closed.append(
                ClosedSegment(
                    self._msn, self._segment_start, sum(self._durations), len(self._durations)
                )
            )
            self._msn += 1
            self._index = 0
            self._durations = []
        else:
            self._index += 1
        self._open(t, independent, video)
        return closed
