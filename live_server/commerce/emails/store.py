"""The email outbox and people's contact addresses, in SQLite."""

from __future__ import annotations

from dataclasses import dataclass

from live_server.commerce.emails.rules import Message
from live_server.platform.db import Database


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A queued email due now."""

    id: int
    to_addr: str
    subject: str
    text: str
    html: str
    attempts: int


class EmailStore:
    """`contact_emails` and `email_outbox`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def contact_of(self, user_id: int) -> str | None:
        """Where a person wants order news, or None."""
        value = await self._db.fetchval(
            "SELECT email FROM contact_emails WHERE user_id = ?", (user_id,)
        )
        return str(value) if value is not None else None

    async def set_contact(self, user_id: int, email: str | None, now: float) -> None:
        """Sets (or with None removes) a person's contact address."""
        if email is None:
            await self._db.execute("DELETE FROM contact_emails WHERE user_id = ?", (user_id,))
            return
        await self._db.execute(
            "INSERT INTO contact_emails (user_id, email, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET email = excluded.email,"
            " updated_at = excluded.updated_at",
            (user_id, email, now),
        )

    async def enqueue(self, message: Message, to_addr: str, now: float) -> bool:
        """Queues a message once per (kind, ref, recipient); False when it already was."""
        row = await self._db.fetchone(
            "INSERT INTO email_outbox (kind, ref, to_addr, subject, text_body, html_body,"
            " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING RETURNING id",
            (message.kind, message.ref, to_addr, message.subject, message.text, message.html,
             now, now),
        )  # fmt: skip
        return row is not None

    async def due(self, now: float, limit: int = 20) -> list[Outgoing]:
        """Messages to try now, oldest first."""
        rows = await self._db.fetchall(
            "SELECT id, to_addr, subject, text_body, html_body, attempts FROM email_outbox"
            " WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at LIMIT ?",
            (now, limit),
        )
        return [
            Outgoing(int(r["id"]), str(r["to_addr"]), str(r["subject"]), str(r["text_body"]),
                     str(r["html_body"]), int(r["attempts"]))
            for r in rows
        ]  # fmt: skip

    async def next_due_at(self) -> float | None:
        """When the next queued message is due, or None when nothing waits."""
        value = await self._db.fetchval(
            "SELECT MIN(next_attempt_at) FROM email_outbox"
            " WHERE sent_at IS NULL AND failed_at IS NULL"
        )
        return float(value) if value is not None else None

    async def sent(self, message_id: int, now: float) -> None:
        await self._db.execute(
            "UPDATE email_outbox SET sent_at = ?, attempts = attempts + 1 WHERE id = ?",
            (now, message_id),
        )

    async def failed(self, message_id: int, error: str, next_at: float | None, now: float) -> None:
        """A failed try: retried at `next_at`, or given up (None)."""
        await self._db.execute(
            "UPDATE email_outbox SET attempts = attempts + 1, last_error = ?,"
            " next_attempt_at = COALESCE(?, next_attempt_at), failed_at = ? WHERE id = ?",
            (error[:300], next_at, None if next_at is not None else now, message_id),
        )
