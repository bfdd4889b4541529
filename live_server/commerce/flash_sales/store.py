"""Flash sales in SQLite."""

from __future__ import annotations

from typing import Any

from live_server.commerce.rules.inventory import FlashSaleSpec
from live_server.platform.db import Database

_COLUMNS = (
    "id, session_id, product_id, created_by, price_minor, list_price_minor, currency,"
    " quantity, remaining, per_buyer_limit, starts_at, ends_at, ended_early_at"
)


class FlashSaleBusy(RuntimeError):
    """The product already has a running flash sale."""


class FlashSalesRepository:
    """Stores sales; the units-left counter is decremented by the checkout transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        *,
        session_id: int,
        spec: FlashSaleSpec,
        list_price_minor: int,
        currency: str,
        created_by: int,
        now: float,
    ) -> dict[str, Any]:
        """Store a sale starting now; raises FlashSaleBusy if one is already running."""
        async with self._db.transaction() as tx:
            busy = await tx.fetchone(
                "SELECT id FROM flash_sales WHERE product_id = ? AND ended_early_at IS NULL"
                " AND ends_at > ? AND remaining > 0",
                (spec.product_id, now),
            )
            if busy is not None:
                raise FlashSaleBusy(busy["id"])
            # a sold-out drop whose timer still runs gives way to the new one
            await tx.execute(
                "UPDATE flash_sales SET ended_early_at = ? WHERE product_id = ?"
                " AND ended_early_at IS NULL AND ends_at > ?",
                (now, spec.product_id, now),
            )
            row = await tx.fetchone(
                "INSERT INTO flash_sales (session_id, product_id, created_by, price_minor,"
                " list_price_minor, currency, quantity, remaining, per_buyer_limit, starts_at,"
                f" ends_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
                (
                    session_id,
                    spec.product_id,
                    created_by,
                    spec.price_minor,
                    list_price_minor,
                    currency,
                    spec.quantity,
                    spec.quantity,
                    spec.per_buyer_limit,
                    now,
                    now + spec.duration_s,
                ),
            )
        assert row is not None
        return dict(row)

    async def get(self, sale_id: int) -> dict[str, Any] | None:
        """One sale or None."""
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM flash_sales WHERE id = ?", (sale_id,)
        )
        return dict(row) if row is not None else None

    async def end_early(self, sale_id: int, now: float) -> bool:
        """Stop a running sale now; False if it had already ended."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "UPDATE flash_sales SET ended_early_at = ? WHERE id = ? AND ended_early_at IS NULL"
                " AND ends_at > ? RETURNING id",
                (now, sale_id, now),
            )
        return row is not None

    async def for_session(self, session_id: int, limit: int = 50) -> list[dict[str, Any]]:
        """A session's sales, newest first."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM flash_sales WHERE session_id = ?"
            " ORDER BY starts_at DESC LIMIT ?",
            (session_id, limit),
        )
        return [dict(r) for r in rows]

    async def running(self, now: float, grace_s: float = 15.0) -> list[dict[str, Any]]:
        """Sales still running, or ended within `grace_s` (so cards can show "ended")."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM flash_sales WHERE ends_at > ? ORDER BY starts_at",
            (now - grace_s,),
        )
        return [dict(r) for r in rows]
