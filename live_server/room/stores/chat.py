"""Chat messages repository (`chat_messages`)."""

from __future__ import annotations

import sqlite3
import time

from live_server.platform.db import Database
from live_server.room.rules.chat import ChatMessage

_SELECT = (
    "SELECT m.id, m.session_id, m.user_id, COALESCE(u.display_name, u.username, '?') AS author,"
    " m.text, m.created_at, m.media_time, m.deleted_at, m.deleted_by"
    " FROM chat_messages m LEFT JOIN users u ON u.id = m.user_id"
)


def _message(row: sqlite3.Row) -> ChatMessage:
    return ChatMessage(
        id=row["id"],
        session_id=row["session_id"],
        user_id=row["user_id"],
        author=row["author"],
        text=row["text"],
        created_at=row["created_at"],
        media_time=row["media_time"],
        deleted_at=row["deleted_at"],
        deleted_by=row["deleted_by"],
    )


class ChatRepository:
    """Stores chat messages; deletion is a soft delete so the audit trail keeps the text."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self, session_id: int, user_id: int, text: str, media_time: float | None
    ) -> ChatMessage:
        """Stores one message and returns it with its id and server time."""
        now = time.time()
        async with self._db.transaction() as tx:
            cur = await tx.execute(
                "INSERT INTO chat_messages(session_id, user_id, text, created_at, media_time)"
                " VALUES (?, ?, ?, ?, ?)",
                (session_id, user_id, text, now, media_time),
            )
            row = await tx.fetchone(_SELECT + " WHERE m.id = ?", (cur.lastrowid,))
        assert row is not None
        return _message(row)

    async def add_many(self, messages: list[ChatMessage]) -> None:
        """Stores already-numbered messages in one transaction (the write-behind path)."""
        if not messages:
            return
        async with self._db.transaction() as tx:
            await tx.executemany(
                "INSERT OR IGNORE INTO chat_messages(id, session_id, user_id, text, created_at,"
                " media_time) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (m.id, m.session_id, m.user_id, m.text, m.created_at, m.media_time)
                    for m in messages
                ],
            )

    async def max_id(self) -> int:
        """The highest message id stored (0 when there is none)."""
        return int(await self._db.fetchval("SELECT COALESCE(MAX(id), 0) FROM chat_messages") or 0)

    async def author_name(self, user_id: int) -> str:
        """How a user is shown in chat: the display name, else the username."""
        row = await self._db.fetchone(
            "SELECT COALESCE(NULLIF(display_name, ''), username) AS name FROM users WHERE id = ?",
            (user_id,),
        )
        return str(row["name"]) if row else "?"

    async def get(self, message_id: int) -> ChatMessage | None:
        """One message, deleted or not."""
        row = await self._db.fetchone(_SELECT + " WHERE m.id = ?", (message_id,))
        return _message(row) if row else None

    async def recent(self, session_id: int, limit: int = 50) -> list[ChatMessage]:
        """The newest visible messages of a session, oldest first."""
        rows = await self._db.fetchall(
            _SELECT + " WHERE m.session_id = ? AND m.deleted_at IS NULL ORDER BY m.id DESC LIMIT ?",
            (session_id, limit),
        )
        return [_message(r) for r in reversed(rows)]

    async def page(self, session_id: int, after_id: int, limit: int) -> list[ChatMessage]:
        """Visible messages with ids above `after_id`, oldest first (replays, exports)."""
        rows = await self._db.fetchall(
            _SELECT + " WHERE m.session_id = ? AND m.id > ? AND m.deleted_at IS NULL"
            " ORDER BY m.id LIMIT ?",
            (session_id, after_id, limit),
        )
        return [_message(r) for r in rows]

    async def mark_deleted(self, message_id: int, by_user_id: int) -> bool:
        """Hides a message; False if it was already deleted or does not exist."""
        cur = await self._db.execute(
            "UPDATE chat_messages SET deleted_at = ?, deleted_by = ?"
            " WHERE id = ? AND deleted_at IS NULL",
            (time.time(), by_user_id, message_id),
        )
        return bool(cur.rowcount)

    async def count(self, session_id: int) -> int:
        """All messages ever sent in a session (deleted ones included)."""
        value = await self._db.fetchval(
            "SELECT COUNT(*) FROM chat_messages WHERE session_id = ?", (session_id,)
        )
        return int(value or 0)
