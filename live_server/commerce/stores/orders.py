"""Orders: reading them back (a buyer's list, one order, replays) and small updates.

The writes that move stock (checkout batches, expiry, cancellation, payment outcomes) live
in `reservations.ReservationStore`, which `OrdersRepository` extends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from live_server.commerce.checkout.order_rows import ORDER_SELECT, order_from_row
from live_server.commerce.checkout.reservations import ReservationStore
from live_server.commerce.checkout.writer import chunks, marks


class OrdersRepository(ReservationStore):
    """Orders and their items in SQLite."""

    async def set_payment_reference(self, order_id: str, reference: str) -> None:
        """Remember the provider's reference for an order."""
        await self._db.execute(
            "UPDATE orders SET payment_ref = ? WHERE id = ?", (reference, order_id)
        )

    async def order_for_reference(self, provider: str, reference: str) -> str | None:
        """The order a provider's payment reference belongs to, or None."""
        value = await self._db.fetchval(
            "SELECT id FROM orders WHERE payment_provider = ? AND payment_ref = ?",
            (provider, reference),
        )
        return str(value) if value is not None else None

    # -- reads ------------------------------------------------------------------------

    async def get(self, order_id: str) -> dict[str, Any] | None:
        """One order with its items, or None."""
        row = await self._db.fetchone(ORDER_SELECT + " WHERE id = ?", (order_id,))
        if row is None:
            return None
        items = await self._db.fetchall(
            "SELECT * FROM order_items WHERE order_id = ? ORDER BY rowid", (order_id,)
        )
        return order_from_row(row, items)

    async def find_by_key(
        self, buyer_id: int, idempotency_key: str
    ) -> tuple[dict[str, Any], str] | None:
        """The order a buyer's Idempotency-Key already produced, with the fingerprint of the
        request that produced it, if any."""
        row = await self._db.fetchone(
            "SELECT id, request_fingerprint FROM orders WHERE buyer_id = ? AND idempotency_key = ?",
            (buyer_id, idempotency_key),
        )
        if row is None:
            return None
        order = await self.get(row["id"])
        return (order, str(row["request_fingerprint"])) if order is not None else None

    async def list_for_buyer(
        self, buyer_id: int, *, limit: int = 50, before: float | None = None
    ) -> list[dict[str, Any]]:
        """A buyer's orders, newest first."""
        rows = await self._db.fetchall(
            ORDER_SELECT
            + " WHERE buyer_id = ? AND created_at < ? ORDER BY created_at DESC LIMIT ?",
            (buyer_id, before if before is not None else 1e12, limit),
        )
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        items = await self._db.fetchall(
            f"SELECT * FROM order_items WHERE order_id IN ({marks(len(ids))}) ORDER BY rowid", ids
        )
        by_order: dict[str, list[Any]] = {}
        for it in items:
            by_order.setdefault(it["order_id"], []).append(it)
        return [order_from_row(r, by_order.get(r["id"], [])) for r in rows]

    async def stock_levels(self, product_ids: Sequence[int]) -> dict[int, int]:
        """Current stock of some products (deleted ones left out)."""
        levels: dict[int, int] = {}
        for chunk in chunks(list(product_ids)):
            rows = await self._db.fetchall(
                f"SELECT id, stock FROM products WHERE id IN ({marks(len(chunk))})"
                " AND deleted_at IS NULL",
                list(chunk),
            )
            for r in rows:
                levels[int(r["id"])] = int(r["stock"])
        return levels
