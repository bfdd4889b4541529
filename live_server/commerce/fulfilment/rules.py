"""Pure fulfilment rules: which orders a filter shows, when an order may be shipped,
refunded or cancelled by its buyer, and the packing list's rows.

An order's `status` stays the checkout's (pending_payment, confirmed, paid, cancelled,
expired); fulfilment adds its shipment and its refunded total, and `stage` names what the
seller sees: waiting for payment, to ship, shipped, refunded, cancelled.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

from live_server.commerce.emails.rules import money, order_number
from live_server.commerce.rules.basics import CANCELLED, CONFIRMED, EXPIRED, PAID, PENDING_PAYMENT

FILTERS: Final = ("all", "to_ship", "shipped", "refunded", "cancelled")
MAX_CARRIER: Final = 60
MAX_TRACKING: Final = 80
TRACKING_PATTERN: Final = re.compile(r"^ *[A-Za-z0-9][A-Za-z0-9 ._/-]{0,79}$")
# payment statuses in which the money was taken (a refund can give it back)
TAKEN: Final = ("paid", "partially_refunded", "refunded")

PACKING_COLUMNS: Final = (
    "order_number",
    "order_id",
    "created_at",
    "stage",
    "buyer_name",
    "line1",
    "line2",
    "city",
    "postal_code",
    "country",
    "phone",
    "product_id",
    "title",
    "quantity",
    "unit_price_minor",
    "currency",
    "carrier",
    "tracking_number",
    "shipped_at",
)


def refundable_minor(order: dict[str, Any]) -> int:
    """What may still be refunded: what was paid less what was refunded already."""
    return max(0, int(order["total_minor"]) - int(order.get("refunded_minor") or 0))


def stage(order: dict[str, Any]) -> str:
    """What the seller sees: awaiting_payment, to_ship, shipped, refunded or cancelled."""
    status = order["status"]
    if status in (CANCELLED, EXPIRED):
        return "cancelled"
    if int(order.get("refunded_minor") or 0) > 0 and refundable_minor(order) == 0:
        return "refunded"
    if order.get("shipment"):
        return "shipped"
    if status in (CONFIRMED, PAID):
        return "to_ship"
    return "awaiting_payment"


def matches(order: dict[str, Any], wanted: str) -> bool:
    """Whether an order belongs under a filter of the host's orders page."""
    if wanted == "all":
        return True
    if wanted == "refunded":  # partly or fully
        return int(order.get("refunded_minor") or 0) > 0
    return stage(order) == wanted


def ship_refusal(order: dict[str, Any]) -> str | None:
    """Why this order cannot be marked shipped, in words, or None."""
    status = order["status"]
    if status in (CANCELLED, EXPIRED):
        return "This order was cancelled, so it can't be shipped."
    if status == PENDING_PAYMENT:
        return "This order is not paid yet, so it can't be shipped."
    if order.get("shipment"):
        return "This order was already marked shipped."
    if int(order.get("refunded_minor") or 0) > 0 and refundable_minor(order) == 0:
        return "This order was refunded in full, so it can't be shipped."
    return None


def clean_shipment(carrier: str, tracking: str) -> tuple[str, str, str | None, str | None]:
    """(carrier, tracking, field, sentence): the sentence says what is wrong with an input."""
    carrier = " ".join(carrier.split())
    tracking = tracking.strip()
    if not carrier or len(carrier) > MAX_CARRIER:
        return carrier, tracking, "carrier", f"Enter the carrier (up to {MAX_CARRIER} characters)."
    if not TRACKING_PATTERN.match(tracking):
        return (
            carrier,
            tracking,
            "tracking",
            "Enter the tracking number as the carrier gave it (letters, digits, spaces, . _ / -).",
        )
    return carrier, tracking, None, None


def refund_refusal(order: dict[str, Any], amount_minor: int | None) -> tuple[int, str | None, bool]:
    """(amount to refund, refusal sentence or None, whether the refusal is about the amount).

    Only a confirmed or paid order is refunded; a card payment only once it was taken
    (an authorisation is cancelled, not refunded); never more than was paid and not yet
    refunded.
    """
    left = refundable_minor(order)
    payment = order["payment"]
    if order["status"] not in (CONFIRMED, PAID):
        return 0, "Only a confirmed or paid order can be refunded.", False
    if payment["provider"] != "offline" and payment.get("status") not in TAKEN:
        return 0, "The payment has not been taken yet, so there is nothing to refund.", False
    if left == 0:
        return 0, "This order is already refunded in full.", False
    amount = left if amount_minor is None else amount_minor
    if amount < 1 or amount > left:
        most = money(left, str(order["currency"]))
        return 0, f"You can refund at most {most} on this order.", True
    return amount, None, False


def payment_status_after_refund(order: dict[str, Any], refunded_total: int) -> str:
    """refunded once everything went back, else partially_refunded."""
    return "refunded" if refunded_total >= int(order["total_minor"]) else "partially_refunded"


def epoch(iso_time: str) -> float:
    """Seconds since the epoch of an ISO 8601 time as the API writes it."""
    return datetime.fromisoformat(iso_time.replace("Z", "+00:00")).timestamp()


def cancel_refusal(order: dict[str, Any], now: float, window_s: float) -> str | None:
    """Why the buyer may not cancel this order now, or None.

    An order waiting for payment can always be cancelled (no money was taken); a
    confirmed or paid one only within the merchant's window and before it ships.
    """
    status = order["status"]
    if status == PENDING_PAYMENT:
        return None
    if status not in (CONFIRMED, PAID):
        return "This order can no longer be cancelled."
    if order.get("shipment"):
        return "This order has shipped, so it can't be cancelled. Ask the seller for a refund."
    if int(order.get("refunded_minor") or 0) > 0:
        return "The seller already refunded this order, so it can't be cancelled."
    if now - epoch(str(order["created_at"])) > window_s:
        minutes = round(window_s / 60)
        return (
            f"Orders can be cancelled within {minutes} minutes of buying; this one is past"
            " that. Ask the seller for a refund."
        )
    return None


def cancel_deadline(order: dict[str, Any], window_s: float) -> float | None:
    """Until when (epoch seconds) a confirmed or paid order may be cancelled by its buyer;
    None when there is no deadline (waiting for payment) or no cancel at all."""
    if order["status"] not in (CONFIRMED, PAID):
        return None
    return epoch(str(order["created_at"])) + window_s


def packing_rows(orders: Iterable[dict[str, Any]]) -> list[list[Any]]:
    """The packing list: one row per item, dates in ISO 8601 UTC."""
    rows: list[list[Any]] = []
    for order in orders:
        address = order.get("shipping_address") or {}
        shipment = order.get("shipment") or {}
        for item in order["items"]:
            rows.append(
                [
                    order_number(str(order["id"])),
                    order["id"],
                    order["created_at"],
                    stage(order),
                    address.get("name", ""),
                    address.get("line1", ""),
                    address.get("line2", ""),
                    address.get("city", ""),
                    address.get("postal_code", ""),
                    address.get("country", ""),
                    address.get("phone", ""),
                    item["product_id"],
                    item["title"],
                    item["quantity"],
                    item["unit_price_minor"],
                    item["currency"],
                    shipment.get("carrier", ""),
                    shipment.get("tracking_number", ""),
                    shipment.get("shipped_at", ""),
                ]
            )
    return rows
