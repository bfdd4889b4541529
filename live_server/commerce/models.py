"""The commerce REST bodies (cart, checkout, profile, flash sales, analytics events),
declared once: the routes validate with them and the OpenAPI document shows them
(`platform.schemas`). The rules still judge the values (stock, line-ups, price floors,
payment methods, idempotency)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from live_server.commerce.rules.attribution import MAX_RATE_BP
from live_server.commerce.rules.basics import MAX_LINE_QUANTITY
from live_server.commerce.rules.inventory import (
    MAX_SALE_QUANTITY,
    MAX_SALE_SECONDS,
    MIN_SALE_SECONDS,
)
from live_server.platform.schemas import UNSET, Body, UnsetType

Id = Annotated[int, Meta(ge=1, lt=2**62)]
Quantity = Annotated[int, Meta(ge=1, le=MAX_LINE_QUANTITY)]


# `source` names where a purchase started: `{"type": "live", "id": <session id>}`, ...
class LiveSource(Body, tag_field="type", tag="live"):
    """Bought from a live show (`id`: the session)."""

    id: Id


class ReplaySource(Body, tag_field="type", tag="replay"):
    """Bought from a show's replay page (`id`: the session; it has ended and its replay
    is processed or being made)."""

    id: Id


class ClipSource(Body, tag_field="type", tag="clip"):
    """Bought from a clip."""

    id: Id


class PostSource(Body, tag_field="type", tag="post"):
    """Bought from a post."""

    id: Id


class DirectSource(Body, tag_field="type", tag="direct"):
    """Bought from the product page."""


Source = LiveSource | ReplaySource | ClipSource | PostSource | DirectSource


def _text(limit: int, *, required: bool, what: str) -> Meta:
    # the rules strip the text and refuse control characters
    pattern = r"^[^\x00-\x1f]*\S[^\x00-\x1f]*$" if required else r"^[^\x00-\x1f]*$"
    words = (
        f"Enter {what} (up to {limit} characters)."
        if required
        else (f"The {what} can be up to {limit} characters, on one line.")
    )
    return Meta(
        min_length=1 if required else 0,
        max_length=limit,
        pattern=pattern,
        extra={"message": words},
    )


class Address(Body):
    """A shipping address."""

    name: Annotated[str, _text(120, required=True, what="your full name")]
    line1: Annotated[str, _text(200, required=True, what="your street address")]
    city: Annotated[str, _text(100, required=True, what="your city")]
    postal_code: Annotated[str, _text(20, required=True, what="your postal code")]
    country: Annotated[
        str,
        Meta(
            pattern=r"^[A-Za-z]{2}$",
            examples=["US"],
            extra={"message": "Enter your country as a 2-letter code, like US or FR."},
        ),
    ]
    line2: Annotated[str, _text(200, required=False, what="second address line")] | None = None
    phone: Annotated[str, _text(40, required=False, what="phone number")] | None = None
    region: (
        Annotated[
            str,
            Meta(
                pattern=r"^[A-Za-z0-9-]{0,10}$",
                examples=["CA"],
                extra={"message": "Enter your state or region as a short code, like CA."},
            ),
        ]
        | None
    ) = None


PaymentMethod = Annotated[
    str,
    Meta(min_length=1, max_length=64, extra={"message": "Choose a payment method."}),
]


class CartAdd(Body):
    """POST /api/cart/items."""

    product_id: Id
    quantity: Quantity = 1
    source: Source | None = None


class CartQuantity(Body):
    """PUT /api/cart/items/{product_id}."""

    quantity: Quantity


class BuyNow(Body):
    """POST /api/checkout/buy-now: one product, with the saved address and payment method
    unless these are given."""

    product_id: Id
    quantity: Quantity = 1
    source: Source | None = None
    address: Address | None = None
    payment_method: PaymentMethod | None = None
    coupon_id: Annotated[Id, Meta(description="a live coupon the buyer claimed")] | None = None


class CartCheckout(Body):
    """POST /api/checkout: the cart's lines (the source named here replaces the lines')."""

    source: Source | UnsetType | None = UNSET
    address: Address | None = None
    payment_method: PaymentMethod | None = None
    coupon_id: Annotated[Id, Meta(description="a live coupon the buyer claimed")] | None = None


class CheckoutProfile(Body):
    """PUT /api/me/checkout-profile."""

    address: Address
    payment_method: PaymentMethod
    show_first_name: bool = False


class FlashSaleStart(Body):
    """POST /api/sessions/{id}/flash-sales."""

    product_id: Annotated[Id, Meta(extra={"message": "Choose a product from the line-up."})]
    price_minor: Annotated[
        int,
        Meta(
            ge=0,
            description="at least the floor, below the list price",
            extra={"message": "Enter a sale price above zero."},
        ),
    ]
    quantity: Annotated[
        int,
        Meta(
            ge=1,
            le=MAX_SALE_QUANTITY,
            extra={"message": f"Put 1 to {MAX_SALE_QUANTITY:,} units on sale."},
        ),
    ]
    duration_s: Annotated[
        int,
        Meta(
            ge=MIN_SALE_SECONDS,
            le=MAX_SALE_SECONDS,
            extra={
                "message": f"A flash sale lasts {MIN_SALE_SECONDS} to {MAX_SALE_SECONDS} seconds."
            },
        ),
    ]
    per_buyer_limit: (
        Annotated[int, Meta(ge=1, extra={"message": "The limit per buyer must be at least 1."})]
        | None
    ) = None


class AnalyticsEvent(Body):
    """POST /api/sessions/{id}/events: a product card seen or clicked."""

    kind: Literal["card_view", "card_click"]
    product_id: Id


class CommissionRate(Body):
    """PUT /api/creators/{id}/commission."""

    rate_bp: Annotated[int, Meta(ge=0, le=MAX_RATE_BP, description="basis points")]


class OrderItem(msgspec.Struct):
    """One line of an order."""

    product_id: int
    title: str
    quantity: int
    unit_price_minor: int
    currency: str
    flash_sale_id: int | None


class Payment(msgspec.Struct):
    """How an order is paid."""

    provider: str | None
    method: str | None
    status: str | None
    reference: str | None


class OrderSource(msgspec.Struct):
    """Where the order came from."""

    type: str
    id: int | None


class Shipment(msgspec.Struct):
    """How an order was sent (fulfilment)."""

    carrier: str
    tracking_number: str
    shipped_at: str | None


class OrderOut(msgspec.Struct):
    """An order as `order_from_row` writes it."""

    id: str
    buyer_id: int
    status: str
    total_minor: int
    currency: str
    items: list[OrderItem]
    payment: Payment
    shipping_address: dict[str, Any] | None
    source: OrderSource
    creator_id: int | None
    session_id: int | None
    media_time: float | None
    created_at: str | None
    hold_expires_at: str | None
    discount_minor: int = 0
    coupon_id: int | None = None
    subtotal_minor: int = 0
    shipping_minor: int = 0
    tax_minor: int = 0
    tax_included: bool = False
    parcels: list[dict[str, Any]] = msgspec.field(default_factory=list)
    shipment: Shipment | None = None
    refunded_minor: int = 0
    # the buyer's own reads: whether they may cancel now, and until when (fulfilment)
    cancellable: bool | None = None
    cancel_until: str | None = None


class OrderEnvelope(msgspec.Struct):
    """`{"order": ...}`."""

    order: OrderOut


class OrderPage(msgspec.Struct):
    """My orders, newest first."""

    items: list[OrderOut]
