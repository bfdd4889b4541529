"""Reminders repository: who asked to be reminded of which show, and who was told."""

from __future__ import annotations

import time

from live_server.platform.db import Database


class ReminderRepository:
    """Reads and writes `show_reminders` (migration 0050)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def set(self, session_id: int, user_id: int, on: bool) -> None:
        if on:
            await self._db.execute(
                "INSERT OR IGNORE INTO show_reminders(session_id, user_id, created_at)"
                " VALUES (?, ?, ?)",
                (session_id, user_id, time.time()),
            )
        else:
            await self._db.execute(
                "DELETE FROM show_reminders WHERE session_id = ? AND user_id = ?",
                (session_id, user_id),
            )

    async def has(self, session_id: int, user_id: int) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM show_reminders WHERE session_id = ? AND user_id = ?",
            (session_id, user_id),
        )
        return row is not None

    async def pending_sessions(self, user_id: int) -> list[int]:
        """The user's reminders not sent yet (shows that have not gone live)."""
        rows = await self._db.fetchall(
            "SELECT session_id FROM show_reminders WHERE user_id = ? AND notified_at IS NULL"
            " ORDER BY session_id",
            (user_id,),
        )
        return [int(r["session_id"]) for r in rows]

    async def claim_due(self, session_id: int) -> list[int]:
        """Marks the show's unsent reminders sent and returns their users (once: a second
        call, from a reconnect or another node, gets none)."""
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                "UPDATE show_reminders SET notified_at = ? WHERE session_id = ?"
                " AND notified_at IS NULL RETURNING user_id",
                (time.time(), session_id),
            )
        return [int(r["user_id"]) for r in rows]
