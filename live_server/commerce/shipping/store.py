"""Shipping settings and the product facts a quote needs, in SQLite.

`load_for_batch` reads the same facts inside the checkout's transaction (on the writer's
thread), so an order is charged by the settings and weights its stock was taken with.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from live_server.commerce.checkout.writer import SyncTransaction, chunks, marks
from live_server.commerce.shipping.parse import parse_settings, settings_to_dict
from live_server.commerce.shipping.rules import ShippingInputError, ShippingSettings
from live_server.platform.db import Database

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProductFacts:
    """What pricing a product needs: its price now (a running flash sale's if any)."""

    product_id: int
    seller_id: int
    unit_price_minor: int
    currency: str
    weight_g: int
    title: str


def _settings(raw: str | None, seller_id: int) -> ShippingSettings | None:
    if raw is None:
        return None
    try:
        return parse_settings(json.loads(raw))
    except (ShippingInputError, ValueError):  # stored settings were checked when saved
        logger.error("stored shipping settings of seller %d do not parse", seller_id)
        return None


class ShippingStore:
    """`shipping_settings`, and product prices and weights for quotes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, seller_id: int) -> ShippingSettings | None:
        """A merchant's settings, or None when they set up nothing."""
        raw = await self._db.fetchval(
            "SELECT settings_json FROM shipping_settings WHERE seller_id = ?", (seller_id,)
        )
        return _settings(raw, seller_id)

    async def put(self, seller_id: int, settings: ShippingSettings, now: float) -> None:
        """Saves a merchant's settings (replacing the earlier ones)."""
        await self._db.execute(
            "INSERT INTO shipping_settings (seller_id, settings_json, updated_at)"
            " VALUES (?, ?, ?) ON CONFLICT (seller_id) DO UPDATE SET"
            " settings_json = excluded.settings_json, updated_at = excluded.updated_at",
            (seller_id, json.dumps(settings_to_dict(settings)), now),
        )

    async def many(self, seller_ids: Sequence[int]) -> dict[int, ShippingSettings | None]:
        """Several merchants' settings (None for those who set up nothing)."""
        found: dict[int, ShippingSettings | None] = dict.fromkeys(seller_ids)
        ids = sorted(set(seller_ids))
        for chunk in chunks(ids):
            rows = await self._db.fetchall(
                "SELECT seller_id, settings_json FROM shipping_settings"
                f" WHERE seller_id IN ({marks(len(chunk))})",
                list(chunk),
            )
            for r in rows:
                found[int(r["seller_id"])] = _settings(r["settings_json"], int(r["seller_id"]))
        return found

    async def products(self, product_ids: Sequence[int], now: float) -> dict[int, ProductFacts]:
        """Products on sale (not deleted), priced as checkout would price them now."""
        facts: dict[int, ProductFacts] = {}
        ids = sorted(set(product_ids))
        for chunk in chunks(ids):
            rows = await self._db.fetchall(
                "SELECT p.id, p.owner_id, p.price_minor, p.currency, p.weight_g, p.title,"
                " (SELECT s.price_minor FROM flash_sales s WHERE s.product_id = p.id"
                "  AND s.ended_early_at IS NULL AND s.starts_at <= ? AND s.ends_at > ?"
                "  ORDER BY s.id DESC LIMIT 1) AS sale_price"
                f" FROM products p WHERE p.id IN ({marks(len(chunk))}) AND p.deleted_at IS NULL",
                [now, now, *chunk],
            )
            for r in rows:
                price = r["sale_price"] if r["sale_price"] is not None else r["price_minor"]
                facts[int(r["id"])] = ProductFacts(
                    int(r["id"]),
                    int(r["owner_id"]),
                    int(price),
                    str(r["currency"]),
                    int(r["weight_g"]),
                    str(r["title"]),
                )
        return facts


def load_for_batch(
    tx: SyncTransaction, seller_ids: Sequence[int], product_ids: Sequence[int]
) -> tuple[dict[int, ShippingSettings | None], dict[int, int]]:
    """Inside the checkout transaction: the sellers' settings and the products' weights."""
    settings: dict[int, ShippingSettings | None] = dict.fromkeys(seller_ids)
    for chunk in chunks(sorted(set(seller_ids))):
        rows = tx.fetchall(
            "SELECT seller_id, settings_json FROM shipping_settings"
            f" WHERE seller_id IN ({marks(len(chunk))})",
            list(chunk),
        )
        for r in rows:
            settings[int(r["seller_id"])] = _settings(r["settings_json"], int(r["seller_id"]))
    weights: dict[int, int] = {}
    for chunk in chunks(sorted(set(product_ids))):
        rows = tx.fetchall(
            f"SELECT id, weight_g FROM products WHERE id IN ({marks(len(chunk))})", list(chunk)
        )
        for r in rows:
            weights[int(r["id"])] = int(r["weight_g"])
    return settings, weights
