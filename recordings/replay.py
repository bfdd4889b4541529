"""The replay of a whole show: one MP4 with the moov atom first, plus its poster.

It keeps the show's resolution and frame rate: H.264 of one size is stream-copied (AAC
audio too; Opus is re-encoded to AAC, which costs little); VP8, or H.264 whose size
changed during the show, is transcoded at the largest size the host sent, every frame at
its own time. Blocking: run in a worker thread.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from recordings.clips import CutResult, EncodeSettings, Progress, cut
from recordings.probe import MediaInfo
from recordings.thumbnails import Poster, make_poster

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """The replay file and its poster."""

    video: CutResult
    poster: Poster


def make_replay(
    info: MediaInfo,
    video_dst: str | Path,
    poster_dst: str | Path,
    progress: Progress | None = None,
    settings: EncodeSettings | None = None,
) -> ReplayResult:
    """Write the web-playable replay of ``info`` and a poster taken a little way in.

    Both are written beside their final names and moved into place when complete (a
    re-run replaces them while people watch the replay and moderators cut from it: they
    read the old file to its end, never a half-written one).
    """
    final_video, final_poster = Path(video_dst), Path(poster_dst)
    part_video = final_video.with_name(f".partial-{final_video.name}")
    part_poster = final_poster.with_name(f".partial-{final_poster.name}")
    try:
        video = cut(info, part_video, 0.0, info.duration_s + 1.0, progress, settings)
        poster = make_poster(part_video, part_poster, min(3.0, video.duration_s / 2))
        os.replace(part_poster, final_poster)
        os.replace(part_video, final_video)
    finally:
        part_video.unlink(missing_ok=True)
        part_poster.unlink(missing_ok=True)
    video = dataclasses.replace(video, path=str(final_video))
    poster = dataclasses.replace(poster, path=str(final_poster))
    logger.info(
        "replay %s: %.1fs %dx%d transcoded=%s",
        info.path, video.duration_s, video.width, video.height, video.transcoded,
    )  # fmt: skip
    return ReplayResult(video, poster)
