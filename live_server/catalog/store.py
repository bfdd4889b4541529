"""Products repository."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from live_server.catalog.rules import Product
from live_server.catalog.variants import INHERITED, MAX_VARIANTS, OptionValues, variant_title
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
        parent_id=row["parent_id"],
        option_values=_values(row["option_values"]),
        sku=row["sku"],
    )


def _values(text: str | None) -> OptionValues:
    return tuple((str(n), str(v)) for n, v in json.loads(text or "[]"))


def values_json(values: Sequence[tuple[str, str]]) -> str:
    """A variant's values as stored (and compared by the unique index)."""
    return json.dumps([list(pair) for pair in values], ensure_ascii=False)


class VariantExists(Exception):
    """A live variant of the listing already has these option values."""


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
        if row is None:
            return None
        return (await self._with_variants([product_from_row(row)]))[0]

    async def by_ids(self, ids: list[int]) -> dict[int, Product]:
        """Products (listings with their variants) and variants, by id."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = await self._db.fetchall(
            f"SELECT * FROM products WHERE id IN ({marks}) AND deleted_at IS NULL", ids
        )
        found = await self._with_variants([product_from_row(r) for r in rows])
        return {p.id: p for p in found}

    async def _with_variants(self, products: list[Product]) -> list[Product]:
        """The listings among `products` with their live variants attached."""
        listing_ids = [p.id for p in products if p.parent_id is None]
        if not listing_ids:
            return products
        marks = ",".join("?" * len(listing_ids))
        rows = await self._db.fetchall(
            f"SELECT * FROM products WHERE parent_id IN ({marks}) AND deleted_at IS NULL"
            " ORDER BY id",
            listing_ids,
        )
        if not rows:
            return products
        children: dict[int, list[Product]] = {}
        for r in rows:
            children.setdefault(r["parent_id"], []).append(product_from_row(r))
        return [
            dataclasses.replace(p, variants=tuple(children[p.id])) if p.id in children else p
            for p in products
        ]

    async def search(
        self,
        *,
        owner_id: int | None = None,
        category: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Product]:
        where = ["deleted_at IS NULL", "parent_id IS NULL"]  # listings, not their variants
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
        return await self._with_variants([product_from_row(r) for r in rows])

    async def update(self, product_id: int, fields: dict[str, Any]) -> None:
        """Changes a product; a listing's variants follow its inherited fields, its title,
        and its price where they still had the old one (`catalog.variants`)."""
        cols = [c for c in fields if c in _COLUMNS]
        if not cols:
            return
        now = time.time()
        assignments = ", ".join(f"{c} = ?" for c in cols)
        async with self._db.transaction() as tx:
            old = await tx.fetchone("SELECT price_minor FROM products WHERE id = ?", (product_id,))
            await tx.execute(
                f"UPDATE products SET {assignments}, updated_at = ? WHERE id = ?",
                [*(fields[c] for c in cols), now, product_id],
            )
            inherited = [c for c in cols if c in INHERITED]
            if inherited:
                await tx.execute(
                    f"UPDATE products SET {', '.join(f'{c} = ?' for c in inherited)},"
                    " updated_at = ? WHERE parent_id = ? AND deleted_at IS NULL",
                    [*(fields[c] for c in inherited), now, product_id],
                )
            if "price_minor" in cols and old is not None:
                await tx.execute(
                    "UPDATE products SET price_minor = ?, updated_at = ?"
                    " WHERE parent_id = ? AND price_minor = ? AND deleted_at IS NULL",
                    (fields["price_minor"], now, product_id, old["price_minor"]),
                )
            if "title" in cols:
                rows = await tx.fetchall(
                    "SELECT id, option_values FROM products"
                    " WHERE parent_id = ? AND deleted_at IS NULL",
                    (product_id,),
                )
                await tx.executemany(
                    "UPDATE products SET title = ? WHERE id = ?",
                    [
                        (variant_title(fields["title"], _values(r["option_values"])), r["id"])
                        for r in rows
                    ],
                )

    async def create_variant(
        self, parent: Product, values: OptionValues, fields: dict[str, Any]
    ) -> Product | None:
        """Adds a variant to a listing (its first one takes the listing's own stock off
        sale); None when the listing has MAX_VARIANTS, `VariantExists` when a live variant
        has the same values."""
        now = time.time()
        try:
            async with self._db.transaction() as tx:
                count = await tx.fetchval(
                    "SELECT COUNT(*) FROM products WHERE parent_id = ? AND deleted_at IS NULL",
                    (parent.id,),
                )
                if int(count) >= MAX_VARIANTS:
                    return None
                cur = await tx.execute(
                    "INSERT INTO products(owner_id, title, description, price_minor, currency,"
                    " category, stock, per_buyer_limit, images, created_at, updated_at,"
                    " weight_g, parent_id, option_values, sku)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        parent.owner_id,
                        variant_title(parent.title, values),
                        parent.description,
                        fields.get("price_minor", parent.price_minor),
                        parent.currency,
                        parent.category,
                        fields.get("stock", 0),
                        parent.per_buyer_limit,
                        json.dumps(list(fields.get("images", []))),
                        now,
                        now,
                        parent.weight_g,
                        parent.id,
                        values_json(values),
                        fields.get("sku"),
                    ),
                )
                await tx.execute(
                    "UPDATE products SET stock = 0, updated_at = ? WHERE id = ?", (now, parent.id)
                )
        except sqlite3.IntegrityError:  # the same values added at the same moment
            raise VariantExists from None
        assert cur.lastrowid is not None
        return await self.get(cur.lastrowid)

    async def update_variant(self, variant_id: int, fields: dict[str, Any]) -> None:
        """A variant's own fields: price, stock, SKU, photo."""
        cols = [c for c in ("price_minor", "stock", "sku", "images") if c in fields]
        if not cols:
            return
        params = [json.dumps(list(fields[c])) if c == "images" else fields[c] for c in cols]
        await self._db.execute(
            f"UPDATE products SET {', '.join(f'{c} = ?' for c in cols)}, updated_at = ?"
            " WHERE id = ?",
            [*params, time.time(), variant_id],
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
        """Takes a product (and a listing's variants) off sale; orders keep their lines."""
        await self._db.execute(
            "UPDATE products SET deleted_at = ? WHERE (id = ? OR parent_id = ?)"
            " AND deleted_at IS NULL",
            (time.time(), product_id, product_id),
        )

    async def count(self) -> int:
        return int(await self._db.fetchval("SELECT COUNT(*) FROM products"))
