"""Products and their validation rules."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from live_server.accounts.rules import INTERESTS
from live_server.catalog.variants import OptionValues, variant_label
from live_server.platform.errors import Invalid
from live_server.platform.words import label, sentence

CATEGORIES = INTERESTS
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
MAX_TITLE = 120
MAX_DESCRIPTION = 4000
MAX_PRICE_MINOR = 100_000_000
MAX_STOCK = 10_000_000
MAX_IMAGES = 8
#: What a person reads when a price, currency or category is refused.
PRICE_WORDS = f"Enter a price above zero (at most {MAX_PRICE_MINOR // 100:,})."
CURRENCY_WORDS = "Choose a currency (a three-letter code like USD)."
CATEGORY_WORDS = "Choose a category: " + ", ".join(CATEGORIES) + "."

# Accepted image uploads: content type -> (file extension, magic-number check).
IMAGE_TYPES: dict[str, str] = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
}

MAX_WEIGHT_G = 1_000_000  # 1 tonne, in grams


@dataclass(frozen=True)
class Product:
    """A product in a merchant's (host's) catalog."""

    id: int
    owner_id: int
    title: str
    description: str
    price_minor: int
    currency: str
    category: str
    stock: int
    per_buyer_limit: int | None
    images: tuple[str, ...]
    created_at: float
    updated_at: float
    weight_g: int = 0  # for shipping rates by weight
    parent_id: int | None = None  # set on a variant (see `catalog.variants`)
    option_values: OptionValues = ()  # a variant's values, in its listing's option order
    sku: str | None = None
    variants: tuple[Product, ...] = ()  # a listing's live variants, oldest first

    @property
    def has_variants(self) -> bool:
        return bool(self.variants)

    @property
    def option_label(self) -> str:
        """A variant's values ("M / Black"); empty for a product without variants."""
        return variant_label(self.option_values)

    @property
    def available(self) -> int:
        """Units that can be bought: a listing with variants has the sum of theirs."""
        return sum(v.stock for v in self.variants) if self.variants else self.stock

    def sellable(self, product_id: int) -> Product | None:
        """This product or the one of its variants with that id."""
        if product_id == self.id:
            return self
        return next((v for v in self.variants if v.id == product_id), None)


def find_sellable(products: Iterable[Product], product_id: int) -> Product | None:
    """A product of a line-up (or tag list), or a variant of one, by id."""
    for product in products:
        found = product.sellable(product_id)
        if found is not None:
            return found
    return None


def _text(data: dict[str, Any], key: str, max_len: int, *, required: bool) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise Invalid(sentence(f"{label(key)} is required"), code=f"invalid_{key}")
        return None
    if not isinstance(value, str):
        raise Invalid(sentence(f"the {label(key)} must be text"), code=f"invalid_{key}")
    value = value.strip()
    if required and not value:
        raise Invalid(sentence(f"the {label(key)} must not be empty"), code=f"invalid_{key}")
    if len(value) > max_len:
        raise Invalid(
            sentence(f"the {label(key)} must be at most {max_len:,} characters"),
            code=f"invalid_{key}",
        )
    return value


def _int(data: dict[str, Any], key: str, lo: int, hi: int, *, required: bool) -> int | None:
    value = data.get(key)
    if value is None:
        if required:
            raise Invalid(sentence(f"{label(key)} is required"), code=f"invalid_{key}")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        words = PRICE_WORDS if key == "price_minor" else f"the {label(key)} must be {lo} to {hi:,}"
        raise Invalid(sentence(words), code=f"invalid_{key}")
    return value


def validate_product_fields(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """Validates a create (partial=False) or update (partial=True) payload.

    Returns only the fields present, normalised. Unknown keys are rejected so that a typo
    does not silently do nothing.
    """
    allowed = {
        "title",
        "description",
        "price_minor",
        "currency",
        "category",
        "stock",
        "per_buyer_limit",
        "weight_g",
    }
    unknown = set(data) - allowed
    if unknown:
        raise Invalid(f"unknown fields: {', '.join(sorted(unknown))}", code="unknown_fields")
    req = not partial
    out: dict[str, Any] = {}
    if not partial or "title" in data:
        out["title"] = _text(data, "title", MAX_TITLE, required=True)
    if "description" in data or not partial:
        out["description"] = _text(data, "description", MAX_DESCRIPTION, required=False) or ""
    if not partial or "price_minor" in data:
        out["price_minor"] = _int(data, "price_minor", 1, MAX_PRICE_MINOR, required=True)
    if "currency" in data or not partial:
        currency = data.get("currency", "USD")
        if not isinstance(currency, str) or not CURRENCY_RE.match(currency):
            raise Invalid(CURRENCY_WORDS, code="invalid_currency")
        out["currency"] = currency
    if not partial or "category" in data:
        category = data.get("category")
        if category not in CATEGORIES:
            raise Invalid(CATEGORY_WORDS, code="invalid_category")
        out["category"] = category
    if "stock" in data or not partial:
        out["stock"] = _int(data, "stock", 0, MAX_STOCK, required=False) or 0
    if "per_buyer_limit" in data:
        out["per_buyer_limit"] = _int(data, "per_buyer_limit", 1, MAX_STOCK, required=False)
    elif req:
        out["per_buyer_limit"] = None
    if "weight_g" in data or not partial:
        out["weight_g"] = _int(data, "weight_g", 0, MAX_WEIGHT_G, required=False) or 0
    return out


def sniff_image_type(head: bytes) -> str | None:
    """Identifies an image by its magic number (the declared Content-Type is not trusted)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None
