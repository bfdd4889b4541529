"""Pins repository (`pins`): each pin and unpin with the session's media time."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from live_server.platform.db import Database
from live_server.platform.errors import Conflict
from live_server.room.rules.moderation import MAX_PINS


@dataclass(frozen=True)
class Pin:
    """One pin of a product in a session (unpinned_media_time is None while it is up)."""

    id: int
    session_id: int
    product_id: int
    pinned_by: int
    pinned_media_time: float
    unpinned_media_time: float | None
    created_at: float


def _pin(row: sqlite3.Row) -> Pin:
    return Pin(
        id=row["id"],
        session_id=row["session_id"],
        product_id=row["product_id"],
        pinned_by=row["pinned_by"],
        pinned_media_time=row["pinned_media_time"],
        unpinned_media_time=row["unpinned_media_time"],
        created_at=row["created_at"],
    )


class PinRepository:
    """Reads and writes pins; the pin limit is enforced inside the write transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def active(self, session_id: int) -> list[Pin]:
        """Pins currently up, oldest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM pins WHERE session_id = ? AND unpinned_at IS NULL ORDER BY id",
            (session_id,),
        )
        return [_pin(r) for r in rows]

    async def history(self, session_id: int) -> list[Pin]:
        """Every pin of a session, oldest first (what the clips work cuts from)."""
        rows = await self._db.fetchall(
            "SELECT * FROM pins WHERE session_id = ? ORDER BY id", (session_id,)
        )
        return [_pin(r) for r in rows]

    async def pin(
        self, session_id: int, product_id: int, user_id: int, media_time: float
    ) -> Pin | None:
        """Pins a product; None if it was already pinned. Raises Conflict past the limit.

        The count and the insert share one IMMEDIATE transaction, so two nodes writing the
        same database cannot both take the third slot.
        """
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT product_id FROM pins WHERE session_id = ? AND unpinned_at IS NULL",
                (session_id,),
            )
            active = {r["product_id"] for r in rows}
            if product_id in active:
                return None
            if len(active) >= MAX_PINS:
                raise Conflict(
                    f"at most {MAX_PINS} products can be pinned at once", code="pin_limit"
                )
            cur = await tx.execute(
                "INSERT INTO pins(session_id, product_id, pinned_by, pinned_media_time,"
                " created_at) VALUES (?, ?, ?, ?, ?)",
                (session_id, product_id, user_id, media_time, time.time()),
            )
            row = await tx.fetchone("SELECT * FROM pins WHERE id = ?", (cur.lastrowid,))
        assert row is not None
        return _pin(row)

    async def unpin(
        self, session_id: int, product_id: int, user_id: int, media_time: float
    ) -> Pin | None:
        """Takes a pinned product down; None if it was not pinned."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT * FROM pins WHERE session_id = ? AND product_id = ?"
                " AND unpinned_at IS NULL",
                (session_id, product_id),
            )
            if row is None:
                return None
            await tx.execute(
                "UPDATE pins SET unpinned_media_time = ?, unpinned_at = ?, unpinned_by = ?"
                " WHERE id = ?",
                (media_time, time.time(), user_id, row["id"]),
            )
            updated = await tx.fetchone("SELECT * FROM pins WHERE id = ?", (row["id"],))
        assert updated is not None
        return _pin(updated)

    async def unpin_all(self, session_id: int, media_time: float) -> int:
        """Closes every open pin (when the session ends); returns how many."""
        cur = await self._db.execute(
            "UPDATE pins SET unpinned_media_time = ?, unpinned_at = ?"
            " WHERE session_id = ? AND unpinned_at IS NULL",
            (media_time, time.time(), session_id),
        )
        return int(cur.rowcount or 0)
