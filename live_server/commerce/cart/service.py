"""The cart: one per user, no stock reserved until checkout."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from live_server.catalog.service import CatalogService
from live_server.commerce.analytics.service import AnalyticsService
from live_server.commerce.cart.store import CartsRepository
from live_server.commerce.checkout.results import invalid
from live_server.commerce.rules.basics import (
    MAX_CART_LINES,
    CommerceInputError,
    line_total,
    parse_id,
    parse_quantity,
    parse_source,
)
from live_server.commerce.rules.inventory import CHOOSE_VARIANT, CHOOSE_VARIANT_WORDS
from live_server.platform.errors import Invalid, NotFound
from live_server.platform.identity import Principal


class CartService:
    """Add, change, remove and show cart lines."""

    def __init__(
        self,
        carts: CartsRepository,
        catalog: CatalogService,
        analytics: AnalyticsService,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._carts = carts
        self._catalog = catalog
        self._analytics = analytics
        self._clock = clock

    async def view(self, who: Principal) -> dict[str, Any]:
        """The cart with current prices, stock and a total per currency."""
        items = []
        totals: dict[str, int] = {}
        for row in await self._carts.lines(who.user_id):
            available = row["title"] is not None and row["deleted_at"] is None
            images = json.loads(row["images"]) if available and row["images"] else []
            item = {
                "product_id": row["product_id"],
                "quantity": row["quantity"],
                "title": row["title"] if available else None,
                "price_minor": row["price_minor"] if available else None,
                "currency": row["currency"] if available else None,
                "image": images[0] if images else None,
                "in_stock": bool(available and int(row["stock"]) >= int(row["quantity"])),
                "available": available,
                "source": {"type": row["source_type"], "id": row["source_id"]},
            }
            if available:
                cur = str(row["currency"])
                totals[cur] = totals.get(cur, 0) + line_total(
                    int(row["price_minor"]), int(row["quantity"])
                )
            items.append(item)
        return {
            "items": items,
            "count": sum(int(i["quantity"]) for i in items if i["available"]),
            "totals": [{"currency": c, "total_minor": t} for c, t in sorted(totals.items())],
        }

    async def add(self, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
        """Add units of a product (from a pinned card, the line-up, a clip or a post)."""
        try:
            product_id = parse_id(data.get("product_id"), "product_id")
            quantity = parse_quantity(data.get("quantity", 1))
            source = parse_source(data.get("source"))
        except CommerceInputError as exc:
            raise invalid(exc) from None
        product = await self._catalog.get(product_id)  # 404 for unknown or deleted products
        if product.has_variants:
            raise Invalid(CHOOSE_VARIANT_WORDS, code=CHOOSE_VARIANT, field="product_id")
        if await self._carts.count_lines(who.user_id) >= MAX_CART_LINES:
            raise Invalid(f"A cart holds at most {MAX_CART_LINES} products.", code="cart_full")
        await self._carts.put(
            who.user_id, product_id, quantity, source.type, source.id, self._clock(), add=True
        )
        if source.type == "live" and source.id is not None:
            self._analytics.note(source.id, product_id, "add_to_cart", f"u{who.user_id}")
        return await self.view(who)

    async def set_quantity(
        self, who: Principal, product_id: int, data: dict[str, Any]
    ) -> dict[str, Any]:
        """Change a line's quantity (the line must exist)."""
        try:
            quantity = parse_quantity(data.get("quantity"))
        except CommerceInputError as exc:
            raise invalid(exc) from None
        lines = {int(r["product_id"]): r for r in await self._carts.lines(who.user_id)}
        line = lines.get(product_id)
        if line is None:
            raise NotFound("That product is no longer in your cart.", code="not_in_cart")
        await self._carts.put(
            who.user_id,
            product_id,
            quantity,
            str(line["source_type"]),
            line["source_id"],
            float(line["added_at"]),
            add=False,
        )
        return await self.view(who)

    async def remove(self, who: Principal, product_id: int) -> dict[str, Any]:
        """Drop a line (404 if it was not there)."""
        if not await self._carts.remove(who.user_id, product_id):
            raise NotFound("That product is no longer in your cart.", code="not_in_cart")
        return await self.view(who)

    async def clear(self, who: Principal) -> dict[str, Any]:
        """Empty the cart."""
        await self._carts.clear(who.user_id)
        return await self.view(who)
