"""Analytics and ledger reads, card/cart event writes and commission rates."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from live_server.platform.db import Database

logger = logging.getLogger(__name__)

# What SQLite raises for a row it cannot take (UnicodeEncodeError is a ValueError).
_REFUSED = (sqlite3.Error, ValueError, OverflowError)

# Orders that count as sales (pending ones are shown apart, released ones not at all).
_SOLD = "('confirmed', 'paid')"
_COUNTED = "('pending_payment', 'confirmed', 'paid')"
# What an order's goods brought in once refunds are taken off (a refund comes out of the
# goods first), and the creator's commission on that share (rounded down).
_GOODS = "(subtotal_minor - discount_minor)"
_NET = f"MAX(0, {_GOODS} - refunded_minor)"
_NET_COMMISSION = (
    f"(CASE WHEN {_GOODS} > 0 THEN commission_minor * {_NET} / {_GOODS} ELSE commission_minor END)"
)


class AnalyticsRepository:
    """Reads across the room's tables and ours; writes only commerce events and rates."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._tables: dict[str, bool] = {}

    async def has_table(self, name: str) -> bool:
        """Whether another area's table exists yet (their migrations may not be in)."""
        if not self._tables.get(name):
            row = await self._db.fetchone(
                "SELECT 1 AS ok FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
            )
            self._tables[name] = row is not None
        return self._tables[name]

    # -- events -----------------------------------------------------------------------

    async def add_events(self, rows: Sequence[tuple[int, int, str, str, float]]) -> int:
        """Store (session_id, product_id, kind, viewer_key, created_at) rows, one statement per
        1,000; returns how many were stored. A chunk the database refuses is written again row
        by row, so a row it cannot take (text it cannot encode, a value out of range) is
        logged and dropped alone instead of taking every other viewer's events with it."""
        written = 0
        for start in range(0, len(rows), 1000):
            chunk = rows[start : start + 1000]
            try:
                await self._insert_events(chunk)
                written += len(chunk)
            except _REFUSED:
                dropped: list[tuple[object, BaseException]] = []
                for row in chunk:
                    try:
                        await self._insert_events([row])
                        written += 1
                    except _REFUSED as exc:
                        dropped.append((row[0], exc))
                if dropped:
                    logger.warning(
                        "dropped %d commerce event(s) the database refused (sessions %s): %r",
                        len(dropped),
                        sorted({str(sid) for sid, _ in dropped}),
                        dropped[0][1],
                    )
        return written

    async def _insert_events(self, rows: Sequence[tuple[int, int, str, str, float]]) -> None:
        await self._db.execute(
            "INSERT INTO commerce_events (session_id, product_id, kind, viewer_key, created_at)"
            " VALUES " + ", ".join("(?, ?, ?, ?, ?)" for _ in rows),
            [v for row in rows for v in row],
        )

    # -- session analytics ------------------------------------------------------------

    async def room_minutes(self, session_id: int) -> list[dict[str, Any]]:
        """The room's per-minute counters for a session ([] before the room area lands)."""
        if not await self.has_table("room_minute_stats"):
            return []
        rows = await self._db.fetchall(
            "SELECT minute, viewers_max, reactions, chat_messages FROM room_minute_stats"
            " WHERE session_id = ? ORDER BY minute",
            (session_id,),
        )
        return [dict(r) for r in rows]

    async def watch_seconds(self, session_id: int) -> list[float]:
        """One watch time per unique viewer."""
        if not await self.has_table("session_viewers"):
            return []
        rows = await self._db.fetchall(
            "SELECT watch_seconds FROM session_viewers WHERE session_id = ?", (session_id,)
        )
        return [float(r["watch_seconds"] or 0.0) for r in rows]

    async def chat_count(self, session_id: int) -> int | None:
        """Visible chat messages of a session, or None without a chat table."""
        if not await self.has_table("chat_messages"):
            return None
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS n FROM chat_messages WHERE session_id = ? AND deleted_at IS NULL",
            (session_id,),
        )
        return int(row["n"]) if row is not None else 0

    async def order_times(self, session_id: int) -> list[dict[str, Any]]:
        """(created_at, total_minor) of the session's counted orders, for the timeline."""
        rows = await self._db.fetchall(
            "SELECT created_at, subtotal_minor - discount_minor AS total_minor FROM orders"
            " WHERE session_id = ?"
            f" AND status IN {_COUNTED} ORDER BY created_at",
            (session_id,),
        )
        return [dict(r) for r in rows]

    async def order_totals(self, session_id: int) -> dict[str, Any]:
        """Orders, buyers and revenue of a session (first currency wins for display).
        Revenue is what the goods sold for (after coupons) less what was refunded (a refund
        comes out of the goods first): shipping and tax are not sales."""
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS orders, COUNT(DISTINCT buyer_id) AS buyers,"
            f" COALESCE(SUM({_NET}), 0) AS revenue_minor,"
            " MIN(currency) AS currency"
            f" FROM orders WHERE session_id = ? AND status IN {_COUNTED}",
            (session_id,),
        )
        return dict(row) if row is not None else {}

    async def product_orders(self, session_id: int) -> list[dict[str, Any]]:
        """Per product: orders, units and revenue in a session; a product sold by size
        counts its sizes together, under its own title (the orders CSV has each size)."""
        rows = await self._db.fetchall(
            "SELECT COALESCE(p.parent_id, i.product_id) AS product_id,"
            " MAX(COALESCE(lp.title, i.title)) AS title, COUNT(DISTINCT i.order_id) AS orders,"
            " SUM(i.quantity) AS units, SUM(i.quantity * i.unit_price_minor) AS revenue_minor"
            " FROM order_items i JOIN orders o ON o.id = i.order_id"
            " LEFT JOIN products p ON p.id = i.product_id"
            " LEFT JOIN products lp ON lp.id = p.parent_id"
            f" WHERE o.session_id = ? AND o.status IN {_COUNTED}"
            " GROUP BY COALESCE(p.parent_id, i.product_id)",
            (session_id,),
        )
        return [dict(r) for r in rows]

    async def product_events(self, session_id: int) -> list[dict[str, Any]]:
        """Per product and kind: how many events (views count once per viewer); a size
        added to a cart counts for its product."""
        rows = await self._db.fetchall(
            "SELECT COALESCE(p.parent_id, e.product_id) AS product_id, e.kind, COUNT(*) AS n,"
            " COUNT(DISTINCT e.viewer_key) AS viewers FROM commerce_events e"
            " LEFT JOIN products p ON p.id = e.product_id WHERE e.session_id = ?"
            " GROUP BY COALESCE(p.parent_id, e.product_id), e.kind",
            (session_id,),
        )
        return [dict(r) for r in rows]

    async def product_titles(self, product_ids: Sequence[int]) -> dict[int, str]:
        """Titles of products (deleted ones too)."""
        if not product_ids:
            return {}
        rows = await self._db.fetchall(
            f"SELECT id, title FROM products WHERE id IN ({', '.join('?' * len(product_ids))})",
            list(product_ids),
        )
        return {int(r["id"]): str(r["title"]) for r in rows}

    async def session_orders(self, session_id: int) -> list[dict[str, Any]]:
        """Every counted order line of a session for the CSV export (no buyer personal data)."""
        rows = await self._db.fetchall(
            "SELECT o.id AS order_id, o.created_at, o.status, o.media_time, o.source_type,"
            " i.product_id, i.title, i.quantity, i.unit_price_minor, i.currency, i.flash_sale_id"
            " FROM orders o JOIN order_items i ON i.order_id = o.id"
            f" WHERE o.session_id = ? AND o.status IN {_COUNTED} ORDER BY o.created_at",
            (session_id,),
        )
        return [dict(r) for r in rows]

    async def recent_orders(self, session_id: int, limit: int = 10) -> list[dict[str, Any]]:
        """The session's newest orders for the studio ticker (no buyer data)."""
        rows = await self._db.fetchall(
            "SELECT o.id, o.created_at, o.status, o.total_minor, o.currency,"
            " SUM(i.quantity) AS units, GROUP_CONCAT(i.title, ', ') AS titles"
            " FROM orders o JOIN order_items i ON i.order_id = o.id"
            f" WHERE o.session_id = ? AND o.status IN {_COUNTED}"
            " GROUP BY o.id ORDER BY o.created_at DESC LIMIT ?",
            (session_id, limit),
        )
        return [dict(r) for r in rows]

    # -- commission and ledger --------------------------------------------------------

    async def commission_rate(self, creator_id: int) -> int | None:
        """A creator's own rate in basis points, or None to use the default."""
        row = await self._db.fetchone(
            "SELECT rate_bp FROM commission_rates WHERE creator_id = ?", (creator_id,)
        )
        return int(row["rate_bp"]) if row is not None else None

    async def set_commission_rate(
        self, creator_id: int, rate_bp: int, updated_by: int, now: float
    ) -> None:
        """Set a creator's rate (applies to orders placed from now on)."""
        await self._db.execute(
            "INSERT INTO commission_rates (creator_id, rate_bp, updated_by, updated_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (creator_id) DO UPDATE SET"
            " rate_bp = excluded.rate_bp, updated_by = excluded.updated_by,"
            " updated_at = excluded.updated_at",
            (creator_id, rate_bp, updated_by, now),
        )

    async def ledger_totals(self, creator_id: int) -> list[dict[str, Any]]:
        """Per currency and sold/pending: orders, gross and commission attributed to a creator
        (both net of refunds)."""
        rows = await self._db.fetchall(
            "SELECT currency, CASE WHEN status = 'pending_payment' THEN 'pending' ELSE 'sold' END"
            f" AS state, COUNT(*) AS orders, SUM({_NET}) AS gross_minor,"
            f" SUM({_NET_COMMISSION}) AS commission_minor FROM orders"
            f" WHERE creator_id = ? AND status IN {_COUNTED} GROUP BY currency, state",
            (creator_id,),
        )
        return [dict(r) for r in rows]

    async def ledger_by_source(self, creator_id: int) -> list[dict[str, Any]]:
        """Sold totals per source type (live / clip / post)."""
        rows = await self._db.fetchall(
            "SELECT source_type, currency, COUNT(*) AS orders,"
            f" SUM({_NET}) AS gross_minor, SUM({_NET_COMMISSION}) AS commission_minor FROM orders"
            f" WHERE creator_id = ? AND status IN {_SOLD} GROUP BY source_type, currency",
            (creator_id,),
        )
        return [dict(r) for r in rows]

    async def ledger_entries(
        self, creator_id: int, limit: int, before: float | None
    ) -> list[dict[str, Any]]:
        """A creator's attributed orders, newest first (no buyer data)."""
        rows = await self._db.fetchall(
            "SELECT id, created_at, status, source_type, source_id, session_id, media_time,"
            f" total_minor, refunded_minor, currency, commission_rate_bp,"
            f" {_NET_COMMISSION} AS commission_minor FROM orders"
            f" WHERE creator_id = ? AND status IN {_COUNTED} AND created_at < ?"
            " ORDER BY created_at DESC LIMIT ?",
            (creator_id, before if before is not None else 1e12, limit),
        )
        return [dict(r) for r in rows]


