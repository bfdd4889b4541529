"""Shipping and tax rules: zone matching, every rate kind, the free-from threshold at its
boundary, inclusive and exclusive tax with half-even rounding per line, and the settings'
refusals."""

from __future__ import annotations

import pytest

from live_server.commerce.shipping import charging
from live_server.commerce.shipping.parse import parse_settings, settings_to_dict
from live_server.commerce.shipping.rules import (
    NO_ZONE,
    TOO_HEAVY,
    WRONG_CURRENCY,
    Band,
    Charges,
    Line,
    OrderCharges,
    Rate,
    Refusal,
    ShippingInputError,
    ShippingSettings,
    TaxRate,
    Zone,
    div_half_even,
    line_tax,
    match_zone,
    parcel_charges,
    rate_amount,
    started_kg,
    tax_rate_for,
)

EU = Zone("EU", frozenset({"FR", "DE"}), Rate("flat", 500), free_from_minor=5000)
REST = Zone("World", frozenset(), Rate("per_kg", 1000, per_kg_minor=300))


def _settings(*zones: Zone, taxes: tuple[TaxRate, ...] = (), tax_shipping: bool = True):
    return ShippingSettings("EUR", zones, taxes, tax_shipping)


def test_zone_matching_prefers_named_countries_then_everywhere_else() -> None:
    assert match_zone([REST, EU], "fr") is EU  # named beats "everywhere else", any order
    assert match_zone([EU, REST], "JP") is REST
    assert match_zone([EU], "JP") is None


def test_rates_flat_per_started_kg_and_bands() -> None:
    assert rate_amount(Rate("flat", 500), 12_345) == 500
    assert [started_kg(g) for g in (0, 1, 1000, 1001, 2500)] == [0, 1, 1, 2, 3]
    per_kg = Rate("per_kg", 1000, per_kg_minor=300)
    assert rate_amount(per_kg, 0) == 1000
    assert rate_amount(per_kg, 1000) == 1300
    assert rate_amount(per_kg, 1001) == 1600
    bands = Rate("bands", bands=(Band(2000, 900), Band(500, 400)))  # any order given
    assert rate_amount(bands, 500) == 400
    assert rate_amount(bands, 501) == 900
    assert rate_amount(bands, 2000) == 900
    assert rate_amount(bands, 2001) is None


def test_free_from_threshold_at_the_boundary() -> None:
    settings = _settings(EU)
    just_below = parcel_charges(
        1, settings, [Line(1, 1, 4999, "EUR")], country="FR", region=None, included=True
    )
    at = parcel_charges(
        1, settings, [Line(1, 1, 5000, "EUR")], country="FR", region=None, included=True
    )
    assert isinstance(just_below, Charges) and isinstance(at, Charges)
    assert just_below.shipping_minor == 500
    assert at.shipping_minor == 0
    # the threshold is compared with the goods after a coupon's discount
    discounted = parcel_charges(
        1,
        settings,
        [Line(1, 1, 5000, "EUR")],
        country="FR",
        region=None,
        included=True,
        discount_minor=1,
    )
    assert isinstance(discounted, Charges) and discounted.shipping_minor == 500


def test_half_even_division() -> None:
    assert [div_half_even(n, 2) for n in (1, 3, 5, 7)] == [0, 2, 2, 4]
    assert div_half_even(249, 100) == 2 and div_half_even(251, 100) == 3
    assert div_half_even(-5, 2) == -2  # -2.5 -> -2


def test_exclusive_tax_is_added_and_rounded_per_line() -> None:
    # 8.25 %: a 10.10 line has 0.833... tax -> 0.83; a 2.00 line 0.165 -> 0.16 (half to
    # even); summed line by line (0.99), not on the 12.10 total (0.998 -> 1.00)
    assert line_tax(1010, 825, included=False) == 83
    assert line_tax(200, 825, included=False) == 16
    settings = _settings(
        Zone("US", frozenset({"US"}), Rate("flat", 0)),
        taxes=(TaxRate("US", 0), TaxRate("US", 825, "TX")),
    )
    lines = [Line(1, 1, 1010, "EUR"), Line(2, 1, 200, "EUR")]
    got = parcel_charges(1, settings, lines, country="US", region="tx", included=False)
    assert isinstance(got, Charges)
    assert (got.subtotal_minor, got.tax_minor, got.total_minor) == (1210, 99, 1309)
    assert got.tax_rate_bp == 825
    other_state = parcel_charges(1, settings, lines, country="US", region="NY", included=False)
    assert isinstance(other_state, Charges) and other_state.tax_minor == 0


def test_inclusive_tax_is_inside_the_price() -> None:
    # 20 % VAT inside 12.00 is 2.00; inside 0.03 it is 0.005 -> 0.00 (half to even), inside
    # 0.09 it is 0.015 -> 0.02
    assert line_tax(1200, 2000, included=True) == 200
    assert line_tax(3, 2000, included=True) == 0
    assert line_tax(9, 2000, included=True) == 2
    settings = _settings(EU, taxes=(TaxRate("FR", 2000),))
    got = parcel_charges(
        1, settings, [Line(1, 2, 1200, "EUR")], country="FR", region=None, included=True
    )
    assert isinstance(got, Charges)
    # 24.00 of goods + 5.00 shipping, both taxed inside: 4.00 + 0.83 (0.8333)
    assert (got.shipping_minor, got.tax_minor, got.total_minor) == (500, 483, 2900)
    untaxed_shipping = parcel_charges(
        1,
        _settings(EU, taxes=(TaxRate("FR", 2000),), tax_shipping=False),
        [Line(1, 2, 1200, "EUR")],
        country="FR",
        region=None,
        included=True,
    )
    assert isinstance(untaxed_shipping, Charges) and untaxed_shipping.tax_minor == 400


