"""Product variants: the pure rules.

A product (the listing: title, photos, description) may have variants, each a combination
of option values ("Size: M", "Colour: Black") with its own SKU, price, stock and photo. A
variant is stored as a `products` row with a `parent_id`, so every part of commerce that
counts stock or prices a line (checkout, flash sales, auctions, carts, orders, analytics)
works per variant without knowing about them. The rules:

- One to three options per product; every variant of a product names the same options
  (the first variant decides which, in its order), and no two variants have the same
  values.
- A variant's title is its listing's title and its values ("Tee - M / Black"), so orders,
  packing lists and emails say which one was bought without a join.
- A listing with variants is not bought itself: a buyer picks a variant. Its stock is the
  sum of its variants'.
- Currency, category, description, weight and the per-buyer cap are the listing's; price,
  SKU, stock and photo are the variant's own (a new variant starts at the listing's price,
  and a listing's price change carries over to the variants still at the old price).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from live_server.platform.errors import Invalid

MAX_OPTIONS: Final = 3
MAX_VARIANTS: Final = 100
MAX_OPTION_NAME: Final = 20
MAX_OPTION_VALUE: Final = 24
MAX_SKU: Final = 64

#: What the listing's fields a variant copies (kept in step when the listing changes).
INHERITED: Final = ("description", "currency", "category", "per_buyer_limit", "weight_g")

OptionValues = tuple[tuple[str, str], ...]


def variant_label(values: OptionValues) -> str:
    """ "M / Black": what a buyer reads on a chip, a cart line or a packing list."""
    return " / ".join(value for _, value in values)


def variant_title(parent_title: str, values: OptionValues) -> str:
    return f"{parent_title} - {variant_label(values)}"


def options_of(variants: Iterable[OptionValues]) -> list[tuple[str, list[str]]]:
    """A listing's options with their values in the order its variants introduced them."""
    names: list[str] = []
    values: dict[str, list[str]] = {}
    for combo in variants:
        for name, value in combo:
            if name not in values:
                names.append(name)
                values[name] = []
            if value not in values[name]:
                values[name].append(value)
    return [(name, values[name]) for name in names]


def _clean(text: object, max_len: int, what: str, field: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise Invalid(f"Give each {what} a name.", code="invalid_options", field=field)
    text = " ".join(text.split())
    if len(text) > max_len:
        raise Invalid(
            f"Keep each {what} to {max_len} characters.", code="invalid_options", field=field
        )
    return text


def parse_option_values(
    raw: Mapping[str, object], existing_names: list[str] | None
) -> OptionValues:
    """Checks a variant's option values; `existing_names` are the options the listing's
    other variants use (None for its first variant), and decide the order."""
    if not 1 <= len(raw) <= MAX_OPTIONS:
        raise Invalid(
            f"Give the variant 1 to {MAX_OPTIONS} options, like Size: M.",
            code="invalid_options",
            field="options",
        )
    cleaned: dict[str, str] = {}
    for name, value in raw.items():
        key = _clean(name, MAX_OPTION_NAME, "option", "options")
        if key.casefold() in (k.casefold() for k in cleaned):
            raise Invalid(f"{key} is given twice.", code="invalid_options", field="options")
        cleaned[key] = _clean(value, MAX_OPTION_VALUE, "option value", f"options.{key}")
    if existing_names is None:
        return tuple(cleaned.items())
    by_fold = {k.casefold(): v for k, v in cleaned.items()}
    if sorted(by_fold) != sorted(n.casefold() for n in existing_names):
        raise Invalid(
            "This product's variants are chosen by " + " and ".join(existing_names) + ": give"
            " each of them, and nothing else.",
            code="option_names_differ",
            field="options",
        )
    return tuple((name, by_fold[name.casefold()]) for name in existing_names)


def same_values(a: OptionValues, b: OptionValues) -> bool:
    """Whether two variants are the same combination (values compared without case)."""
    return [(n.casefold(), v.casefold()) for n, v in a] == [
        (n.casefold(), v.casefold()) for n, v in b
    ]


def parse_sku(raw: object) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw.strip()) > MAX_SKU:
        raise Invalid(
            f"A SKU is up to {MAX_SKU} characters of text.", code="invalid_sku", field="sku"
        )
    return raw.strip() or None
