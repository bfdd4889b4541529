"""Pure commerce rules: money in minor units, cart lines, order sources and statuses.

Nothing here touches the database or the network; services and HTTP handlers call these
support.helpers to validate input and to do the arithmetic the same way everywhere.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Final, Literal

SourceType = Literal["live", "replay", "clip", "post", "direct"]
SOURCE_TYPES: Final[tuple[str, ...]] = ("live", "replay", "clip", "post", "direct")

MAX_LINE_QUANTITY: Final = 99
MAX_CART_LINES: Final = 50
MAX_IDEMPOTENCY_KEY_LENGTH: Final = 200
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")

# Order statuses. Units of an order in an "active" status are out of stock; the others
# have given their units back.
PENDING_PAYMENT: Final = "pending_payment"
CONFIRMED: Final = "confirmed"
PAID: Final = "paid"
CANCELLED: Final = "cancelled"
EXPIRED: Final = "expired"
ACTIVE_STATUSES: Final[tuple[str, ...]] = (PENDING_PAYMENT, CONFIRMED, PAID)
RELEASED_STATUSES: Final[tuple[str, ...]] = (CANCELLED, EXPIRED)


class CommerceInputError(ValueError):
    """Raised by the validators below; `field` names the offending input."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass(frozen=True, slots=True)
class Source:
    """Where a purchase came from: a live session, its replay, a clip, a post, or the shop
    directly."""

    type: str
    id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {"type": self.type, "id": self.id}


DIRECT: Final = Source("direct", None)


@dataclass(frozen=True, slots=True)
class CartLine:
    """One product and a quantity in a cart or an order request."""

    product_id: int
    quantity: int


@dataclass(frozen=True, slots=True)
class Address:
    """A shipping address; kept as given, only its size and shape are checked."""

    name: str
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str = ""
    phone: str = ""
    region: str = ""  # state or province code, for a region's tax rate

    def as_dict(self) -> dict[str, str]:
        """JSON-friendly form."""
        return {
            "name": self.name,
            "line1": self.line1,
            "line2": self.line2,
            "city": self.city,
            "region": self.region,
            "postal_code": self.postal_code,
            "country": self.country,
            "phone": self.phone,
        }

    @property
    def first_name(self) -> str:
        """The first word of the name, the only part social proof may ever show."""
        parts = self.name.split()
        return parts[0][:30] if parts else ""


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    """A validated request to turn lines into one order."""

    buyer_id: int
    lines: tuple[CartLine, ...]
    idempotency_key: str
    fingerprint: str
    source: Source = DIRECT
    payment_method: str = "cod"
    address: Address | None = None
    creator_id: int | None = None
    session_id: int | None = None
    media_time: float | None = None
    show_first_name: bool = False
    extras: dict[str, Any] = field(default_factory=dict)
    #: A price the seller agreed with this buyer (an auction's winning bid), per unit: it
    #: replaces the list or flash-sale price of every line. Only the server sets it.
    agreed_unit_price_minor: int | None = None
    #: A live coupon the buyer claimed and asks to use (checked inside the transaction).
    coupon_id: int | None = None


def parse_quantity(raw: Any, *, field_name: str = "quantity") -> int:
    """A positive whole number of units, at most MAX_LINE_QUANTITY."""
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise CommerceInputError(field_name, "quantity must be a whole number")
    if raw < 1 or raw > MAX_LINE_QUANTITY:
        raise CommerceInputError(field_name, f"quantity must be between 1 and {MAX_LINE_QUANTITY}")
    return raw


def parse_id(raw: Any, field_name: str) -> int:
    """A positive integer id (digit strings are accepted too)."""
    if isinstance(raw, str) and raw.isdigit() and len(raw) < 19:
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw < 2**62:
        raise CommerceInputError(field_name, f"{field_name} must be a positive integer id")
    return raw


def parse_source(raw: Any) -> Source:
    """Validate `{type: live|clip|post, id}`; a missing source means a direct purchase."""
    if raw is None:
        return DIRECT
    if not isinstance(raw, dict):
        raise CommerceInputError("source", "source must be an object {type, id}")
    kind = raw.get("type")
    if kind not in SOURCE_TYPES:
        raise CommerceInputError("source.type", "source.type must be live, replay, clip or post")
    if kind == "direct":
        return DIRECT
    return Source(str(kind), parse_id(raw.get("id"), "source.id"))