class CreatorLookup:
    """Finds the creator behind a clip, a post or a show's replay in the content area's
    tables (a deleted clip or post, or a show with no replay made or being made, has none).

    Those tables belong to another area and may not exist yet (or may name columns
    differently); any such failure means "no known creator", never an error.
    """

    _QUERIES: dict[str, tuple[str, ...]] = {
        "clip": (
            "SELECT host_id AS creator FROM clips WHERE id = ? AND deleted_at IS NULL",
            "SELECT s.host_id AS creator FROM clips c JOIN live_sessions s"
            " ON s.id = c.session_id WHERE c.id = ? AND c.deleted_at IS NULL",
        ),
        "post": ("SELECT author_id AS creator FROM posts WHERE id = ? AND deleted_at IS NULL",),
        # a replay is the show's (id = the session), credited to its host: the show ended
        # and its replay is processed, or being made (the instant replay plays meanwhile)
        "replay": (
            "SELECT s.host_id AS creator FROM live_sessions s WHERE s.id = ?"
            " AND s.state = 'ended' AND (EXISTS (SELECT 1 FROM replays r"
            " WHERE r.session_id = s.id) OR EXISTS (SELECT 1 FROM processing_jobs j"
            " WHERE j.session_id = s.id AND j.state != 'failed'))",
        ),
    }

    _PRODUCTS: dict[str, str] = {
        "clip": "SELECT product_id FROM clip_products WHERE clip_id = ?",
        "post": "SELECT product_id FROM post_products WHERE post_id = ?",
        "replay": "SELECT product_id FROM session_products WHERE session_id = ?",
    }

    def __init__(self, db: Database) -> None:
        self._db = db

    async def products_of(self, source_type: str, source_id: int) -> frozenset[int]:
        """The products a clip or a post tags, or a replayed show's line-up (none when the
        table or the row is missing)."""
        sql = self._PRODUCTS.get(source_type)
        if sql is None:
            return frozenset()
        try:
            rows = await self._db.fetchall(sql, (source_id,))
        except sqlite3.Error:
            return frozenset()
        return await self.with_variants(int(r["product_id"]) for r in rows)

    async def with_variants(self, product_ids: Iterable[int]) -> frozenset[int]:
        """The products and their live variants: what showing a product sells (a buyer
        picks a size of what the show pinned or the clip tagged)."""
        ids = frozenset(product_ids)
        if not ids:
            return ids
        rows = await self._db.fetchall(
            f"SELECT id FROM products WHERE parent_id IN ({', '.join('?' * len(ids))})"
            " AND deleted_at IS NULL",
            sorted(ids),
        )
        return ids | {int(r["id"]) for r in rows}

    async def creator_of(self, source_type: str, source_id: int) -> int | None:
        """The clip's or the replayed show's host, the post's author, or None."""
        for sql in self._QUERIES.get(source_type, ()):
            try:
                row = await self._db.fetchone(sql, (source_id,))
            except sqlite3.Error:
                continue
            return int(row["creator"]) if row is not None and row["creator"] is not None else None
        return None
