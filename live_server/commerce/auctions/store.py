"""Auctions in SQLite: the auction row, the bid audit trail and the auction's events.

Bids are decided in the bid book; the audit trail is written behind them in batches
(`AuditWriter`), one row per accepted bid keyed by (auction, seq), so writing the same bid
twice (the closing node reconciling the book's whole log) stores it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from live_server.commerce.auctions.book import BidRecord
from live_server.commerce.auctions.rules import Terms
from live_server.platform.db import Database

logger = logging.getLogger(__name__)

_COLUMNS = (
    "id, session_id, product_id, seller_id, started_by, title, currency, quantity,"
    " start_price_minor, reserve_minor, mode, window_s, reset_s, duration_s,"
    " on_payment_failure, status, result, started_at, started_media_time, ends_at, closed_at,"
    " closed_media_time, price_minor, bids, winner_id, winner_name, order_id, offers"
)
FLUSH_EVERY_S = 0.2


class AuctionBusy(RuntimeError):
    """The show already runs an auction."""


@dataclass(frozen=True, slots=True)
class AuditedBid:
    """An accepted bid with the media time it came at, ready for the audit table."""

    record: BidRecord
    media_time: float | None


class AuctionsRepository:
    """Auction rows, their bids and events."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        *,
        session_id: int,
        product_id: int,
        seller_id: int,
        started_by: int,
        title: str,
        currency: str,
        terms: Terms,
        now: float,
        media_time: float | None,
    ) -> dict[str, Any]:
        """Stores a running auction; AuctionBusy if the show already has one."""
        try:
            async with self._db.transaction() as tx:
                row = await tx.fetchone(
                    "INSERT INTO auctions (session_id, product_id, seller_id, started_by, title,"
                    " currency, quantity, start_price_minor, reserve_minor, mode, window_s,"
                    " reset_s, duration_s, on_payment_failure, status, started_at,"
                    " started_media_time, ends_at) VALUES"
                    " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)"
                    f" RETURNING {_COLUMNS}",
                    (
                        session_id,
                        product_id,
                        seller_id,
                        started_by,
                        title,
                        currency,
                        terms.quantity,
                        terms.start_price_minor,
                        terms.reserve_minor,
                        terms.mode,
                        terms.window_s,
                        terms.reset_s,
                        terms.duration_s,
                        terms.on_payment_failure,
                        now,
                        media_time,
                        now + terms.duration_s,
                    ),
                )
                assert row is not None
                await self._event(
                    tx, int(row["id"]), "start", {"terms": _terms(terms)}, now, media_time
                )
                return dict(row)
        except Exception as exc:  # the unique index on a show's running auction
            if "UNIQUE" in str(exc) and "auctions" in str(exc):
                raise AuctionBusy(session_id) from None
            raise

    async def get(self, auction_id: int) -> dict[str, Any] | None:
        """One auction row."""
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM auctions WHERE id = ?", (auction_id,)
        )
        return dict(row) if row else None

    async def for_session(self, session_id: int, limit: int = 50) -> list[dict[str, Any]]:
        """A show's auctions, newest first."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM auctions WHERE session_id = ? ORDER BY id DESC LIMIT ?",
            (session_id, limit),
        )
        return [dict(r) for r in rows]

    async def in_progress(self) -> list[dict[str, Any]]:
        """Auctions running or being closed (what a restart must pick up)."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM auctions WHERE status IN ('running', 'closing')"
        )
        return [dict(r) for r in rows]

    async def claim(self, auction_id: int, from_status: str, order_id: str | None = None) -> bool:
        """Moves an auction to `closing` if it is still in `from_status` (one node wins)."""
        sql = "UPDATE auctions SET status = 'closing' WHERE id = ? AND status = ?"
        params: list[Any] = [auction_id, from_status]
        if order_id is not None:
            sql += " AND order_id = ?"
            params.append(order_id)
        async with self._db.transaction() as tx:
            cur = await tx.execute(sql, params)
            return bool(cur.rowcount == 1)

    async def settle(
        self,
        auction_id: int,
        *,
        status: str,
        result: str,
        now: float,
        media_time: float | None,
        bids: int,
        price_minor: int | None,
        winner_id: int | None,
        winner_name: str | None,
        order_id: str | None,
        event: str,
        detail: dict[str, Any],
        offer: bool = False,
    ) -> None:
        """Writes an auction's (new) outcome and the event that says so, together."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE auctions SET status = ?, result = ?, closed_at = COALESCE(closed_at, ?),"
                " closed_media_time = COALESCE(closed_media_time, ?), bids = ?, price_minor = ?,"
                " winner_id = ?, winner_name = ?, order_id = ?, offers = offers + ? WHERE id = ?",
                (
                    status,
                    result,
                    now,
                    media_time,
                    bids,
                    price_minor,
                    winner_id,
                    winner_name,
                    order_id,
                    1 if offer else 0,
                    auction_id,
                ),
            )
            await self._event(tx, auction_id, event, detail, now, media_time)

    async def add_event(
        self, auction_id: int, kind: str, detail: dict[str, Any], now: float, mt: float | None
    ) -> None:
        """One event of an auction's life."""
        async with self._db.transaction() as tx:
            await self._event(tx, auction_id, kind, detail, now, mt)

    @staticmethod
    async def _event(
        tx: Any, auction_id: int, kind: str, detail: dict[str, Any], now: float, mt: float | None
    ) -> None:
        await tx.execute(
            "INSERT INTO auction_events (auction_id, kind, detail_json, server_time, media_time)"
            " VALUES (?, ?, ?, ?, ?)",
            (auction_id, kind, json.dumps(detail, separators=(",", ":")), now, mt),
        )

    async def write_bids(self, bids: Sequence[AuditedBid]) -> None:
        """Stores accepted bids; one already stored is left as it is."""
        if not bids:
            return
        rows = [
            (
                b.record.auction_id,
                b.record.seq,
                b.record.bidder,
                b.record.bidder_name,
                b.record.kind,
                b.record.amount,
                b.record.outcome,
                b.record.price,
                b.record.leader,
                b.record.leader_max,
                1 if b.record.extended else 0,
                b.record.ends_at_ms / 1000,
                b.record.at_ms / 1000,
                b.media_time,
            )
            for b in bids
        ]
        async with self._db.transaction() as tx:
            await tx.executemany(
                "INSERT OR IGNORE INTO auction_bids (auction_id, seq, bidder_id, bidder_name,"
                " kind, amount_minor, outcome, price_minor, leader_id, leader_max_minor,"
                " extended, ends_at, server_time, media_time)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    async def bids(self, auction_id: int) -> list[dict[str, Any]]:
        """Every stored bid of an auction, in the order the book accepted them."""
        rows = await self._db.fetchall(
            "SELECT * FROM auction_bids WHERE auction_id = ? ORDER BY seq", (auction_id,)
        )
        return [dict(r) for r in rows]

    async def events(self, auction_id: int) -> list[dict[str, Any]]:
        """Every event of an auction, oldest first."""
        rows = await self._db.fetchall(
            "SELECT kind, detail_json, server_time, media_time FROM auction_events"
            " WHERE auction_id = ? ORDER BY id",
            (auction_id,),
        )
        return [
            {**dict(r), "detail": json.loads(r["detail_json"]), "detail_json": None} for r in rows
        ]

    async def failed_sales(self) -> list[tuple[int, str]]:
        """Sold auctions whose order gave its units back (payment failed, expired, cancelled)."""
        rows = await self._db.fetchall(
            "SELECT a.id, a.order_id FROM auctions a JOIN orders o ON o.id = a.order_id"
            " WHERE a.status = 'sold' AND o.status IN ('cancelled', 'expired')"
        )
        return [(int(r["id"]), str(r["order_id"])) for r in rows]

    async def order_status(self, order_id: str) -> str | None:
        """The status of an auction's order."""
        value = await self._db.fetchval("SELECT status FROM orders WHERE id = ?", (order_id,))
        return None if value is None else str(value)


def _terms(terms: Terms) -> dict[str, Any]:
    return {
        "start_price_minor": terms.start_price_minor,
        "duration_s": terms.duration_s,
        "mode": terms.mode,
        "window_s": terms.window_s,
        "reset_s": terms.reset_s,
        "reserve_minor": terms.reserve_minor,
        "quantity": terms.quantity,
        "on_payment_failure": terms.on_payment_failure,
    }


class AuditWriter:
    """Writes accepted bids behind the book, a batch every FLUSH_EVERY_S (or on close)."""

    def __init__(self, repo: AuctionsRepository) -> None:
        self._repo = repo
        self._pending: list[AuditedBid] = []
        self._task: asyncio.Task[None] | None = None
        self.batches = 0

    def add(self, bid: AuditedBid) -> None:
        """Queues one accepted bid."""
        self._pending.append(bid)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="auction-audit")

    async def _drain(self) -> None:
        while self._pending:
            await asyncio.sleep(FLUSH_EVERY_S)  # gather a batch: one transaction for many bids
            await self.flush()

    async def flush(self) -> None:
        """Writes everything queued so far."""
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            await self._repo.write_bids(batch)
            self.batches += 1
        except Exception:
            logger.exception("auction audit: %d bid(s) not written; retrying", len(batch))
            self._pending = batch + self._pending

    async def close(self) -> None:
        """Writes what is left (shut-down)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.flush()
