"""The JSON shape of a product."""

from __future__ import annotations

from typing import Any

from live_server.catalog.rules import Product
from live_server.catalog.variants import options_of
from live_server.platform.timefmt import iso


def variant_json(variant: Product) -> dict[str, Any]:
    """One variant as its listing lists it (a chip on a card, a row in the editor)."""
    return {
        "id": variant.id,
        "sku": variant.sku,
        "option_values": dict(variant.option_values),
        "label": variant.option_label,
        "price_minor": variant.price_minor,
        "stock": variant.stock,
        "image": variant.images[0] if variant.images else None,
    }


def product_json(product: Product) -> dict[str, Any]:
    """A product; a listing carries its options and variants, and its stock is theirs."""
    data: dict[str, Any] = {
        "id": product.id,
        "owner_id": product.owner_id,
        "title": product.title,
        "description": product.description,
        "price_minor": product.price_minor,
        "currency": product.currency,
        "category": product.category,
        "stock": product.available,
        "per_buyer_limit": product.per_buyer_limit,
        "images": list(product.images),
        "created_at": iso(product.created_at),
        "weight_g": product.weight_g,
        "parent_id": product.parent_id,
        "sku": product.sku,
        "options": [
            {"name": name, "values": values}
            for name, values in options_of(v.option_values for v in product.variants)
        ],
        "variants": [variant_json(v) for v in product.variants],
    }
    if product.parent_id is not None:
        data["option_values"] = dict(product.option_values)
        data["label"] = product.option_label
    return data
