"""The media work of one processing job: replay, clips and posters, with one progress bar.

:func:`run_plan` is synchronous (PyAV); the worker runs it in a thread. The plan is
plain data so it can also be pickled to a process pool or run from the CLI.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from recordings.clips import CutResult, EncodeSettings, cut
from recordings.probe import MediaInfo, probe
from recordings.replay import ReplayResult, make_replay
from recordings.thumbnails import Poster, make_poster
from recordings.windows import ClipWindow, PinMark, plan_clip_windows, snap_windows

logger = logging.getLogger(__name__)

ProgressFn = Callable[[float, str], None]


@dataclass(frozen=True, slots=True)
class ProcessingPlan:
    """Inputs of a job: the recording, where outputs go, and the pins (or explicit windows)."""

    recording_path: str
    out_dir: str
    windows: tuple[ClipWindow, ...] | None = None
    pins: tuple[PinMark, ...] = field(default=())
    make_replay: bool = True
    settings: EncodeSettings = field(default_factory=EncodeSettings)


@dataclass(frozen=True, slots=True)
class ClipOutput:
    """One cut clip with its poster and the window it came from."""

    window: ClipWindow
    video: CutResult
    poster: Poster


@dataclass(frozen=True, slots=True)
class ProcessingOutput:
    """Everything a job produced."""

    info: MediaInfo
    replay: ReplayResult | None
    clips: tuple[ClipOutput, ...]


def cut_clip(
    info: MediaInfo,
    window: ClipWindow,
    video_dst: Path,
    poster_dst: Path,
    settings: EncodeSettings,
    progress: Callable[[float], None] | None = None,
) -> ClipOutput:
    """Cut one window and take its poster at the pinned moment."""
    video = cut(info, video_dst, window.start, window.end, progress, settings)
    poster_at = min(max(0.0, window.anchor - video.start_s), max(0.0, video.duration_s - 0.1))
    poster = make_poster(video_dst, poster_dst, poster_at)
    return ClipOutput(window, video, poster)


def run_plan(plan: ProcessingPlan, progress: ProgressFn | None = None) -> ProcessingOutput:
    """Probe the recording, plan windows from the pins, write the replay and the clips.

    Progress is reported as an overall fraction weighted by media seconds, with a
    short label of the current step.
    """
    info = probe(plan.recording_path)
    out = Path(plan.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    planned = (
        plan.windows if plan.windows is not None else plan_clip_windows(plan.pins, info.duration_s)
    )
    windows = snap_windows(planned, info.keyframes) if info.copies_video else list(planned)
    weights = [info.duration_s if plan.make_replay else 0.0] + [w.duration for w in windows]
    total = sum(weights) or 1.0
    done = 0.0

    def step(weight: float, label: str) -> Callable[[float], None]:
        def report(fraction: float) -> None:
            if progress is not None:
                progress(min(1.0, (done + weight * fraction) / total), label)

        return report

    replay = None
    if plan.make_replay:
        replay = make_replay(
            info, out / "replay.mp4", out / "replay.jpg", step(weights[0], "replay"), plan.settings
        )
        done += weights[0]
    clips: list[ClipOutput] = []
    for i, window in enumerate(windows):
        name = f"clip-{i + 1:02d}-{int(window.start * 1000)}"
        clip = cut_clip(
            info,
            window,
            out / f"{name}.mp4",
            out / f"{name}.jpg",
            plan.settings,
            step(weights[i + 1], f"clip {i + 1}/{len(windows)}"),
        )
        clips.append(clip)
        done += weights[i + 1]
    if progress is not None:
        progress(1.0, "done")
    return ProcessingOutput(info, replay, tuple(clips))
