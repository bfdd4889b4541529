"""Processing jobs repository: queue, claim, progress, finish, fail and recover."""

from __future__ import annotations

import sqlite3
import time

from live_server.content.clips.rules import JobState, ProcessingJob
from live_server.platform.db import Database


def _job(row: sqlite3.Row) -> ProcessingJob:
    return ProcessingJob(
        id=row["id"],
        session_id=row["session_id"],
        recording_id=row["recording_id"],
        state=JobState(row["state"]),
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
        progress=row["progress"],
        step=row["step"],
        error=row["error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


class JobRepository:
    """The `processing_jobs` table. Claiming is one transaction, so two workers never
    take the same job."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def enqueue(
        self, session_id: int, recording_id: int, requested_by: int | None, max_attempts: int = 3
    ) -> ProcessingJob:
        """Queue a job unless one is already queued or running for this session."""
        now = time.time()
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT * FROM processing_jobs WHERE session_id = ? AND state IN"
                " ('queued', 'running') ORDER BY id DESC LIMIT 1",
                (session_id,),
            )
            if row is not None:
                return _job(row)
            cur = await tx.execute(
                "INSERT INTO processing_jobs(session_id, recording_id, state, max_attempts,"
                " requested_by, created_at, updated_at) VALUES (?, ?, 'queued', ?, ?, ?, ?)",
                (session_id, recording_id, max_attempts, requested_by, now, now),
            )
            row = await tx.fetchone("SELECT * FROM processing_jobs WHERE id = ?", (cur.lastrowid,))
        assert row is not None
        return _job(row)

    async def get(self, job_id: int) -> ProcessingJob | None:
        """One job by id."""
        row = await self._db.fetchone("SELECT * FROM processing_jobs WHERE id = ?", (job_id,))
        return _job(row) if row else None

    async def for_session(self, session_id: int) -> list[ProcessingJob]:
        """A session's jobs, newest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM processing_jobs WHERE session_id = ? ORDER BY id DESC LIMIT 50",
            (session_id,),
        )
        return [_job(r) for r in rows]

    async def claim_next(self, session_id: int | None = None) -> ProcessingJob | None:
        """Take the oldest queued job (optionally of one session) and mark it running."""
        now = time.time()
        where = "state = 'queued'" + (" AND session_id = ?" if session_id is not None else "")
        params: tuple[int, ...] = (session_id,) if session_id is not None else ()
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                f"SELECT id FROM processing_jobs WHERE {where} ORDER BY id LIMIT 1", params
            )
            if row is None:
                return None
            await tx.execute(
                "UPDATE processing_jobs SET state = 'running', attempts = attempts + 1,"
                " progress = 0, step = 'starting', error = NULL, started_at = ?, updated_at = ?"
                " WHERE id = ?",
                (now, now, row["id"]),
            )
            claimed = await tx.fetchone("SELECT * FROM processing_jobs WHERE id = ?", (row["id"],))
        assert claimed is not None
        return _job(claimed)

    async def set_progress(self, job_id: int, progress: float, step: str) -> None:
        """Record how far a running job is."""
        await self._db.execute(
            "UPDATE processing_jobs SET progress = ?, step = ?, updated_at = ?"
            " WHERE id = ? AND state = 'running'",
            (round(progress, 4), step[:80], time.time(), job_id),
        )

    async def finish(self, job_id: int) -> None:
        """Mark a job done."""
        now = time.time()
        await self._db.execute(
            "UPDATE processing_jobs SET state = 'done', progress = 1, step = 'done',"
            " finished_at = ?, updated_at = ? WHERE id = ?",
            (now, now, job_id),
        )

    async def fail(self, job_id: int, error: str) -> ProcessingJob | None:
        """Record a failed attempt: queued again while attempts remain, else failed."""
        now = time.time()
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE processing_jobs SET state = CASE WHEN attempts < max_attempts"
                " THEN 'queued' ELSE 'failed' END, error = ?, updated_at = ?,"
                " finished_at = CASE WHEN attempts < max_attempts THEN NULL ELSE ? END"
                " WHERE id = ?",
                (error[:2000], now, now, job_id),
            )
            row = await tx.fetchone("SELECT * FROM processing_jobs WHERE id = ?", (job_id,))
        return _job(row) if row else None

    async def requeue_interrupted(self) -> int:
        """At start-up: jobs left 'running' by a dead process are queued again."""
        cur = await self._db.execute(
            "UPDATE processing_jobs SET state = 'queued', step = 'interrupted', updated_at = ?"
            " WHERE state = 'running'",
            (time.time(),),
        )
        return int(cur.rowcount or 0)

    async def rerun(self, job_id: int, requested_by: int) -> ProcessingJob | None:
        """An admin's re-run: a finished or failed job goes back to the queue, fresh."""
        now = time.time()
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE processing_jobs SET state = 'queued', attempts = 0, progress = 0,"
                " step = 'rerun', error = NULL, requested_by = ?, updated_at = ?,"
                " finished_at = NULL WHERE id = ? AND state IN ('done', 'failed')",
                (requested_by, now, job_id),
            )
            row = await tx.fetchone("SELECT * FROM processing_jobs WHERE id = ?", (job_id,))
        return _job(row) if row else None

    async def pending_count(self) -> int:
        """Queued plus running jobs."""
        value = await self._db.fetchval(
            "SELECT COUNT(*) FROM processing_jobs WHERE state IN ('queued', 'running')"
        )
        return int(value or 0)