def test_refusals_no_zone_too_heavy_wrong_currency() -> None:
    heavy = _settings(Zone("EU", frozenset({"FR"}), Rate("bands", bands=(Band(1000, 500),))))
    assert charging.refusal([(1, Line(1, 1, 100, "EUR", 400))], {1: heavy}, "FR") is None
    got = charging.refusal([(1, Line(1, 3, 100, "EUR", 400))], {1: heavy}, "FR")
    assert isinstance(got, Refusal) and got.code == TOO_HEAVY
    got = charging.refusal([(1, Line(1, 1, 100, "EUR"))], {1: heavy}, "JP")
    assert isinstance(got, Refusal) and got.code == NO_ZONE and "JP" in got.message
    got = charging.refusal([(1, Line(1, 1, 100, "USD"))], {1: heavy}, "FR")
    assert isinstance(got, Refusal) and got.code == WRONG_CURRENCY
    # a merchant who set up nothing ships free everywhere, without tax
    free = charging.charges(
        [(2, Line(1, 1, 100, "USD"))], {}, country="JP", region=None, included=False
    )
    assert isinstance(free, OrderCharges)
    assert (free.shipping_minor, free.tax_minor, free.total_minor) == (0, 0, 100)


def test_an_order_sums_one_parcel_per_merchant_and_takes_one_currency() -> None:
    a = _settings(EU, taxes=(TaxRate("FR", 2000),))
    b = _settings(Zone("All", frozenset(), Rate("flat", 700)))
    lines = [(1, Line(1, 1, 1200, "EUR")), (2, Line(2, 1, 800, "EUR"))]
    got = charging.charges(
        lines, {1: a, 2: b}, country="FR", region=None, included=True, discount_minor=300
    )
    assert isinstance(got, OrderCharges)
    assert [p.seller_id for p in got.parcels] == [1, 2]
    # the discount goes to the larger parcel (1): 9.00 of goods, tax 1.50 + 0.83
    assert got.parcels[0].discount_minor == 300 and got.parcels[1].discount_minor == 0
    assert got.shipping_minor == 1200 and got.tax_minor == 150 + 83
    assert got.total_minor == 900 + 500 + 800 + 700
    mixed = charging.charges(
        [(1, Line(1, 1, 100, "EUR")), (2, Line(2, 1, 100, "USD"))],
        {},
        country="FR",
        region=None,
        included=True,
    )
    assert isinstance(mixed, Refusal) and mixed.code == "mixed_currency"


def test_settings_round_trip_and_refusals_name_their_input() -> None:
    raw = {
        "currency": "eur",
        "zones": [
            {"name": "EU", "countries": ["fr", "DE"], "rate": {"kind": "flat", "amount_minor": 5}},
            {
                "name": "World",
                "countries": [],
                "rate": {"kind": "bands", "bands": [{"up_to_g": 500, "amount_minor": 9}]},
                "free_from_minor": 10_000,
            },
        ],
        "taxes": [{"country": "FR", "rate_bp": 2000}],
    }
    settings = parse_settings(raw)
    assert settings.currency == "EUR" and settings.zones[0].countries == {"FR", "DE"}
    assert parse_settings(settings_to_dict(settings)) == settings
    assert tax_rate_for(settings.taxes, "fr", None) == 2000

    def refused(change: dict[str, object]) -> str:
        with pytest.raises(ShippingInputError) as exc:
            parse_settings({**raw, **change})
        return exc.value.field

    twice = [raw["zones"][0], {**raw["zones"][0], "name": "Again"}]  # type: ignore[index]
    assert refused({"zones": twice}) == "zones[1].countries"
    rest = raw["zones"][1]  # type: ignore[index]
    assert refused({"zones": [rest, rest]}) == "zones[1].countries"
    bands = {"kind": "bands", "bands": [{"up_to_g": 500, "amount_minor": 1}] * 2}
    assert refused({"zones": [{**rest, "rate": bands}]}) == "zones[0].rate.bands[1].up_to_g"
    assert refused({"currency": "EURO"}) == "currency"
    assert refused({"taxes": [{"country": "FR", "rate_bp": 20_001}]}) == "taxes[0].rate_bp"


def test_the_confirmation_email_names_shipping_and_tax() -> None:
    from live_server.commerce.emails.rules import confirmation

    order = {
        "id": "ord_0123456789abcdef0123",
        "status": "confirmed",
        "currency": "USD",
        "total_minor": 5_940,
        "subtotal_minor": 4_900,
        "discount_minor": 0,
        "shipping_minor": 500,
        "tax_minor": 540,
        "tax_included": False,
        "items": [{"title": "Lamp", "quantity": 1, "unit_price_minor": 4_900, "currency": "USD"}],
    }
    text = confirmation(order, "Ana", "http://shop.example").text
    assert "Total $59.40 (items $49.00, shipping $5.00, tax $5.40)" in text
