"""Fulfilment in SQLite: a seller's orders, shipments, refunds and restocking.

Every change that must not race is one conditional statement: an order is marked shipped
only while it is confirmed or paid, unshipped and not refunded in full; a refund first
reserves its amount (`refunded_minor + amount <= total_minor`) before the provider is
asked, so two refunds at once can never give back more than was paid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from live_server.commerce.checkout.order_rows import ORDER_SELECT, order_from_row
from live_server.commerce.checkout.writer import marks
from live_server.platform.db import Database, Transaction
from live_server.platform.timefmt import iso


@dataclass(frozen=True, slots=True)
class RefundRecord:
    """A refund as stored: its id and the stock of the products it put back."""

    refund_id: int
    stock_after: dict[int, int]


class FulfilmentStore:
    """Reads and writes of fulfilment (the orders' own rows and `order_refunds`)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def seller_orders(self, seller_id: int, limit: int = 500) -> list[dict[str, Any]]:
        """Orders holding this seller's items, newest first, with their refunds."""
        ids = [
            str(r["order_id"])
            for r in await self._db.fetchall(
                "SELECT DISTINCT i.order_id FROM order_items i JOIN orders o ON o.id = i.order_id"
                " WHERE i.seller_id = ? ORDER BY o.created_at DESC LIMIT ?",
                (seller_id, limit),
            )
        ]
        return await self.orders(ids)

    async def orders(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """These orders (in the order given) with their items and refunds."""
        if not ids:
            return []
        qs = marks(len(ids))
        rows = {
            r["id"]: r
            for r in await self._db.fetchall(ORDER_SELECT + f" WHERE id IN ({qs})", list(ids))
        }
        items: dict[str, list[Any]] = {}
        for it in await self._db.fetchall(
            f"SELECT * FROM order_items WHERE order_id IN ({qs}) ORDER BY rowid", list(ids)
        ):
            items.setdefault(it["order_id"], []).append(it)
        refunds: dict[str, list[dict[str, Any]]] = {}
        for rf in await self._db.fetchall(
            "SELECT id, order_id, amount_minor, currency, restocked, reason, created_at"
            f" FROM order_refunds WHERE order_id IN ({qs}) ORDER BY id",
            list(ids),
        ):
            refunds.setdefault(rf["order_id"], []).append(
                {
                    "id": rf["id"],
                    "amount_minor": rf["amount_minor"],
                    "currency": rf["currency"],
                    "restocked": bool(rf["restocked"]),
                    "reason": rf["reason"],
                    "created_at": iso(rf["created_at"], "seconds"),
                }
            )
        out = []
        for order_id in ids:
            row = rows.get(order_id)
            if row is not None:
                order = order_from_row(row, items.get(order_id, []))
                order["refunds"] = refunds.get(order_id, [])
                order["seller_ids"] = sorted(
                    {int(it["seller_id"]) for it in items.get(order_id, []) if it["seller_id"]}
                )
                out.append(order)
        return out

    async def order(self, order_id: str) -> dict[str, Any] | None:
        """One order with its items, refunds and sellers."""
        found = await self.orders([order_id])
        return found[0] if found else None

    async def mark_shipped(
        self, order_id: str, carrier: str, tracking: str, by: int, now: float
    ) -> bool:
        """Records the shipment if the order may still ship (one conditional update)."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "UPDATE orders SET carrier = ?, tracking_number = ?, shipped_at = ?,"
                " shipped_by = ?, updated_at = ? WHERE id = ? AND status IN ('confirmed', 'paid')"
                " AND shipped_at IS NULL AND (refunded_minor = 0 OR refunded_minor < total_minor)"
                " RETURNING id",
                (carrier, tracking, now, by, now, order_id),
            )
            return row is not None

    async def reserve_refund(
        self, order_id: str, amount: int, *, unshipped: bool = False
    ) -> int | None:
        """Adds `amount` to the order's refunded total if it stays within what was paid
        (and, with `unshipped`, while the order has not shipped: a buyer's cancel); returns
        the refunded total before it, or None when it would not fit."""
        shipped = " AND shipped_at IS NULL" if unshipped else ""
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "UPDATE orders SET refunded_minor = refunded_minor + ? WHERE id = ?"
                f" AND refunded_minor + ? <= total_minor{shipped} RETURNING refunded_minor",
                (amount, order_id, amount),
            )
            return None if row is None else int(row["refunded_minor"]) - amount

    async def undo_reservation(self, order_id: str, amount: int) -> None:
        """The provider refused the refund: the reserved amount is free again."""
        await self._db.execute(
            "UPDATE orders SET refunded_minor = MAX(0, refunded_minor - ?) WHERE id = ?",
            (amount, order_id),
        )

    async def record_refund(
        self,
        order: dict[str, Any],
        *,
        amount: int,
        provider_refund_id: str | None,
        payment_status: str,
        restock: bool,
        reason: str,
        by: int | None,
        now: float,
    ) -> RefundRecord:
        """Stores a refund the provider made (or the merchant gave, offline) and, when asked,
        puts the order's units back in stock (once: units already back stay out)."""
        async with self._db.transaction() as tx:
            stock_after = await self._restock(tx, str(order["id"])) if restock else {}
            cur = await tx.execute(
                "INSERT INTO order_refunds (order_id, amount_minor, currency, provider,"
                " provider_refund_id, restocked, reason, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    order["id"],
                    amount,
                    order["currency"],
                    order["payment"]["provider"],
                    provider_refund_id,
                    1 if stock_after else 0,
                    reason,
                    by,
                    now,
                ),
            )
            await tx.execute(
                "UPDATE orders SET payment_status = ?, updated_at = ? WHERE id = ?",
                (payment_status, now, order["id"]),
            )
            return RefundRecord(int(cur.lastrowid or 0), stock_after)

    async def _restock(self, tx: Transaction, order_id: str) -> dict[int, int]:
        items = await tx.fetchall(
            "SELECT product_id, SUM(quantity) AS units FROM order_items"
            " WHERE order_id = ? AND active = 1 GROUP BY product_id",
            (order_id,),
        )
        await tx.execute("UPDATE order_items SET active = 0 WHERE order_id = ?", (order_id,))
        stock_after: dict[int, int] = {}
        for it in items:
            got = await tx.fetchone(
                "UPDATE products SET stock = stock + ? WHERE id = ? RETURNING stock",
                (int(it["units"]), int(it["product_id"])),
            )
            if got is not None:
                stock_after[int(it["product_id"])] = int(got["stock"])
        return stock_after
