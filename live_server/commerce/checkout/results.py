"""What a checkout answers: the order it produced, or the API error it maps to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from live_server.commerce.coupons.rules import CONFLICTS as COUPON_CONFLICTS
from live_server.commerce.rules.basics import CommerceInputError
from live_server.commerce.rules.inventory import (
    LIMIT_REACHED,
    PRODUCT_NOT_FOUND,
    SOLD_OUT,
    Rejection,
)
from live_server.commerce.shipping.rules import REFUSALS as SHIPPING_REFUSALS
from live_server.platform.errors import Conflict, DomainError, Invalid, NotFound


@dataclass(frozen=True, slots=True)
class CheckoutResult:
    """The order a checkout produced, and whether it was an idempotent replay."""

    order: dict[str, Any]
    replayed: bool


def invalid(exc: CommerceInputError) -> Invalid:
    """A domain input error as a 422 with a code naming the field."""
    code = "invalid_" + exc.field.replace(".", "_").replace("-", "_").lower()
    return Invalid(exc.message, code=code)


def rejection_error(rejection: Rejection) -> DomainError:
    """An inventory rejection as the API error a buyer sees (409 sold out, 404, 422)."""
    if rejection.code == SOLD_OUT:
        return Conflict(rejection.message, code="sold_out")
    if rejection.code == LIMIT_REACHED:
        return Conflict(rejection.message, code="limit_reached")
    if rejection.code in COUPON_CONFLICTS:  # used up, or this buyer's share used
        return Conflict(rejection.message, code=rejection.code)
    if rejection.code in SHIPPING_REFUSALS:  # the address is what the buyer can change
        return Invalid(rejection.message, code=rejection.code, field="address.country")
    if rejection.code == PRODUCT_NOT_FOUND:
        return NotFound("no such product", code="product_not_found")
    return Invalid(rejection.message, code=rejection.code)
