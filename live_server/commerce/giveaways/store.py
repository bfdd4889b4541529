"""Giveaways in SQLite: the giveaway, its entries, and the stored draw."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from live_server.commerce.giveaways.rules import Attempt
from live_server.platform.db import Database

_COLUMNS = (
    "id, session_id, created_by, product_id, prize, followers_only, buyers_only, status,"
    " started_at, started_media_time, ends_at, commitment, seed_hex, drawn_at,"
    " drawn_media_time, entrants, entrants_hash, attempts_json, winner_id, winner_name"
)


class GiveawayBusy(RuntimeError):
    """The show already runs a giveaway."""


class GiveawaysRepository:
    """Giveaways and their entries."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        *,
        session_id: int,
        created_by: int,
        product_id: int | None,
        prize: str,
        followers_only: bool,
        buyers_only: bool,
        now: float,
        ends_at: float,
        media_time: float | None,
        commitment: str,
        seed_hex: str,
    ) -> dict[str, Any]:
        """Stores an open giveaway; GiveawayBusy if the show has one open."""
        try:
            async with self._db.transaction() as tx:
                row = await tx.fetchone(
                    "INSERT INTO giveaways (session_id, created_by, product_id, prize,"
                    " followers_only, buyers_only, status, started_at, started_media_time,"
                    " ends_at, commitment, seed_hex) VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?,"
                    f" ?, ?) RETURNING {_COLUMNS}",
                    (
                        session_id,
                        created_by,
                        product_id,
                        prize,
                        int(followers_only),
                        int(buyers_only),
                        now,
                        media_time,
                        ends_at,
                        commitment,
                        seed_hex,
                    ),
                )
                assert row is not None
                return dict(row)
        except Exception as exc:
            if "UNIQUE" in str(exc) and "giveaways" in str(exc):
                raise GiveawayBusy(session_id) from None
            raise

    async def get(self, giveaway_id: int) -> dict[str, Any] | None:
        """One giveaway."""
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM giveaways WHERE id = ?", (giveaway_id,)
        )
        return dict(row) if row else None

    async def open_of(self, session_id: int) -> dict[str, Any] | None:
        """The show's open giveaway."""
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM giveaways WHERE session_id = ? AND status = 'open'",
            (session_id,),
        )
        return dict(row) if row else None

    async def for_session(self, session_id: int) -> list[dict[str, Any]]:
        """A show's giveaways, newest first."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM giveaways WHERE session_id = ? ORDER BY id DESC",
            (session_id,),
        )
        return [dict(r) for r in rows]

    async def due(self, now: float) -> list[int]:
        """Open giveaways whose time is up."""
        rows = await self._db.fetchall(
            "SELECT id FROM giveaways WHERE status = 'open' AND ends_at <= ?", (now,)
        )
        return [int(r["id"]) for r in rows]

    async def move(self, giveaway_id: int, old: str, new: str) -> bool:
        """Moves a giveaway from one status to another if it is still in the first."""
        async with self._db.transaction() as tx:
            cur = await tx.execute(
                "UPDATE giveaways SET status = ? WHERE id = ? AND status = ?",
                (new, giveaway_id, old),
            )
            return bool(cur.rowcount == 1)

    async def enter(
        self, giveaway_id: int, user_id: int, now: float, media_time: float | None
    ) -> bool:
        """Records an entry; False if the user had entered already."""
        async with self._db.transaction() as tx:
            cur = await tx.execute(
                "INSERT OR IGNORE INTO giveaway_entries (giveaway_id, user_id, entered_at,"
                " media_time) VALUES (?, ?, ?, ?)",
                (giveaway_id, user_id, now, media_time),
            )
            return bool(cur.rowcount == 1)

    async def entrants(self, giveaway_id: int) -> list[int]:
        """Every entrant's user id, sorted."""
        rows = await self._db.fetchall(
            "SELECT user_id FROM giveaway_entries WHERE giveaway_id = ? ORDER BY user_id",
            (giveaway_id,),
        )
        return [int(r["user_id"]) for r in rows]

    async def count(self, giveaway_id: int) -> int:
        """How many entered."""
        value = await self._db.fetchval(
            "SELECT COUNT(*) FROM giveaway_entries WHERE giveaway_id = ?", (giveaway_id,)
        )
        return int(value or 0)

    async def record_draw(
        self,
        giveaway_id: int,
        *,
        status: str,
        now: float,
        media_time: float | None,
        entrants: int,
        list_hash: str,
        attempts: Sequence[Attempt],
        winner_id: int | None,
        winner_name: str | None,
    ) -> None:
        """Stores the draw with everything needed to check it."""
        detail = [
            {"attempt": a.attempt, "user_id": a.user_id, "present": a.present} for a in attempts
        ]
        await self._db.execute(
            "UPDATE giveaways SET status = ?, drawn_at = ?, drawn_media_time = ?, entrants = ?,"
            " entrants_hash = ?, attempts_json = ?, winner_id = ?, winner_name = ? WHERE id = ?",
            (
                status,
                now,
                media_time,
                entrants,
                list_hash,
                json.dumps(detail),
                winner_id,
                winner_name,
                giveaway_id,
            ),
        )

    async def follows(self, follower_id: int, followee_id: int) -> bool:
        """Whether a viewer follows the host (the posts feature's follows table)."""
        value = await self._db.fetchval(
            "SELECT 1 FROM follows WHERE follower_id = ? AND followee_id = ?",
            (follower_id, followee_id),
        )
        return value is not None

    async def bought_in(self, session_id: int, buyer_id: int) -> bool:
        """Whether a viewer has an order (not given back) from this show."""
        value = await self._db.fetchval(
            "SELECT 1 FROM orders WHERE session_id = ? AND buyer_id = ?"
            " AND status IN ('pending_payment', 'confirmed', 'paid') LIMIT 1",
            (session_id, buyer_id),
        )
        return value is not None
