"""Moderation repository: the log, blocked words, bans, timeouts and room settings."""

from __future__ import annotations

import sqlite3
import time

from live_server.platform.db import Database
from live_server.room.rules.moderation import Action, LogEntry, RoomConfig


def _entry(row: sqlite3.Row) -> LogEntry:
    return LogEntry(
        id=row["id"],
        session_id=row["session_id"],
        actor_id=row["actor_id"],
        actor=row["actor"],
        action=Action(row["action"]),
        target_user_id=row["target_user_id"],
        target_message_id=row["target_message_id"],
        detail=row["detail"],
        created_at=row["created_at"],
        target_user=row["target_user"],
        target_product_id=row["target_product_id"],
        target_product=row["target_product"],
    )


class ModerationRepository:
    """Durable moderation state of each session (the live copy sits in LiveState)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- log ------------------------------------------------------------------------------
    async def log(
        self,
        session_id: int,
        actor_id: int,
        action: Action,
        *,
        target_user_id: int | None = None,
        target_message_id: int | None = None,
        target_product_id: int | None = None,
        detail: str = "",
    ) -> LogEntry:
        """Appends one entry to the moderation log and returns it."""
        async with self._db.transaction() as tx:
            cur = await tx.execute(
                "INSERT INTO moderation_log(session_id, actor_id, action, target_user_id,"
                " target_message_id, target_product_id, detail, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    actor_id,
                    action.value,
                    target_user_id,
                    target_message_id,
                    target_product_id,
                    detail,
                    time.time(),
                ),
            )
            row = await tx.fetchone(_LOG_SELECT + " WHERE l.id = ?", (cur.lastrowid,))
        assert row is not None
        return _entry(row)

    async def entries(self, session_id: int, limit: int = 100) -> list[LogEntry]:
        """The newest log entries, newest first."""
        rows = await self._db.fetchall(
            _LOG_SELECT + " WHERE l.session_id = ? ORDER BY l.id DESC LIMIT ?",
            (session_id, limit),
        )
        return [_entry(r) for r in rows]

    # -- settings and blocked words -------------------------------------------------------
    async def config(self, session_id: int) -> RoomConfig:
        """The session's room settings and blocked words (defaults when never set)."""
        row = await self._db.fetchone(
            "SELECT slow_mode_seconds, allow_anonymous FROM room_settings WHERE session_id = ?",
            (session_id,),
        )
        words = await self._db.fetchall(
            "SELECT word FROM blocked_words WHERE session_id = ? ORDER BY word", (session_id,)
        )
        return RoomConfig(
            slow_mode_seconds=int(row["slow_mode_seconds"]) if row else 0,
            allow_anonymous=bool(row["allow_anonymous"]) if row else True,
            blocked_words=tuple(r["word"] for r in words),
        )

    async def save_settings(
        self, session_id: int, slow_mode_seconds: int, allow_anonymous: bool
    ) -> None:
        """Stores the room settings."""
        await self._db.execute(
            "INSERT INTO room_settings(session_id, slow_mode_seconds, allow_anonymous)"
            " VALUES (?, ?, ?) ON CONFLICT(session_id) DO UPDATE SET"
            " slow_mode_seconds = excluded.slow_mode_seconds,"
            " allow_anonymous = excluded.allow_anonymous",
            (session_id, slow_mode_seconds, int(allow_anonymous)),
        )

    async def set_blocked_words(self, session_id: int, words: tuple[str, ...]) -> None:
        """Replaces the session's blocked-words list."""
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM blocked_words WHERE session_id = ?", (session_id,))
            await tx.executemany(
                "INSERT INTO blocked_words(session_id, word) VALUES (?, ?)",
                [(session_id, w) for w in words],
            )

    # -- bans and timeouts ----------------------------------------------------------------
    async def ban(self, session_id: int, user_id: int, by_user_id: int, reason: str) -> bool:
        """Bans a user from a session; False if already banned."""
        cur = await self._db.execute(
            "INSERT OR IGNORE INTO room_bans(session_id, user_id, banned_by, reason, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (session_id, user_id, by_user_id, reason, time.time()),
        )
        return bool(cur.rowcount)

    async def unban(self, session_id: int, user_id: int) -> bool:
        """Lifts a ban; False if there was none."""
        cur = await self._db.execute(
            "DELETE FROM room_bans WHERE session_id = ? AND user_id = ?", (session_id, user_id)
        )
        return bool(cur.rowcount)

    async def is_banned(self, session_id: int, user_id: int) -> bool:
        """Whether the user is banned from the session."""
        row = await self._db.fetchone(
            "SELECT 1 FROM room_bans WHERE session_id = ? AND user_id = ?", (session_id, user_id)
        )
        return row is not None

    async def banned_users(self, session_id: int) -> list[int]:
        """Ids of everyone banned from the session."""
        rows = await self._db.fetchall(
            "SELECT user_id FROM room_bans WHERE session_id = ?", (session_id,)
        )
        return [r["user_id"] for r in rows]

    async def set_timeout(self, session_id: int, user_id: int, until: float) -> None:
        """Records a timeout lasting until epoch second `until`."""
        await self._db.execute(
            "INSERT INTO room_timeouts(session_id, user_id, until) VALUES (?, ?, ?)"
            " ON CONFLICT(session_id, user_id) DO UPDATE SET until = excluded.until",
            (session_id, user_id, until),
        )

    async def timeouts(self, session_id: int, now: float) -> dict[int, float]:
        """Timeouts still running: user id -> until."""
        rows = await self._db.fetchall(
            "SELECT user_id, until FROM room_timeouts WHERE session_id = ? AND until > ?",
            (session_id, now),
        )
        return {r["user_id"]: r["until"] for r in rows}


_LOG_SELECT = (
    "SELECT l.*, COALESCE(u.display_name, u.username, '?') AS actor,"
    " COALESCE(NULLIF(t.display_name, ''), t.username) AS target_user,"
    " p.title AS target_product"
    " FROM moderation_log l LEFT JOIN users u ON u.id = l.actor_id"
    " LEFT JOIN users t ON t.id = l.target_user_id"
    " LEFT JOIN products p ON p.id = l.target_product_id"
)
