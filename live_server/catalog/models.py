"""The catalog's REST bodies, declared once: the routes validate with them and the OpenAPI
document shows them (`platform.schemas`). The rules still judge the values."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from live_server.catalog.rules import (
    CATEGORIES,
    CATEGORY_WORDS,
    CURRENCY_WORDS,
    MAX_DESCRIPTION,
    MAX_PRICE_MINOR,
    MAX_STOCK,
    MAX_TITLE,
    MAX_WEIGHT_G,
    PRICE_WORDS,
)
from live_server.catalog.variants import MAX_OPTIONS, MAX_SKU
from live_server.platform.schemas import UNSET, Body, UnsetType

Title = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_TITLE,
        pattern=r"\S",  # `validate_product_fields` strips it: spaces alone are empty
        extra={"message": f"Give the product a title of 1-{MAX_TITLE} characters."},
    ),
]
Description = Annotated[str, Meta(max_length=MAX_DESCRIPTION)]
Price = Annotated[
    int,
    Meta(
        ge=1,
        le=MAX_PRICE_MINOR,
        description="in minor units (cents)",
        extra={"message": PRICE_WORDS},
    ),
]
Currency = Annotated[
    str,
    Meta(
        pattern=r"^[A-Z]{3}$",
        examples=["USD"],
        extra={"message": CURRENCY_WORDS},
    ),
]
Category = Annotated[
    str,
    Meta(
        pattern="^(" + "|".join(CATEGORIES) + ")$",
        extra_json_schema={"enum": list(CATEGORIES)},
        extra={"message": CATEGORY_WORDS},
    ),
]
Stock = Annotated[int, Meta(ge=0, le=MAX_STOCK)]
PerBuyerLimit = Annotated[int, Meta(ge=1, le=MAX_STOCK, description="null: no limit")]
Weight = Annotated[
    int,
    Meta(
        ge=0,
        le=MAX_WEIGHT_G,
        description="grams, for shipping by weight",
        extra={"message": "Enter the weight in grams, 0 to 1,000,000."},
    ),
]


class ProductCreate(Body, forbid_unknown_fields=True):
    """POST /api/products (unknown fields are refused, so that a typo is not ignored)."""

    title: Title
    price_minor: Price
    category: Category
    description: Description | UnsetType | None = UNSET
    currency: Currency | UnsetType = UNSET
    stock: Stock | UnsetType | None = UNSET
    per_buyer_limit: PerBuyerLimit | UnsetType | None = UNSET
    weight_g: Weight | UnsetType | None = UNSET


class ProductUpdate(Body, forbid_unknown_fields=True):
    """PATCH /api/products/{id}: only the fields sent change."""

    title: Title | UnsetType = UNSET
    price_minor: Price | UnsetType = UNSET
    category: Category | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    currency: Currency | UnsetType = UNSET
    stock: Stock | UnsetType | None = UNSET
    per_buyer_limit: PerBuyerLimit | UnsetType | None = UNSET
    weight_g: Weight | UnsetType | None = UNSET


class VariantCreate(Body, forbid_unknown_fields=True):
    """POST /api/products/{id}/variants: one combination of option values."""

    options: Annotated[
        dict[str, str],
        Meta(
            min_length=1,
            max_length=MAX_OPTIONS,
            examples=[{"Size": "M"}],
            extra={"message": "Give the variant its options, like Size: M."},
        ),
    ]
    price_minor: Price | UnsetType = UNSET
    stock: Stock | UnsetType = UNSET
    sku: Annotated[str, Meta(max_length=MAX_SKU)] | UnsetType | None = UNSET
    image_position: (
        Annotated[int, Meta(ge=1, description="one of the product's photos, 1 first")]
        | UnsetType
        | None
    ) = UNSET


class VariantUpdate(Body, forbid_unknown_fields=True):
    """PATCH /api/products/{id}/variants/{variant_id}: only the fields sent change."""

    price_minor: Price | UnsetType = UNSET
    stock: Stock | UnsetType = UNSET
    sku: Annotated[str, Meta(max_length=MAX_SKU)] | UnsetType | None = UNSET
    image_position: Annotated[int, Meta(ge=1)] | UnsetType | None = UNSET


class VariantOut(msgspec.Struct):
    """A listing's variant."""

    id: int
    sku: str | None
    option_values: dict[str, str]
    label: str
    price_minor: int
    stock: int
    image: str | None


class OptionOut(msgspec.Struct):
    """An option of a listing and its values, in the order its variants use them."""

    name: str
    values: list[str]


class ProductOut(msgspec.Struct):
    """A product as `product_json` writes it (a variant has parent_id, option_values and
    label; a listing with variants has options and variants, and its stock is theirs)."""

    id: int
    owner_id: int
    title: str
    description: str
    price_minor: int
    currency: str
    category: str
    stock: int
    per_buyer_limit: int | None
    images: list[str]
    created_at: str
    weight_g: int = 0
    parent_id: int | None = None
    sku: str | None = None
    options: list[OptionOut] = []
    variants: list[VariantOut] = []
    option_values: dict[str, str] | UnsetType = UNSET
    label: str | UnsetType = UNSET


class ProductPage(msgspec.Struct):
    """GET /api/products."""

    items: list[ProductOut]
