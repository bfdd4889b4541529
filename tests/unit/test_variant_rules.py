"""The pure rules of product variants (`catalog.variants`)."""

from __future__ import annotations

import pytest

from live_server.catalog.variants import (
    options_of,
    parse_option_values,
    parse_sku,
    same_values,
    variant_title,
)
from live_server.platform.errors import Invalid


def test_the_first_variant_decides_the_options_and_their_order() -> None:
    first = parse_option_values({"Size": " M ", "Colour": "Black"}, None)
    assert first == (("Size", "M"), ("Colour", "Black"))
    later = parse_option_values({"colour": "White", "SIZE": "L"}, ["Size", "Colour"])
    assert later == (("Size", "L"), ("Colour", "White"))  # the listing's names and order
    with pytest.raises(Invalid) as missing:
        parse_option_values({"Size": "S"}, ["Size", "Colour"])
    assert missing.value.code == "option_names_differ"
    assert "Size and Colour" in str(missing.value)


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"a": "1", "b": "2", "c": "3", "d": "4"},
        {"": "M"},
        {"Size": "   "},
        {"Size": "M", "size": "L"},
        {"Size": "x" * 25},
        {"Size": 3},
    ],
)
def test_bad_option_values_are_refused_with_a_sentence(raw: dict[str, object]) -> None:
    with pytest.raises(Invalid) as exc:
        parse_option_values(raw, None)
    assert exc.value.field is not None and str(exc.value).endswith(".")


def test_titles_options_and_sameness() -> None:
    combos = [(("Size", "S"),), (("Size", "M"),), (("Size", "S"),)]
    assert options_of(combos) == [("Size", ["S", "M"])]
    assert variant_title("Tee", (("Size", "M"), ("Colour", "Black"))) == "Tee - M / Black"
    assert same_values((("Size", "m"),), (("Size", "M"),))
    assert not same_values((("Size", "S"),), (("Size", "M"),))
    assert parse_sku("  TEE-M ") == "TEE-M" and parse_sku("") is None and parse_sku(None) is None
    with pytest.raises(Invalid):
        parse_sku("x" * 65)
