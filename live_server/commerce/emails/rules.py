"""What order emails say, as pure functions: a subject, a plain-text body and a simple HTML
body (the same words; every value escaped). Money is formatted from integer minor units."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

MAX_ATTEMPTS: Final = 8
EMAIL_PATTERN: Final = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$")
_ZERO_DECIMALS: Final = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "HUF", "TWD", "UGX"})


@dataclass(frozen=True, slots=True)
class Message:
    """One email before it has a recipient."""

    kind: str
    ref: str
    subject: str
    text: str
    html: str


def valid_email(value: str) -> bool:
    """A plausible single address (no display name, no list, no header tricks)."""
    return bool(EMAIL_PATTERN.match(value)) and "\n" not in value and "\r" not in value


def money(minor: int, currency: str) -> str:
    """2400 USD -> "$24.00"; 2400 EUR -> "24.00 EUR"."""
    digits = 0 if currency.upper() in _ZERO_DECIMALS else 2
    amount = f"{minor / 10**digits:,.{digits}f}"
    return f"${amount}" if currency.upper() == "USD" else f"{amount} {currency.upper()}"


def order_number(order_id: str) -> str:
    """The short number people see ("#3B47A9"), as the pages show it."""
    return "#" + order_id.removeprefix("ord_")[:6].upper()


def retry_delay_s(attempts: int) -> float:
    """Seconds before the next try after `attempts` failures: 30 s, 1 min, 2 min ... 1 h."""
    return float(min(3600, 30 * 2 ** max(0, attempts - 1)))


def _lines(items: Sequence[dict[str, Any]]) -> list[str]:
    lines = []
    for it in items:
        cost = money(int(it["unit_price_minor"]) * int(it["quantity"]), str(it["currency"]))
        lines.append(f"{it['quantity']} × {it['title']} · {cost}")
    return lines


def _page(title: str, paragraphs: Sequence[str], lines: Sequence[str], closing: str) -> str:
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        '<!doctype html><html><body style="font-family:system-ui,sans-serif;color:#111">'
        f'<h1 style="font-size:20px">{html.escape(title)}</h1>{body}'
        f'<ul style="padding-left:18px">{items}</ul>'
        f'<p style="color:#555">{html.escape(closing)}</p></body></html>'
    )


def _text(title: str, paragraphs: Sequence[str], lines: Sequence[str], closing: str) -> str:
    parts = [title, "", *paragraphs, "", *[f"- {line}" for line in lines], "", closing]
    return "\n".join(parts) + "\n"


def _message(
    kind: str,
    order: dict[str, Any],
    subject: str,
    paragraphs: list[str],
    closing: str,
    ref: str | None = None,
) -> Message:
    """An email about `order`: its items listed, queued once per `ref` (the order id)."""
    lines = _lines(order["items"])
    return Message(
        kind,
        ref or str(order["id"]),
        subject,
        _text(subject, paragraphs, lines, closing),
        _page(subject, paragraphs, lines, closing),
    )


def _your_orders(base_url: str) -> str:
    return f"Your orders: {base_url}/orders.html"


def _charges(order: dict[str, Any]) -> str:
    """ " (items $49.00, shipping $5.00, tax $5.40)" when the order has shipping or tax."""
    shipping = int(order.get("shipping_minor") or 0)
    tax = int(order.get("tax_minor") or 0)
    if not shipping and not tax:
        return ""
    currency = str(order["currency"])
    goods = int(order.get("subtotal_minor") or 0) - int(order.get("discount_minor") or 0)
    parts = [f"items {money(goods, currency)}", f"shipping {money(shipping, currency)}"]
    if tax:
        label = "incl. VAT" if order.get("tax_included") else "tax"
        parts.append(f"{label} {money(tax, currency)}")
    return " (" + ", ".join(parts) + ")"


def confirmation(order: dict[str, Any], name: str, base_url: str) -> Message:
    """To the buyer when an order is placed."""
    number = order_number(str(order["id"]))
    total = money(int(order["total_minor"]), str(order["currency"]))
    paid = order["status"] == "paid"
    paragraphs = [
        f"Hi {name}, thanks for your order {number}.",
        f"Total {total}{_charges(order)}, {'paid' if paid else 'to pay as you chose'}.",
        "We'll email you when it ships.",
    ]
    closing = _your_orders(base_url)
    return _message("confirmation", order, f"Your LiveShop order {number}", paragraphs, closing)


def auction_won(order: dict[str, Any], name: str, base_url: str) -> Message:
    """To an auction's winner: their order at the winning price."""
    number = order_number(str(order["id"]))
    total = money(int(order["total_minor"]), str(order["currency"]))
    paragraphs = [
        f"Congratulations {name}, you won!",
        f"Your order {number} is placed at your winning bid: {total}{_charges(order)}.",
    ]
    closing = _your_orders(base_url)
    return _message("won", order, f"You won: order {number}", paragraphs, closing)


def new_order_notice(order: dict[str, Any], buyer_first_name: str, base_url: str) -> Message:
    """To the seller: someone bought from them (first name only, the address is in the studio)."""
    number = order_number(str(order["id"]))
    total = money(int(order["total_minor"]), str(order["currency"]))
    paragraphs = [f"{buyer_first_name or 'Someone'} placed order {number} ({total})."]
    closing = f"Ship it from your orders page: {base_url}/fulfilment.html"
    return _message("new_order", order, f"New order {number}", paragraphs, closing)


def shipped(order: dict[str, Any], name: str, base_url: str) -> Message:
    """To the buyer when the seller marks the order shipped: the carrier and tracking."""
    number = order_number(str(order["id"]))
    shipment = order.get("shipment") or {}
    paragraphs = [
        f"Hi {name}, your order {number} is on its way.",
        f"Carrier: {shipment.get('carrier', '')}",
        f"Tracking number: {shipment.get('tracking_number', '')}",
    ]
    closing = _your_orders(base_url)
    return _message("shipped", order, f"Your order {number} has shipped", paragraphs, closing)


def refunded(
    order: dict[str, Any], amount_minor: int, refund_id: int, name: str, base_url: str
) -> Message:
    """To the buyer for each refund: how much comes back, and whether that is everything."""
    number = order_number(str(order["id"]))
    amount = money(amount_minor, str(order["currency"]))
    so_far = int(order.get("refunded_minor") or 0)
    total = int(order["total_minor"])
    currency = str(order["currency"])
    progress = (
        "Your order is now refunded in full."
        if so_far >= total
        else f"Refunded so far: {money(so_far, currency)} of {money(total, currency)}."
    )
    paragraphs = [f"Hi {name}, we refunded {amount} on your order {number}.", progress]
    if order["payment"]["provider"] == "stripe":
        paragraphs.append("It goes back to your card; banks take 5-10 days to show it.")
    closing = _your_orders(base_url)
    return _message(
        "refunded",
        order,
        f"Refund on your order {number}",
        paragraphs,
        closing,
        ref=f"{order['id']}:{refund_id}",
    )
