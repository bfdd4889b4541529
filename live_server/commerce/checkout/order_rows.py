"""The stored form of an order: its columns, and the API form built from its rows."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from typing import Any, Final

from live_server.platform.timefmt import iso

ORDER_COLUMNS: Final = (
    "id",
    "buyer_id",
    "status",
    "total_minor",
    "currency",
    "payment_provider",
    "payment_method",
    "payment_ref",
    "payment_status",
    "address_json",
    "source_type",
    "source_id",
    "creator_id",
    "session_id",
    "media_time",
    "commission_rate_bp",
    "commission_minor",
    "show_first_name",
    "idempotency_key",
    "request_fingerprint",
    "created_at",
    "updated_at",
    "hold_expires_at",
    "discount_minor",
    "coupon_id",
    "subtotal_minor",
    "shipping_minor",
    "tax_minor",
    "tax_included",
    "charges_json",
)
# written after checkout (fulfilment), so read but never inserted by a checkout batch
FULFILMENT_COLUMNS: Final = ("carrier", "tracking_number", "shipped_at", "refunded_minor")
ITEM_COLUMNS: Final = (
    "order_id",
    "product_id",
    "buyer_id",
    "quantity",
    "unit_price_minor",
    "currency",
    "title",
    "seller_id",
    "flash_sale_id",
)
ORDER_SELECT: Final = "SELECT " + ", ".join(ORDER_COLUMNS + FULFILMENT_COLUMNS) + " FROM orders"


def new_order_id() -> str:
    """A random, URL-safe order id."""
    return "ord_" + secrets.token_hex(10)


def order_from_row(row: Any, items: Sequence[Any]) -> dict[str, Any]:
    """The API form of an order from its stored row and item rows."""
    address = json.loads(row["address_json"]) if row["address_json"] else None
    return {
        "id": row["id"],
        "buyer_id": row["buyer_id"],
        "status": row["status"],
        "total_minor": row["total_minor"],
        "currency": row["currency"],
        "items": [
            {
                "product_id": it["product_id"],
                "title": it["title"],
                "quantity": it["quantity"],
                "unit_price_minor": it["unit_price_minor"],
                "currency": it["currency"],
                "flash_sale_id": it["flash_sale_id"],
            }
            for it in items
        ],
        "payment": {
            "provider": row["payment_provider"],
            "method": row["payment_method"],
            "status": row["payment_status"],
            "reference": row["payment_ref"],
        },
        "shipping_address": address,
        "source": {"type": row["source_type"], "id": row["source_id"]},
        "creator_id": row["creator_id"],
        "session_id": row["session_id"],
        "media_time": row["media_time"],
        "created_at": iso(row["created_at"], "auto"),
        "hold_expires_at": iso(row["hold_expires_at"], "auto"),
        "discount_minor": row["discount_minor"],
        "coupon_id": row["coupon_id"],
        # what the order was charged (docs/commerce.md, "Shipping and tax")
        "subtotal_minor": row["subtotal_minor"],
        "shipping_minor": row["shipping_minor"],
        "tax_minor": row["tax_minor"],
        "tax_included": bool(row["tax_included"]),
        "parcels": json.loads(row["charges_json"]) if row["charges_json"] else [],
        "shipment": _shipment(row),
        # a sqlite3.Row's `in` looks at values, so its keys() it is
        "refunded_minor": row["refunded_minor"] if "refunded_minor" in row.keys() else 0,  # noqa: SIM118
    }


def _shipment(row: Any) -> dict[str, Any] | None:
    """The carrier and tracking number the seller gave when shipping (fulfilment); a row
    fresh from a checkout batch has none."""
    if "shipped_at" not in row.keys() or row["shipped_at"] is None:  # noqa: SIM118
        return None
    return {
        "carrier": row["carrier"],
        "tracking_number": row["tracking_number"],
        "shipped_at": iso(row["shipped_at"], "auto"),
    }