def parse_lines(raw: Any) -> tuple[CartLine, ...]:
    """Validate a list of `{product_id, quantity}`; duplicates are merged."""
    if not isinstance(raw, list) or not raw:
        raise CommerceInputError("lines", "at least one line is needed")
    if len(raw) > MAX_CART_LINES:
        raise CommerceInputError("lines", f"at most {MAX_CART_LINES} lines")
    merged: dict[int, int] = {}
    for item in raw:
        if not isinstance(item, dict):
            raise CommerceInputError("lines", "each line must be an object")
        pid = parse_id(item.get("product_id"), "product_id")
        merged[pid] = merged.get(pid, 0) + parse_quantity(item.get("quantity", 1))
        if merged[pid] > MAX_LINE_QUANTITY:
            raise CommerceInputError("quantity", f"at most {MAX_LINE_QUANTITY} units of a product")
    return tuple(CartLine(pid, qty) for pid, qty in merged.items())


def parse_idempotency_key(raw: str | None) -> str:
    """The Idempotency-Key header: required, 1-200 visible ASCII characters."""
    if raw is None or raw == "":
        raise CommerceInputError("Idempotency-Key", "the Idempotency-Key header is required")
    if not _IDEMPOTENCY_KEY.match(raw):
        raise CommerceInputError(
            "Idempotency-Key", "Idempotency-Key must be 1-200 visible ASCII characters"
        )
    return raw


def _clean_text(raw: Any, field_name: str, *, required: bool, limit: int) -> str:
    if raw is None or raw == "":
        if required:
            raise CommerceInputError(field_name, f"{field_name} is required")
        return ""
    if not isinstance(raw, str):
        raise CommerceInputError(field_name, f"{field_name} must be text")
    text = raw.strip()
    if required and not text:
        raise CommerceInputError(field_name, f"{field_name} is required")
    if len(text) > limit or any(ord(ch) < 32 for ch in text):
        raise CommerceInputError(field_name, f"{field_name} is too long or has control characters")
    return text


def parse_address(raw: Any) -> Address:
    """Validate a shipping address object."""
    if not isinstance(raw, dict):
        raise CommerceInputError("address", "address must be an object")
    country = _clean_text(raw.get("country"), "address.country", required=True, limit=2).upper()
    if len(country) != 2 or not country.isalpha():
        raise CommerceInputError("address.country", "country must be a 2-letter ISO code")
    return Address(
        name=_clean_text(raw.get("name"), "address.name", required=True, limit=120),
        line1=_clean_text(raw.get("line1"), "address.line1", required=True, limit=200),
        line2=_clean_text(raw.get("line2"), "address.line2", required=False, limit=200),
        city=_clean_text(raw.get("city"), "address.city", required=True, limit=100),
        postal_code=_clean_text(
            raw.get("postal_code"), "address.postal_code", required=True, limit=20
        ),
        country=country,
        phone=_clean_text(raw.get("phone"), "address.phone", required=False, limit=40),
        region=_clean_text(raw.get("region"), "address.region", required=False, limit=10).upper(),
    )


def address_from_dict(raw: dict[str, Any]) -> Address:
    """Rebuild an address that was stored after validation."""
    return Address(
        name=str(raw.get("name", "")),
        line1=str(raw.get("line1", "")),
        line2=str(raw.get("line2", "")),
        city=str(raw.get("city", "")),
        postal_code=str(raw.get("postal_code", "")),
        country=str(raw.get("country", "")),
        phone=str(raw.get("phone", "")),
        region=str(raw.get("region", "")),
    )


def request_fingerprint(
    *,
    kind: Literal["buy-now", "cart", "auction"],
    lines: tuple[CartLine, ...] | None,
    source: Source | None,
    address: Any,
    payment_method: Any,
    coupon_id: int | None,
) -> str:
    """A short stable hash of everything a checkout request says that shapes its order, to
    spot an Idempotency-Key reused for another request: the kind of checkout, the lines (None
    for a cart checkout, whose lines are the cart's at the first attempt: a retry after
    success finds the cart emptied), the source named (None: taken from the cart), and the
    address and payment method given (None: the saved profile's), and the coupon named.
    Every input is a required keyword, so a new caller cannot leave one out."""
    payload = {
        "kind": kind,
        "lines": None if lines is None else [(ln.product_id, ln.quantity) for ln in lines],
        "source": None if source is None else source.as_dict(),
        "address": address,
        "payment_method": payment_method,
        "coupon_id": coupon_id,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def line_total(unit_price_minor: int, quantity: int) -> int:
    """Price of a line in minor units (integers only: no float money anywhere)."""
    return unit_price_minor * quantity
