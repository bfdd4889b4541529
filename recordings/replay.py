"""The replay of a whole show: one MP4 with the moov atom first, plus its poster.

It keeps the show's resolution and frame rate: H.264 of one size is stream-copied (AAC
audio too; Opus is re-encoded to AAC, which costs little); VP8, or H.264 whose size
changed during the show, is transcoded at the largest size the host sent, every frame at
its own time. Blocking: run in a worker thread.
"""

from __future__ import annotations

import logging
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
    """Write the web-playable replay of ``info`` and a poster taken a little way in."""
    video = cut(info, video_dst, 0.0, info.duration_s + 1.0, progress, settings)
    poster_at = min(3.0, video.duration_s / 2)
    poster = make_poster(video_dst, poster_dst, poster_at)
    logger.info(
        "replay %s: %.1fs %dx%d transcoded=%s",
        info.path, video.duration_s, video.width, video.height, video.transcoded,
    )  # fmt: skip
    return ReplayResult(video, poster)
