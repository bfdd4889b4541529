"""Pure pricing adjustments made inside the checkout transaction, after allocation."""

from __future__ import annotations

from dataclasses import replace

from live_server.commerce.rules.inventory import Allocation


def at_agreed_price(allocation: Allocation, unit_price_minor: int) -> Allocation:
    """The allocation with every line at the agreed unit price (an auction's winning bid)."""
    lines = tuple(replace(line, unit_price_minor=unit_price_minor) for line in allocation.lines)
    total = sum(line.unit_price_minor * line.quantity for line in lines)
    return Allocation(lines, total, allocation.currency)


def discounted(allocation: Allocation, discount_minor: int) -> Allocation:
    """The allocation with its total lowered by a coupon's discount (never below zero);
    the lines keep their prices, the order records the discount."""
    total = max(0, allocation.total_minor - discount_minor)
    return Allocation(allocation.lines, total, allocation.currency)
