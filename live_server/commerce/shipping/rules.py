"""Shipping and tax, pure: a merchant's zones and rates, tax rates, and what an order costs.

Money is integer minor units. Tax is worked out once per line (each product line, the
coupon's discount as a negative line, shipping when it is taxed) and rounded half to even
at that point; the order's tax is the sum of those lines. With inclusive prices (EU style)
a line's price already holds its tax: tax = price x rate / (1 + rate), and nothing is
added; with exclusive prices (US style) tax = price x rate, added to the total.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

RateKind = Literal["flat", "per_kg", "bands"]
RATE_KINDS: Final = ("flat", "per_kg", "bands")
MAX_ZONES: Final = 50
MAX_TAX_RATES: Final = 300
MAX_BANDS: Final = 20
MAX_AMOUNT: Final = 10_000_000_00  # 10 million in a two-decimal currency
MAX_RATE_BP: Final = 10_000  # 100 %

#: Refusal codes (a checkout or a quote that cannot ship); their field is `address.country`.
NO_ZONE: Final = "shipping_unavailable"
TOO_HEAVY: Final = "shipping_too_heavy"
WRONG_CURRENCY: Final = "shipping_currency"
REFUSALS: Final = (NO_ZONE, TOO_HEAVY, WRONG_CURRENCY)


class ShippingInputError(ValueError):
    """A merchant's settings that break a rule; `field` names the input."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass(frozen=True, slots=True)
class Band:
    """A weight band: parcels up to `up_to_g` grams cost `amount_minor`."""

    up_to_g: int
    amount_minor: int


@dataclass(frozen=True, slots=True)
class Rate:
    """How a zone prices a parcel: flat, a base plus a rate per started kg, or bands."""

    kind: RateKind
    amount_minor: int = 0  # flat: the price; per_kg: the base
    per_kg_minor: int = 0
    bands: tuple[Band, ...] = ()


@dataclass(frozen=True, slots=True)
class Zone:
    """Countries (ISO codes; empty: everywhere else) with one rate and an optional
    threshold from which a parcel ships free."""

    name: str
    countries: frozenset[str]
    rate: Rate
    free_from_minor: int | None = None


@dataclass(frozen=True, slots=True)
class TaxRate:
    """A tax rate in basis points for a country, or one region of it."""

    country: str
    rate_bp: int
    region: str | None = None


@dataclass(frozen=True, slots=True)
class ShippingSettings:
    """One merchant's shipping zones and tax rates, in the currency of their products."""

    currency: str
    zones: tuple[Zone, ...]
    taxes: tuple[TaxRate, ...] = ()
    tax_shipping: bool = True


@dataclass(frozen=True, slots=True)
class Line:
    """One priced line of a parcel."""

    product_id: int
    quantity: int
    unit_price_minor: int
    currency: str
    weight_g: int = 0

    @property
    def total_minor(self) -> int:
        """The line's amount."""
        return self.unit_price_minor * self.quantity


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a parcel cannot ship (a sentence for the buyer)."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Charges:
    """What one merchant's parcel costs, and the rates used."""

    seller_id: int
    currency: str
    subtotal_minor: int
    discount_minor: int
    shipping_minor: int
    tax_minor: int
    tax_included: bool
    total_minor: int
    zone: str | None = None
    rate_kind: str | None = None
    tax_rate_bp: int = 0
    weight_g: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (stored on the order as the rates used)."""
        return {
            "seller_id": self.seller_id,
            "currency": self.currency,
            "subtotal_minor": self.subtotal_minor,
            "discount_minor": self.discount_minor,
            "shipping_minor": self.shipping_minor,
            "tax_minor": self.tax_minor,
            "tax_included": self.tax_included,
            "total_minor": self.total_minor,
            "zone": self.zone,
            "rate_kind": self.rate_kind,
            "tax_rate_bp": self.tax_rate_bp,
            "weight_g": self.weight_g,
        }


@dataclass(frozen=True, slots=True)
class OrderCharges:
    """An order's amounts: the sum of its merchants' parcels."""

    currency: str
    subtotal_minor: int
    discount_minor: int
    shipping_minor: int
    tax_minor: int
    tax_included: bool
    total_minor: int
    parcels: tuple[Charges, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (the quote's answer, and the order's amounts)."""
        return {
            "currency": self.currency,
            "subtotal_minor": self.subtotal_minor,
            "discount_minor": self.discount_minor,
            "shipping_minor": self.shipping_minor,
            "tax_minor": self.tax_minor,
            "tax_included": self.tax_included,
            "total_minor": self.total_minor,
            "parcels": [p.as_dict() for p in self.parcels],
        }


# -- arithmetic -----------------------------------------------------------------------


