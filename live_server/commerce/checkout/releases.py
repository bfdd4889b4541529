"""Giving units back: hold expiry, cancellation and failed payments.

An order in `pending_payment` is a reservation with a hold time (see docs/commerce.md);
when the hold runs out, the buyer cancels or the payment fails, its items stop counting
and their units go back to the product's stock and to the flash sale they came from, in
the same transaction that changes the order's status.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from live_server.commerce.checkout.outcomes import Released
from live_server.commerce.checkout.writer import marks
from live_server.commerce.rules.basics import ACTIVE_STATUSES, CONFIRMED, PENDING_PAYMENT
from live_server.commerce.rules.orders import (
    PAYMENT_AUTHORIZED,
    releases_units,
    status_after_payment_event,
)
from live_server.platform.db import Database, Transaction

logger = logging.getLogger(__name__)


class UnitReleases:
    """Every write that puts units back into stock (mixed into `ReservationStore`)."""

    _db: Database

    async def release_expired(self, now: float, limit: int = 500) -> Released | None:
        """Expire unpaid orders whose hold is over and give their units back."""
        due = await self._db.fetchone(  # a look on the reader first: no write lock when idle
            "SELECT 1 AS due FROM orders WHERE status = 'pending_payment'"
            " AND hold_expires_at <= ? LIMIT 1",
            (now,),
        )
        if due is None:
            return None
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT id FROM orders WHERE status = 'pending_payment' AND hold_expires_at <= ?"
                " ORDER BY hold_expires_at LIMIT ?",
                (now, limit),
            )
            if not rows:
                return None
            ids = [r["id"] for r in rows]
            return await self._release(tx, ids, "expired", "expired", now)

    async def cancel(
        self,
        order_id: str,
        buyer_id: int,
        now: float,
        statuses: tuple[str, ...] = (PENDING_PAYMENT, CONFIRMED),
    ) -> Released | None:
        """Cancel a buyer's order in one of `statuses` that has not shipped; None if it
        can't be cancelled (fulfilment decides the window and gives the money back)."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT status, shipped_at FROM orders WHERE id = ? AND buyer_id = ?",
                (order_id, buyer_id),
            )
            if row is None or row["status"] not in statuses or row["shipped_at"] is not None:
                return None
            return await self._release(tx, [order_id], "cancelled", "cancelled", now)

    async def _release(
        self,
        tx: Transaction,
        order_ids: Sequence[str],
        status: str,
        payment_status: str,
        now: float,
    ) -> Released:
        ids = marks(len(order_ids))
        items = await tx.fetchall(
            "SELECT product_id, flash_sale_id, SUM(quantity) AS units FROM order_items"
            f" WHERE order_id IN ({ids}) AND active = 1 GROUP BY product_id, flash_sale_id",
            list(order_ids),
        )
        await tx.execute(
            f"UPDATE order_items SET active = 0 WHERE order_id IN ({ids})", list(order_ids)
        )
        active = marks(len(ACTIVE_STATUSES))
        await tx.execute(
            "UPDATE orders SET status = ?, payment_status = ?, updated_at = ?,"
            f" hold_expires_at = NULL WHERE id IN ({ids}) AND status IN ({active})",
            [status, payment_status, now, *order_ids, *ACTIVE_STATUSES],
        )
        per_product: dict[int, int] = {}
        per_sale: dict[int, int] = {}
        for it in items:
            pid = int(it["product_id"])
            per_product[pid] = per_product.get(pid, 0) + int(it["units"])
            if it["flash_sale_id"]:
                per_sale[it["flash_sale_id"]] = per_sale.get(it["flash_sale_id"], 0) + int(
                    it["units"]
                )
        stock_after: dict[int, int] = {}
        for pid, units in per_product.items():
            got = await tx.fetchone(
                "UPDATE products SET stock = stock + ? WHERE id = ? RETURNING stock", (units, pid)
            )
            if got is not None:
                stock_after[pid] = int(got["stock"])
        sales_after: dict[int, int] = {}
        for sale_id, units in per_sale.items():
            got = await tx.fetchone(
                "UPDATE flash_sales SET remaining = MIN(quantity, remaining + ?) WHERE id = ?"
                " RETURNING remaining",
                (units, sale_id),
            )
            if got is not None:
                sales_after[sale_id] = int(got["remaining"])
        logger.info("released %d order(s) as %s: %s", len(order_ids), status, per_product)
        return Released(tuple(order_ids), stock_after, sales_after)

    # -- payments ---------------------------------------------------------------------

    async def apply_payment_event(
        self, *, provider: str, event_id: str, order_id: str, event_type: str, now: float
    ) -> tuple[str | None, str | None, Released | None]:
        """Apply a verified payment event once; returns (old status, new status, released)."""
        async with self._db.transaction() as tx:
            fresh = await tx.fetchone(
                "INSERT INTO payment_webhook_events (provider, event_id, order_id, received_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING event_id",
                (provider, event_id, order_id, now),
            )
            row = await tx.fetchone(
                "SELECT status FROM orders WHERE id = ? AND payment_provider = ?",
                (order_id, provider),
            )
            if row is None:
                return None, None, None
            old = str(row["status"])
            if fresh is None:
                return old, None, None
            new = status_after_payment_event(old, event_type)
            if new is None:
                return old, None, None
            if releases_units(old, new):
                released = await self._release(tx, [order_id], new, "failed", now)
                return old, new, released
            paid = "authorized" if event_type == PAYMENT_AUTHORIZED else "paid"
            await tx.execute(
                "UPDATE orders SET status = ?, payment_status = ?, hold_expires_at = NULL,"
                " updated_at = ? WHERE id = ?",
                (new, paid, now, order_id),
            )
            return old, new, None
