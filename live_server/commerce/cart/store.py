"""Carts and saved checkout profiles (address + payment method name, never card data)."""

from __future__ import annotations

import json
from typing import Any

from live_server.commerce.rules.basics import Address, address_from_dict
from live_server.platform.db import Database


class CartsRepository:
    """One cart per user, one row per product; plus the one-tap checkout profile."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def lines(self, user_id: int) -> list[dict[str, Any]]:
        """The user's cart lines joined with the live product data, oldest first."""
        rows = await self._db.fetchall(
            "SELECT c.product_id, c.quantity, c.source_type, c.source_id, c.added_at,"
            " p.title, p.price_minor, p.currency, p.stock, p.images, p.deleted_at"
            " FROM cart_items c LEFT JOIN products p ON p.id = c.product_id"
            " WHERE c.user_id = ? ORDER BY c.added_at, c.product_id",
            (user_id,),
        )
        return [dict(r) for r in rows]

    async def count_lines(self, user_id: int) -> int:
        """How many distinct products the cart holds."""
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS n FROM cart_items WHERE user_id = ?", (user_id,)
        )
        return int(row["n"]) if row is not None else 0

    async def put(
        self,
        user_id: int,
        product_id: int,
        quantity: int,
        source_type: str,
        source_id: int | None,
        now: float,
        *,
        add: bool,
    ) -> int:
        """Add to (add=True) or set a line's quantity; returns the new quantity."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO cart_items (user_id, product_id, quantity, source_type, source_id,"
                " added_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (user_id, product_id) DO UPDATE SET"
                " quantity = CASE WHEN ? THEN MIN(99, cart_items.quantity + excluded.quantity)"
                " ELSE excluded.quantity END,"
                " source_type = excluded.source_type, source_id = excluded.source_id"
                " RETURNING quantity",
                (user_id, product_id, quantity, source_type, source_id, now, 1 if add else 0),
            )
        return int(row["quantity"]) if row is not None else quantity

    async def remove(self, user_id: int, product_id: int) -> bool:
        """Drop one line; True if it was there."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "DELETE FROM cart_items WHERE user_id = ? AND product_id = ? RETURNING product_id",
                (user_id, product_id),
            )
        return row is not None

    async def clear(self, user_id: int, product_ids: list[int] | None = None) -> None:
        """Empty the cart, or only the given products (those that were just ordered)."""
        if product_ids is None:
            await self._db.execute("DELETE FROM cart_items WHERE user_id = ?", (user_id,))
            return
        if not product_ids:
            return
        marks = ", ".join("?" * len(product_ids))
        await self._db.execute(
            f"DELETE FROM cart_items WHERE user_id = ? AND product_id IN ({marks})",
            (user_id, *product_ids),
        )

    async def get_profile(self, user_id: int) -> tuple[Address, str, bool] | None:
        """(address, payment method, show first name) or None when nothing is saved."""
        row = await self._db.fetchone(
            "SELECT address_json, payment_method, show_first_name FROM checkout_profiles"
            " WHERE user_id = ?",
            (user_id,),
        )
        if row is None:
            return None
        address = address_from_dict(json.loads(row["address_json"]))
        return address, str(row["payment_method"]), bool(row["show_first_name"])

    async def save_profile(
        self, user_id: int, address: Address, payment_method: str, show_first_name: bool, now: float
    ) -> None:
        """Create or replace the user's checkout profile."""
        await self._db.execute(
            "INSERT INTO checkout_profiles (user_id, address_json, payment_method, show_first_name,"
            " updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
            " address_json = excluded.address_json, payment_method = excluded.payment_method,"
            " show_first_name = excluded.show_first_name, updated_at = excluded.updated_at",
            (user_id, json.dumps(address.as_dict()), payment_method, int(show_first_name), now),
        )
