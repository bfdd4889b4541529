"""Processing jobs, clips and replays as the content feature stores and serves them.

The window math (where each clip starts and ends) is in `recordings.windows`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class JobState(StrEnum):
    """Life of a processing job."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ProcessingJob:
    """A stored job: turn one session's recording into a replay and clips."""

    id: int
    session_id: int
    recording_id: int
    state: JobState
    attempts: int
    max_attempts: int
    progress: float
    step: str
    error: str | None
    created_at: float
    updated_at: float
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def retryable(self) -> bool:
        """True while a failed attempt may be retried automatically."""
        return self.attempts < self.max_attempts


@dataclass(frozen=True, slots=True)
class Clip:
    """A stored short video cut from a session, tagged with products."""

    id: int
    session_id: int
    host_id: int
    source: str
    title: str
    start_s: float
    end_s: float
    duration_s: float
    video_url: str
    poster_url: str
    width: int
    height: int
    created_at: float
    product_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Replay:
    """The whole show as one web-playable file."""

    session_id: int
    video_url: str
    poster_url: str
    duration_s: float
    width: int
    height: int
    created_at: float


@dataclass(frozen=True, slots=True)
class RecordingRef:
    """The part of the media area's `recordings` row processing needs."""

    id: int
    session_id: int
    path: str
    status: str
    duration_s: float | None