def div_half_even(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest integer, halves to the even one."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


def line_tax(amount_minor: int, rate_bp: int, *, included: bool) -> int:
    """The tax of one line, rounded half to even (negative for a negative line)."""
    if rate_bp <= 0:
        return 0
    sign = -1 if amount_minor < 0 else 1
    amount = abs(amount_minor)
    if included:
        tax = div_half_even(amount * rate_bp, MAX_RATE_BP + rate_bp)
    else:
        tax = div_half_even(amount * rate_bp, MAX_RATE_BP)
    return sign * tax


def started_kg(weight_g: int) -> int:
    """How many kilograms a parcel starts (1 g is one kg, 1,001 g two; 0 g none)."""
    return math.ceil(max(0, weight_g) / 1000)


# -- zones and rates ------------------------------------------------------------------


def match_zone(zones: Sequence[Zone], country: str) -> Zone | None:
    """The zone naming this country, else the first "everywhere else" zone, else None."""
    code = country.upper()
    for zone in zones:
        if code in zone.countries:
            return zone
    return next((z for z in zones if not z.countries), None)


def rate_amount(rate: Rate, weight_g: int) -> int | None:
    """The price of a parcel of this weight (None: heavier than the last band)."""
    if rate.kind == "flat":
        return rate.amount_minor
    if rate.kind == "per_kg":
        return rate.amount_minor + rate.per_kg_minor * started_kg(weight_g)
    for band in sorted(rate.bands, key=lambda b: b.up_to_g):
        if weight_g <= band.up_to_g:
            return band.amount_minor
    return None


def tax_rate_for(taxes: Sequence[TaxRate], country: str, region: str | None) -> int:
    """The region's rate if one is set, else the country's, else 0."""
    code = country.upper()
    wanted = (region or "").strip().upper() or None
    country_rate = 0
    for tax in taxes:
        if tax.country != code:
            continue
        if wanted is not None and tax.region == wanted:
            return tax.rate_bp
        if tax.region is None:
            country_rate = tax.rate_bp
    return country_rate


def _money(amount_minor: int, currency: str) -> str:
    return f"{amount_minor / 100:,.2f} {currency}"


def parcel_refusal(
    settings: ShippingSettings | None, lines: Sequence[Line], country: str
) -> Refusal | None:
    """Why these lines of one merchant cannot go to this country, or None. It depends on
    the country, the currency and the weights only, never on prices: a parcel that passes
    before its prices are decided passes after."""
    if settings is None:
        return None
    for line in lines:
        if line.currency != settings.currency:
            return Refusal(
                WRONG_CURRENCY,
                f"This shop's shipping rates are in {settings.currency}, but an item is"
                f" priced in {line.currency}, so it can't be sent from here.",
            )
    zone = match_zone(settings.zones, country)
    if zone is None:
        return Refusal(
            NO_ZONE,
            f"This shop doesn't ship to {country.upper()}. Choose an address in another country.",
        )
    weight = sum(ln.weight_g * ln.quantity for ln in lines)
    if rate_amount(zone.rate, weight) is None:
        return Refusal(
            TOO_HEAVY,
            f"This parcel ({weight:,} g) is too heavy for this shop to send to"
            f" {country.upper()}. Try fewer items.",
        )
    return None


def parcel_charges(
    seller_id: int,
    settings: ShippingSettings | None,
    lines: Sequence[Line],
    *,
    country: str,
    region: str | None,
    included: bool,
    discount_minor: int = 0,
) -> Charges | Refusal:
    """What one merchant's lines cost shipped to this address: subtotal, the discount
    (taken off the goods, at most their amount), shipping (free from the zone's threshold,
    compared with the goods after the discount), tax per line and the total."""
    refusal = parcel_refusal(settings, lines, country)
    if refusal is not None:
        return refusal
    currency = lines[0].currency if lines else (settings.currency if settings else "")
    subtotal = sum(ln.total_minor for ln in lines)
    discount = max(0, min(discount_minor, subtotal))
    goods = subtotal - discount
    weight = sum(ln.weight_g * ln.quantity for ln in lines)
    if settings is None:  # a merchant who set up nothing ships free and adds no tax
        return Charges(seller_id, currency, subtotal, discount, 0, 0, included, goods)
    zone = match_zone(settings.zones, country)
    assert zone is not None  # parcel_refusal checked it
    shipping = rate_amount(zone.rate, weight) or 0
    if zone.free_from_minor is not None and goods >= zone.free_from_minor:
        shipping = 0
    rate_bp = tax_rate_for(settings.taxes, country, region)
    tax = sum(line_tax(ln.total_minor, rate_bp, included=included) for ln in lines)
    tax += line_tax(-discount, rate_bp, included=included)
    if settings.tax_shipping:
        tax += line_tax(shipping, rate_bp, included=included)
    total = goods + shipping + (0 if included else tax)
    return Charges(
        seller_id,
        currency,
        subtotal,
        discount,
        shipping,
        tax,
        included,
        total,
        zone=zone.name,
        rate_kind=zone.rate.kind,
        tax_rate_bp=rate_bp,
        weight_g=weight,
    )


def order_charges(
    parcels: Sequence[tuple[int, ShippingSettings | None, Sequence[Line]]],
    *,
    country: str,
    region: str | None,
    included: bool,
    discount_minor: int = 0,
) -> OrderCharges | Refusal:
    """An order's amounts: one parcel per merchant (seller id order). A coupon's discount
    is taken off the parcel with the largest subtotal (the first of equals), whose tax it
    lowers. The order takes one currency: a mix is refused."""
    currencies = {ln.currency for _, _, lines in parcels for ln in lines}
    if len(currencies) > 1:
        return Refusal(
            "mixed_currency",
            "These items are priced in different currencies; buy them in separate orders.",
        )
    ordered = sorted(parcels, key=lambda p: p[0])
    target = None
    if discount_minor and ordered:
        target = max(ordered, key=lambda p: (sum(ln.total_minor for ln in p[2]), -p[0]))[0]
    done: list[Charges] = []
    for seller_id, settings, lines in ordered:
        got = parcel_charges(
            seller_id,
            settings,
            lines,
            country=country,
            region=region,
            included=included,
            discount_minor=discount_minor if seller_id == target else 0,
        )
        if isinstance(got, Refusal):
            return got
        done.append(got)
    return OrderCharges(
        currency=next(iter(currencies), ""),
        subtotal_minor=sum(c.subtotal_minor for c in done),
        discount_minor=sum(c.discount_minor for c in done),
        shipping_minor=sum(c.shipping_minor for c in done),
        tax_minor=sum(c.tax_minor for c in done),
        tax_included=included,
        total_minor=sum(c.total_minor for c in done),
        parcels=tuple(done),
    )
