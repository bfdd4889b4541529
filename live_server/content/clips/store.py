"""Clips, replays, and the reads processing needs from other areas' tables
(recordings, pins, chat), each tolerated when that area's table is absent."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from live_server.content.clips.rules import Clip, RecordingRef, Replay
from live_server.platform.db import Database, Executor
from recordings.windows import PinMark


@dataclass(frozen=True, slots=True)
class NewClip:
    """A clip to store (URLs already public)."""

    start_s: float
    end_s: float
    duration_s: float
    video_url: str
    poster_url: str
    width: int
    height: int
    transcoded: bool
    product_ids: tuple[int, ...]
    title: str = ""


def _clip(row: sqlite3.Row, products: tuple[int, ...]) -> Clip:
    return Clip(
        id=row["id"],
        session_id=row["session_id"],
        host_id=row["host_id"],
        source=row["source"],
        title=row["title"],
        start_s=row["start_s"],
        end_s=row["end_s"],
        duration_s=row["duration_s"],
        video_url=row["video_url"],
        poster_url=row["poster_url"],
        width=row["width"],
        height=row["height"],
        created_at=row["created_at"],
        product_ids=products,
    )


async def table_exists(db: Executor, name: str) -> bool:
    """True when another area's table is present in this database."""
    row = await db.fetchone(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    )
    return row is not None


