"""Pure: an order's lines grouped into one parcel per merchant, refused or charged.

The checkout batch calls `refusal` before it takes any stock (so a parcel that cannot ship
holds nothing) and `charges` once the lines are priced (flash sale, agreed price, coupon);
the quote does the same with today's prices, so an order's amounts are the quote's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from live_server.commerce.shipping.rules import (
    Line,
    OrderCharges,
    Refusal,
    ShippingSettings,
    order_charges,
    parcel_refusal,
)

#: (seller id, line) pairs of one order.
SellerLines = Iterable[tuple[int, Line]]


def _grouped(lines: SellerLines) -> dict[int, list[Line]]:
    groups: dict[int, list[Line]] = {}
    for seller_id, line in lines:
        groups.setdefault(seller_id, []).append(line)
    return groups


def refusal(
    lines: SellerLines, settings: Mapping[int, ShippingSettings | None], country: str
) -> Refusal | None:
    """Why the order cannot ship to this country (the first parcel that cannot), or None."""
    for seller_id, group in sorted(_grouped(lines).items()):
        found = parcel_refusal(settings.get(seller_id), group, country)
        if found is not None:
            return found
    return None


def charges(
    lines: SellerLines,
    settings: Mapping[int, ShippingSettings | None],
    *,
    country: str,
    region: str | None,
    included: bool,
    discount_minor: int = 0,
) -> OrderCharges | Refusal:
    """The order's subtotal, discount, shipping, tax and total, parcel by parcel."""
    parcels = [(sid, settings.get(sid), group) for sid, group in _grouped(lines).items()]
    return order_charges(
        parcels, country=country, region=region, included=included, discount_minor=discount_minor
    )
