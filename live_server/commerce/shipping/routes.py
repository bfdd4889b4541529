"""Shipping REST: the merchant's settings (GET/PUT /api/seller/shipping) and the checkout
sheet's quote (POST /api/checkout/quote)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from aiohttp import web
from msgspec import Meta

from live_server.commerce.models import Address, Id, Quantity
from live_server.commerce.shipping.keys import SHIPPING
from live_server.commerce.shipping.rules import (
    MAX_AMOUNT,
    MAX_BANDS,
    MAX_RATE_BP,
    MAX_TAX_RATES,
    MAX_ZONES,
)
from live_server.platform.http import json_response, require_user
from live_server.platform.openapi import document, op
from live_server.platform.schemas import Body, present, read_body

Amount = Annotated[int, Meta(ge=0, le=MAX_AMOUNT, description="minor units (cents)")]
Country = Annotated[
    str,
    Meta(
        pattern=r"^[A-Za-z]{2}$",
        examples=["FR"],
        extra={"message": "Enter countries as 2-letter codes, like US or FR."},
    ),
]


class BandIn(Body):
    """Parcels up to `up_to_g` grams cost `amount_minor`."""

    up_to_g: Annotated[int, Meta(ge=1, le=10**7)]
    amount_minor: Amount


class RateIn(Body):
    """flat (`amount_minor`), per_kg (base `amount_minor` + `per_kg_minor` per started
    kg) or bands (by weight)."""

    kind: Literal["flat", "per_kg", "bands"]
    amount_minor: Amount = 0
    per_kg_minor: Amount = 0
    bands: Annotated[list[BandIn], Meta(max_length=MAX_BANDS)] = msgspec.field(default_factory=list)


class ZoneIn(Body):
    """Countries (none: everywhere else), a rate, and the amount from which it's free."""

    name: Annotated[str, Meta(min_length=1, max_length=60, pattern=r"\S")]
    countries: Annotated[list[Country], Meta(max_length=250)]
    rate: RateIn
    free_from_minor: Amount | None = None


class TaxIn(Body):
    """A tax rate for a country, or one region of it."""

    country: Country
    rate_bp: Annotated[int, Meta(ge=0, le=MAX_RATE_BP, description="basis points")]
    region: Annotated[str, Meta(pattern=r"^[A-Za-z0-9-]{1,10}$")] | None = None


class ShippingSettingsIn(Body):
    """PUT /api/seller/shipping: the merchant's zones and tax rates, in their currency."""

    currency: Annotated[str, Meta(pattern=r"^[A-Za-z]{3}$", examples=["EUR"])]
    zones: Annotated[list[ZoneIn], Meta(min_length=1, max_length=MAX_ZONES)]
    taxes: Annotated[list[TaxIn], Meta(max_length=MAX_TAX_RATES)] = msgspec.field(
        default_factory=list
    )
    tax_shipping: bool = True


class QuoteIn(Body):
    """POST /api/checkout/quote: one product (or, without `product_id`, the cart), with
    the address to ship to (else the saved one)."""

    product_id: Id | None = None
    quantity: Quantity = 1
    address: Address | None = None
    coupon_id: Annotated[Id, Meta(description="a live coupon the buyer claimed")] | None = None


async def get_settings(request: web.Request) -> web.Response:
    who = require_user(request)
    return json_response(await request.app[SHIPPING].settings_of(who))


async def put_settings(request: web.Request) -> web.Response:
    who = require_user(request)
    body = present(await read_body(request, ShippingSettingsIn))
    return json_response(await request.app[SHIPPING].save(who, body))


async def pricing(request: web.Request) -> web.Response:
    included = request.app[SHIPPING].prices_include_tax
    return json_response(
        {
            "tax_pricing": "inclusive" if included else "exclusive",
            "note": "incl. VAT" if included else "plus tax",
        }
    )


async def quote(request: web.Request) -> web.Response:
    who = require_user(request)
    body = present(await read_body(request, QuoteIn))
    return json_response(await request.app[SHIPPING].quote(who, body))


def setup(app: web.Application) -> None:
    """Routes and their OpenAPI entries."""
    app.router.add_get("/api/seller/shipping", get_settings)
    app.router.add_put("/api/seller/shipping", put_settings)
    app.router.add_post("/api/checkout/quote", quote)
    app.router.add_get("/api/checkout/pricing", pricing)
    document(
        app,
        {
            "/api/seller/shipping": {
                "GET": op(
                    "My shop's shipping zones, rates and tax rates",
                    tag="commerce",
                    auth=True,
                    errors=(401,),
                ),
                "PUT": op(
                    "Set my shop's shipping zones, rates and tax rates",
                    tag="commerce",
                    auth=True,
                    body=ShippingSettingsIn,
                    errors=(401, 422),
                ),
            },
            "/api/checkout/pricing": {
                "GET": op(
                    "Whether this store's prices include tax, and the words cards show",
                    tag="commerce",
                ),
            },
            "/api/checkout/quote": {
                "POST": op(
                    "What buying a product (or the cart) costs shipped to an address:"
                    " subtotal, shipping, tax and total",
                    tag="commerce",
                    auth=True,
                    body=QuoteIn,
                    body_required=False,
                    errors=(401, 404, 422),
                ),
            },
        },
    )
