"""Recordings repository: the `recordings` table (media area, migration 0010)."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from live_server.platform.db import Database


@dataclass(frozen=True)
class Recording:
    """A session's recording file and what it holds. `path` is relative to the data dir."""

    id: int
    session_id: int
    path: str
    container: str
    video_codec: str | None
    audio_codec: str | None
    duration_s: float
    size_bytes: int
    started_at: float
    ended_at: float | None
    status: str


def _recording(row: sqlite3.Row) -> Recording:
    return Recording(
        id=row["id"],
        session_id=row["session_id"],
        path=row["path"],
        container=row["container"],
        video_codec=row["video_codec"],
        audio_codec=row["audio_codec"],
        duration_s=row["duration_s"],
        size_bytes=row["size_bytes"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        status=row["status"],
    )


class RecordingRepository:
    """Reads and writes `recordings`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        session_id: int,
        path: str,
        container: str,
        video_codec: str | None,
        audio_codec: str | None,
    ) -> int:
        """Stores a new recording in state 'recording'; returns its id."""
        cur = await self._db.execute(
            "INSERT INTO recordings(session_id, path, container, video_codec, audio_codec,"
            " started_at, status) VALUES (?, ?, ?, ?, ?, ?, 'recording')",
            (session_id, path, container, video_codec, audio_codec, time.time()),
        )
        return int(cur.lastrowid or 0)

    async def finish(
        self, recording_id: int, duration_s: float, size_bytes: int, status: str = "finished"
    ) -> None:
        """Marks a recording finished (or failed) with its duration and size."""
        await self._db.execute(
            "UPDATE recordings SET duration_s = ?, size_bytes = ?, ended_at = ?, status = ?"
            " WHERE id = ?",
            (duration_s, size_bytes, time.time(), status, recording_id),
        )

    async def get(self, recording_id: int) -> Recording | None:
        """One recording by id."""
        row = await self._db.fetchone("SELECT * FROM recordings WHERE id = ?", (recording_id,))
        return _recording(row) if row else None

    async def for_session(self, session_id: int) -> list[Recording]:
        """A session's recordings, oldest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM recordings WHERE session_id = ? ORDER BY started_at, id", (session_id,)
        )
        return [_recording(r) for r in rows]

    async def unfinished(self) -> list[Recording]:
        """Recordings still marked 'recording' (left behind by a crash)."""
        rows = await self._db.fetchall(
            "SELECT * FROM recordings WHERE status = 'recording' ORDER BY id"
        )
        return [_recording(r) for r in rows]
