"""Products repository."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from live_server.catalog.rules import Product
from live_server.platform.db import Database

_COLUMNS = {
    "title",
    "description",
    "price_minor",
    "currency",
    "category",
    "stock",
    "per_buyer_limit",
    "weight_g",
}


def product_from_row(row: sqlite3.Row) -> Product:
    """Maps a `products` row (other areas reuse this)."""
    return Product(
        id=row["id"],
        owner_id=row["owner_id"],
        title=row["title"],
        description=row["description"],
        price_minor=row["price_minor"],
        currency=row["currency"],
        category=row["category"],
        stock=row["stock"],
        per_buyer_limit=row["per_buyer_limit"],
        images=tuple(json.loads(row["images"])),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        weight_g=row["weight_g"],
    )


class ProductRepository:
    """Reads and writes the `products` table; deleted products are soft-deleted."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, owner_id: int, fields: dict[str, Any]) -> Product:
        now = time.time()
        async with self._db.transaction() as tx:
            cur = await tx.execute(
                "INSERT INTO products(owner_id, title, description, price_minor, currency,"
                " category, stock, per_buyer_limit, images, created_at, updated_at, weight_g)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    owner_id,
                    fields["title"],
                    fields.get("description", ""),
                    fields["price_minor"],
                    fields.get("currency", "USD"),
                    fields["category"],
                    fields.get("stock", 0),
                    fields.get("per_buyer_limit"),
                    json.dumps(list(fields.get("images", []))),
                    now,
                    now,
                    fields.get("weight_g", 0),
                ),
            )
        assert cur.lastrowid is not None
        product = await self.get(cur.lastrowid)
        assert product is not None
        return product

    async def get(self, product_id: int) -> Product | None:
        row = await self._db.fetchone(
            "SELECT * FROM products WHERE id = ? AND deleted_at IS NULL", (product_id,)
        )
        return product_from_row(row) if row else None

    async def by_ids(self, ids: list[int]) -> dict[int, Product]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = await self._db.fetchall(
            f"SELECT * FROM products WHERE id IN ({marks}) AND deleted_at IS NULL", ids
        )
        return {r["id"]: product_from_row(r) for r in rows}

    async def search(
        self,
        *,
        owner_id: int | None = None,
        category: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Product]:
        where = ["deleted_at IS NULL"]
        params: list[Any] = []
        if owner_id is not None:
            where.append("owner_id = ?")
            params.append(owner_id)
        if category is not None:
            where.append("category = ?")
            params.append(category)
        rows = await self._db.fetchall(
            f"SELECT * FROM products WHERE {' AND '.join(where)} ORDER BY id LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return [product_from_row(r) for r in rows]

    async def update(self, product_id: int, fields: dict[str, Any]) -> None:
        cols = [c for c in fields if c in _COLUMNS]
        if not cols:
            return
        assignments = ", ".join(f"{c} = ?" for c in cols)
        await self._db.execute(
            f"UPDATE products SET {assignments}, updated_at = ? WHERE id = ?",
            [*(fields[c] for c in cols), time.time(), product_id],
        )

    async def add_image(self, product_id: int, url: str, max_images: int) -> bool:
        """Appends an image URL; False when the product already has `max_images`."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone("SELECT images FROM products WHERE id = ?", (product_id,))
            if row is None:
                return False
            images = json.loads(row["images"])
            if len(images) >= max_images:
                return False
            images.append(url)
            await tx.execute(
                "UPDATE products SET images = ?, updated_at = ? WHERE id = ?",
                (json.dumps(images), time.time(), product_id),
            )
        return True

    async def remove_image(self, product_id: int, index: int) -> bool:
        """Drops the product's image at `index` (0 first); False when there is none there."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone("SELECT images FROM products WHERE id = ?", (product_id,))
            if row is None:
                return False
            images = json.loads(row["images"])
            if not 0 <= index < len(images):
                return False
            del images[index]
            await tx.execute(
                "UPDATE products SET images = ?, updated_at = ? WHERE id = ?",
                (json.dumps(images), time.time(), product_id),
            )
        return True

    async def soft_delete(self, product_id: int) -> None:
        await self._db.execute(
            "UPDATE products SET deleted_at = ? WHERE id = ?", (time.time(), product_id)
        )

    async def count(self) -> int:
        return int(await self._db.fetchval("SELECT COUNT(*) FROM products"))
