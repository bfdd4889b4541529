"""The JSON shape of a product."""

from __future__ import annotations

from typing import Any

from live_server.catalog.rules import Product
from live_server.platform.timefmt import iso


def product_json(product: Product) -> dict[str, Any]:
    return {
        "id": product.id,
        "owner_id": product.owner_id,
        "title": product.title,
        "description": product.description,
        "price_minor": product.price_minor,
        "currency": product.currency,
        "category": product.category,
        "stock": product.stock,
        "per_buyer_limit": product.per_buyer_limit,
        "images": list(product.images),
        "created_at": iso(product.created_at),
        "weight_g": product.weight_g,
    }