class ClipRepository:
    """Clips and replays, plus read-only views of recordings, pins and chat."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def _products(self, clip_ids: list[int]) -> dict[int, tuple[int, ...]]:
        if not clip_ids:
            return {}
        marks = ",".join("?" * len(clip_ids))
        rows = await self._db.fetchall(
            f"SELECT clip_id, product_id FROM clip_products WHERE clip_id IN ({marks})"
            " ORDER BY clip_id, position",
            clip_ids,
        )
        out: dict[int, list[int]] = {}
        for r in rows:
            out.setdefault(r["clip_id"], []).append(r["product_id"])
        return {k: tuple(v) for k, v in out.items()}

    async def by_ids(self, ids: list[int]) -> dict[int, Clip]:
        """Live (not deleted) clips by id."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = await self._db.fetchall(
            "SELECT c.*, (SELECT group_concat(product_id) FROM (SELECT product_id"
            " FROM clip_products WHERE clip_id = c.id ORDER BY position)) AS product_ids"
            f" FROM clips c WHERE c.id IN ({marks}) AND c.deleted_at IS NULL",
            ids,
        )
        return {
            r["id"]: _clip(r, tuple(int(p) for p in (r["product_ids"] or "").split(",") if p))
            for r in rows
        }

    async def get(self, clip_id: int) -> Clip | None:
        """One clip."""
        return (await self.by_ids([clip_id])).get(clip_id)

    async def for_session(self, session_id: int) -> list[Clip]:
        """A session's clips in media-time order."""
        rows = await self._db.fetchall(
            "SELECT * FROM clips WHERE session_id = ? AND deleted_at IS NULL ORDER BY start_s, id",
            (session_id,),
        )
        products = await self._products([r["id"] for r in rows])
        return [_clip(r, products.get(r["id"], ())) for r in rows]

    async def replace_auto_clips(
        self,
        session_id: int,
        recording_id: int | None,
        job_id: int | None,
        host_id: int,
        clips: list[NewClip],
        source: str = "auto",
    ) -> tuple[list[int], list[int]]:
        """Swap a session's automatic clips for new ones in one transaction.

        Returns (new clip ids, removed clip ids). Hand-cut clips are kept.
        """
        now = time.time()
        async with self._db.transaction() as tx:
            old = await tx.fetchall(
                "SELECT id FROM clips WHERE session_id = ? AND source = ? AND deleted_at IS NULL",
                (session_id, source),
            )
            removed = [r["id"] for r in old]
            if removed:
                marks = ",".join("?" * len(removed))
                await tx.execute(
                    f"UPDATE clips SET deleted_at = ? WHERE id IN ({marks})", [now, *removed]
                )
            ids = [
                await self._insert(
                    tx, session_id, recording_id, job_id, host_id, c, source, None, now
                )
                for c in clips
            ]
        return ids, removed

    async def add_clip(
        self,
        session_id: int,
        recording_id: int | None,
        host_id: int,
        clip: NewClip,
        created_by: int,
        source: str,
    ) -> int:
        """Store one clip (hand-cut or demo); returns its id."""
        async with self._db.transaction() as tx:
            return await self._insert(
                tx, session_id, recording_id, None, host_id, clip, source, created_by, time.time()
            )

    @staticmethod
    async def _insert(
        tx: Any,
        session_id: int,
        recording_id: int | None,
        job_id: int | None,
        host_id: int,
        c: NewClip,
        source: str,
        created_by: int | None,
        now: float,
    ) -> int:
        cur = await tx.execute(
            "INSERT INTO clips(session_id, recording_id, job_id, host_id, source, title, start_s,"
            " end_s, duration_s, video_url, poster_url, width, height, transcoded, created_by,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session_id, recording_id, job_id, host_id, source, c.title, c.start_s, c.end_s,
                c.duration_s, c.video_url, c.poster_url, c.width, c.height, int(c.transcoded),
                created_by, now,
            ),
        )  # fmt: skip
        clip_id = int(cur.lastrowid)
        await tx.executemany(
            "INSERT INTO clip_products(clip_id, product_id, position) VALUES (?, ?, ?)",
            [(clip_id, pid, i) for i, pid in enumerate(c.product_ids)],
        )
        return clip_id

    async def delete_clip(self, clip_id: int) -> None:
        """Soft-delete a clip."""
        await self._db.execute(
            "UPDATE clips SET deleted_at = ? WHERE id = ?", (time.time(), clip_id)
        )

    async def save_replay(
        self,
        session_id: int,
        recording_id: int,
        job_id: int | None,
        replay: Replay,
        transcoded: bool,
    ) -> None:
        """Insert or replace a session's replay."""
        await self._db.execute(
            "INSERT INTO replays(session_id, recording_id, job_id, video_url, poster_url,"
            " duration_s, width, height, transcoded, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(session_id) DO UPDATE SET recording_id = excluded.recording_id,"
            " job_id = excluded.job_id, video_url = excluded.video_url,"
            " poster_url = excluded.poster_url, duration_s = excluded.duration_s,"
            " width = excluded.width, height = excluded.height,"
            " transcoded = excluded.transcoded, created_at = excluded.created_at",
            (
                session_id, recording_id, job_id, replay.video_url, replay.poster_url,
                replay.duration_s, replay.width, replay.height, int(transcoded), replay.created_at,
            ),
        )  # fmt: skip

    async def replay(self, session_id: int) -> Replay | None:
        """A session's replay, if processed."""
        row = await self._db.fetchone("SELECT * FROM replays WHERE session_id = ?", (session_id,))
        if row is None:
            return None
        return Replay(
            session_id=row["session_id"],
            video_url=row["video_url"],
            poster_url=row["poster_url"],
            duration_s=row["duration_s"],
            width=row["width"],
            height=row["height"],
            created_at=row["created_at"],
        )

    # -- other areas' tables (read-only) -------------------------------------------------

    async def recording(self, recording_id: int) -> RecordingRef | None:
        """The media area's recording row, or None (also when the table is missing)."""
        if not await table_exists(self._db, "recordings"):
            return None
        row = await self._db.fetchone(
            "SELECT id, session_id, path, status, duration_s FROM recordings WHERE id = ?",
            (recording_id,),
        )
        if row is None:
            return None
        return RecordingRef(
            row["id"], row["session_id"], row["path"], row["status"], row["duration_s"]
        )

    async def latest_recording(self, session_id: int) -> RecordingRef | None:
        """The newest finished recording of a session."""
        if not await table_exists(self._db, "recordings"):
            return None
        row = await self._db.fetchone(
            "SELECT id, session_id, path, status, duration_s FROM recordings"
            " WHERE session_id = ? AND status = 'finished' ORDER BY id DESC LIMIT 1",
            (session_id,),
        )
        if row is None:
            return None
        return RecordingRef(
            row["id"], row["session_id"], row["path"], row["status"], row["duration_s"]
        )

    async def recordings_named(self, file_name: str) -> list[tuple[int, str]]:
        """(session id, stored path) of the recordings whose file has this name: who owns
        a file under media/recordings (the path is stored absolute or as configured)."""
        if not file_name or not await table_exists(self._db, "recordings"):
            return []
        suffix = "/" + file_name
        rows = await self._db.fetchall(
            "SELECT session_id, path FROM recordings"
            " WHERE substr(path, -length(?)) = ? OR path = ?",
            (suffix, suffix, file_name),
        )
        return [(int(r["session_id"]), str(r["path"])) for r in rows]

    async def pins(self, session_id: int) -> list[PinMark]:
        """The session's pins as clip anchors."""
        if not await table_exists(self._db, "pins"):
            return []
        rows = await self._db.fetchall(
            "SELECT id, product_id, pinned_media_time, unpinned_media_time FROM pins"
            " WHERE session_id = ? ORDER BY id",
            (session_id,),
        )
        return [
            PinMark(
                r["id"],
                r["product_id"],
                float(r["pinned_media_time"]),
                None if r["unpinned_media_time"] is None else float(r["unpinned_media_time"]),
            )
            for r in rows
        ]

    async def pin_rows(self, session_id: int) -> list[dict[str, Any]]:
        """Pins with both media times, for the replay's chapters."""
        if not await table_exists(self._db, "pins"):
            return []
        rows = await self._db.fetchall(
            "SELECT id, product_id, pinned_media_time, unpinned_media_time FROM pins"
            " WHERE session_id = ? ORDER BY pinned_media_time, id",
            (session_id,),
        )
        return [dict(r) for r in rows]

    async def chat(self, session_id: int, limit: int = 5000) -> list[dict[str, Any]]:
        """Visible chat with media times, for replaying it in sync."""
        if not await table_exists(self._db, "chat_messages"):
            return []
        rows = await self._db.fetchall(
            "SELECT c.id, c.user_id, u.display_name, c.text, c.media_time, c.created_at"
            " FROM chat_messages c JOIN users u ON u.id = c.user_id"
            " WHERE c.session_id = ? AND c.deleted_at IS NULL AND c.media_time IS NOT NULL"
            " ORDER BY c.media_time, c.id LIMIT ?",
            (session_id, limit),
        )
        return [dict(r) for r in rows]
