"""A merchant's shipping settings between their JSON form and the rules' dataclasses.

The REST model checks shapes and ranges; `parse_settings` checks what spans several
inputs (a country in two zones, two "everywhere else" zones, bands out of order) and
words each refusal with the input it is about.
"""

from __future__ import annotations

import re
from typing import Any

from live_server.commerce.shipping.rules import (
    MAX_AMOUNT,
    MAX_BANDS,
    MAX_RATE_BP,
    MAX_TAX_RATES,
    MAX_ZONES,
    RATE_KINDS,
    Band,
    Rate,
    ShippingInputError,
    ShippingSettings,
    TaxRate,
    Zone,
)

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_REGION = re.compile(r"^[A-Z0-9-]{1,10}$")


def _amount(raw: Any, where: str, what: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_AMOUNT:
        raise ShippingInputError(where, f"Enter {what} as a whole number of cents, 0 or more.")
    return raw


def _rate(raw: Any, where: str) -> Rate:
    if not isinstance(raw, dict):
        raise ShippingInputError(where, "Choose how this zone's shipping is priced.")
    kind = raw.get("kind")
    if kind not in RATE_KINDS:
        raise ShippingInputError(f"{where}.kind", "Choose flat, by weight, or weight bands.")
    if kind == "flat":
        return Rate("flat", _amount(raw.get("amount_minor"), f"{where}.amount_minor", "a price"))
    if kind == "per_kg":
        return Rate(
            "per_kg",
            amount_minor=_amount(raw.get("amount_minor", 0), f"{where}.amount_minor", "a base"),
            per_kg_minor=_amount(raw.get("per_kg_minor"), f"{where}.per_kg_minor", "a rate"),
        )
    bands_raw = raw.get("bands")
    if not isinstance(bands_raw, list) or not 1 <= len(bands_raw) <= MAX_BANDS:
        raise ShippingInputError(f"{where}.bands", f"Give 1 to {MAX_BANDS} weight bands.")
    bands: list[Band] = []
    for i, band in enumerate(bands_raw):
        at = f"{where}.bands[{i}]"
        if not isinstance(band, dict):
            raise ShippingInputError(at, "Each band needs a weight and a price.")
        up_to = band.get("up_to_g")
        if isinstance(up_to, bool) or not isinstance(up_to, int) or not 1 <= up_to <= 10**7:
            raise ShippingInputError(f"{at}.up_to_g", "Enter the band's weight in grams.")
        if bands and up_to <= bands[-1].up_to_g:
            raise ShippingInputError(f"{at}.up_to_g", "Each band must be heavier than the last.")
        bands.append(
            Band(up_to, _amount(band.get("amount_minor"), f"{at}.amount_minor", "a price"))
        )
    return Rate("bands", bands=tuple(bands))


def _zone(raw: Any, where: str) -> Zone:
    if not isinstance(raw, dict):
        raise ShippingInputError(where, "Each zone needs a name, countries and a rate.")
    name = raw.get("name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 60:
        raise ShippingInputError(f"{where}.name", "Name the zone (up to 60 characters).")
    countries_raw = raw.get("countries", [])
    if not isinstance(countries_raw, list) or len(countries_raw) > 250:
        raise ShippingInputError(f"{where}.countries", "List the zone's countries.")
    countries: set[str] = set()
    for code in countries_raw:
        if not isinstance(code, str) or not _COUNTRY.match(code.upper()):
            raise ShippingInputError(
                f"{where}.countries", "Enter countries as 2-letter codes, like US or FR."
            )
        countries.add(code.upper())
    free_from = raw.get("free_from_minor")
    if free_from is not None:
        free_from = _amount(free_from, f"{where}.free_from_minor", "the free-shipping amount")
    return Zone(
        name.strip(), frozenset(countries), _rate(raw.get("rate"), f"{where}.rate"), free_from
    )


def _tax(raw: Any, where: str) -> TaxRate:
    if not isinstance(raw, dict):
        raise ShippingInputError(where, "Each tax rate needs a country and a rate.")
    country = raw.get("country")
    if not isinstance(country, str) or not _COUNTRY.match(country.upper()):
        raise ShippingInputError(f"{where}.country", "Enter the country as a 2-letter code.")
    region = raw.get("region")
    if region is not None and (not isinstance(region, str) or not _REGION.match(region.upper())):
        raise ShippingInputError(f"{where}.region", "Enter the region as a short code, like CA.")
    rate = raw.get("rate_bp")
    if isinstance(rate, bool) or not isinstance(rate, int) or not 0 <= rate <= MAX_RATE_BP:
        raise ShippingInputError(
            f"{where}.rate_bp", "Enter the rate in basis points, 0 to 10000 (20 % is 2000)."
        )
    return TaxRate(country.upper(), rate, region.upper() if region else None)


def parse_settings(raw: Any) -> ShippingSettings:
    """A merchant's settings from their JSON form (a `ShippingInputError` names the input)."""
    if not isinstance(raw, dict):
        raise ShippingInputError("zones", "Send the shop's zones and tax rates.")
    currency = raw.get("currency")
    if not isinstance(currency, str) or not _CURRENCY.match(currency.upper()):
        raise ShippingInputError("currency", "Enter the currency as a 3-letter code, like USD.")
    zones_raw = raw.get("zones")
    if not isinstance(zones_raw, list) or not 1 <= len(zones_raw) <= MAX_ZONES:
        raise ShippingInputError("zones", f"Give 1 to {MAX_ZONES} shipping zones.")
    zones = tuple(_zone(z, f"zones[{i}]") for i, z in enumerate(zones_raw))
    seen: set[str] = set()
    rest = 0
    for i, zone in enumerate(zones):
        twice = zone.countries & seen
        if twice:
            raise ShippingInputError(
                f"zones[{i}].countries", f"{sorted(twice)[0]} is already in another zone."
            )
        seen |= zone.countries
        if not zone.countries:
            rest += 1
            if rest > 1:
                raise ShippingInputError(
                    f"zones[{i}].countries", "Only one zone can be 'everywhere else'."
                )
    taxes_raw = raw.get("taxes", [])
    if not isinstance(taxes_raw, list) or len(taxes_raw) > MAX_TAX_RATES:
        raise ShippingInputError("taxes", f"Give at most {MAX_TAX_RATES} tax rates.")
    taxes = tuple(_tax(t, f"taxes[{i}]") for i, t in enumerate(taxes_raw))
    keys = [(t.country, t.region) for t in taxes]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            raise ShippingInputError(f"taxes[{i}].country", "This place already has a tax rate.")
    tax_shipping = raw.get("tax_shipping", True)
    if not isinstance(tax_shipping, bool):
        raise ShippingInputError("tax_shipping", "Taxing shipping is a yes or no.")
    return ShippingSettings(currency.upper(), zones, taxes, tax_shipping)


def settings_to_dict(settings: ShippingSettings) -> dict[str, Any]:
    """The JSON form (stored, and answered by GET /api/seller/shipping)."""

    def rate(r: Rate) -> dict[str, Any]:
        if r.kind == "flat":
            return {"kind": "flat", "amount_minor": r.amount_minor}
        if r.kind == "per_kg":
            return {
                "kind": "per_kg",
                "amount_minor": r.amount_minor,
                "per_kg_minor": r.per_kg_minor,
            }
        return {
            "kind": "bands",
            "bands": [{"up_to_g": b.up_to_g, "amount_minor": b.amount_minor} for b in r.bands],
        }

    return {
        "currency": settings.currency,
        "zones": [
            {
                "name": z.name,
                "countries": sorted(z.countries),
                "rate": rate(z.rate),
                "free_from_minor": z.free_from_minor,
            }
            for z in settings.zones
        ],
        "taxes": [
            {"country": t.country, "region": t.region, "rate_bp": t.rate_bp} for t in settings.taxes
        ],
        "tax_shipping": settings.tax_shipping,
    }
