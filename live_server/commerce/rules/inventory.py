"""Pure inventory rules: first-come-first-served allocation, per-buyer caps, flash sales.

The checkout storage layer loads the current stock, active sales and each buyer's
previous purchases inside one write transaction, then asks `InventoryLedger` to decide
every request of the batch in arrival order. The ledger only does arithmetic; the
storage layer applies its decisions with conditional decrements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from live_server.commerce.auctions.rules import money
from live_server.commerce.rules.basics import CartLine
from live_server.platform.words import label, sentence

MIN_SALE_SECONDS: Final = 10
MAX_SALE_SECONDS: Final = 300
MAX_SALE_QUANTITY: Final = 100_000
DEFAULT_MAX_DISCOUNT_PERCENT: Final = 90  # the settings' defaults (flash_sale_*)
DEFAULT_PER_BUYER_LIMIT: Final = 2

# Rejection codes, also used as the API error codes.
SOLD_OUT: Final = "sold_out"
LIMIT_REACHED: Final = "limit_reached"
PRODUCT_NOT_FOUND: Final = "product_not_found"
MIXED_CURRENCY: Final = "mixed_currency"
CHOOSE_VARIANT: Final = "choose_variant"
CHOOSE_VARIANT_WORDS: Final = "Choose a size or colour first."


@dataclass(slots=True)
class ProductState:
    """What the allocator needs to know about a product."""

    product_id: int
    stock: int
    price_minor: int
    currency: str
    title: str
    owner_id: int
    per_buyer_limit: int | None = None
    has_variants: bool = False  # a listing whose variants are sold, never itself


@dataclass(slots=True)
class SaleState:
    """An active flash sale on a product (units left and its own cap)."""

    sale_id: int
    product_id: int
    price_minor: int
    remaining: int
    per_buyer_limit: int | None
    ends_at: float


@dataclass(frozen=True, slots=True)
class AllocatedLine:
    """One decided line of an order, priced (sale price if a sale applies)."""

    product_id: int
    quantity: int
    unit_price_minor: int
    currency: str
    title: str
    owner_id: int
    sale_id: int | None


@dataclass(frozen=True, slots=True)
class Allocation:
    """A successful all-or-nothing allocation of a request's lines."""

    lines: tuple[AllocatedLine, ...]
    total_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a request got nothing."""

    code: str
    message: str
    product_id: int | None = None


@dataclass(slots=True)
class InventoryLedger:
    """A working copy of stock for one batch; decides requests in the order given."""

    products: dict[int, ProductState]
    sales: dict[int, SaleState] = field(default_factory=dict)  # keyed by product id
    bought: dict[tuple[int, int], int] = field(default_factory=dict)  # (buyer, product)
    sale_bought: dict[tuple[int, int], int] = field(default_factory=dict)  # (buyer, sale)
    stock_taken: dict[int, int] = field(default_factory=dict)
    sale_taken: dict[int, int] = field(default_factory=dict)

    def try_allocate(self, buyer_id: int, lines: tuple[CartLine, ...]) -> Allocation | Rejection:
        """Take every line or nothing; update the working counters only on success."""
        decided: list[AllocatedLine] = []
        currency: str | None = None
        for line in lines:
            product = self.products.get(line.product_id)
            if product is None:
                return Rejection(PRODUCT_NOT_FOUND, "product not found", line.product_id)
            if product.has_variants:
                return Rejection(CHOOSE_VARIANT, CHOOSE_VARIANT_WORDS, line.product_id)
            if currency is not None and product.currency != currency:
                return Rejection(
                    MIXED_CURRENCY,
                    "These items are priced in different currencies; buy them in separate orders.",
                    line.product_id,
                )
            currency = product.currency
            if product.stock < line.quantity:
                return Rejection(SOLD_OUT, "sold out", line.product_id)
            limit = product.per_buyer_limit
            already = self.bought.get((buyer_id, product.product_id), 0)
            if limit is not None and already + line.quantity > limit:
                return Rejection(LIMIT_REACHED, f"at most {limit} per buyer", line.product_id)
            sale = self.sales.get(product.product_id)
            price = product.price_minor
            sale_id: int | None = None
            if sale is not None:
                if sale.remaining < line.quantity:
                    return Rejection(SOLD_OUT, "the flash sale is sold out", line.product_id)
                in_sale = self.sale_bought.get((buyer_id, sale.sale_id), 0)
                if (
                    sale.per_buyer_limit is not None
                    and in_sale + line.quantity > sale.per_buyer_limit
                ):
                    return Rejection(
                        LIMIT_REACHED,
                        f"at most {sale.per_buyer_limit} per buyer in this sale",
                        line.product_id,
                    )
                price = sale.price_minor
                sale_id = sale.sale_id
            decided.append(
                AllocatedLine(
                    product_id=product.product_id,
                    quantity=line.quantity,
                    unit_price_minor=price,
                    currency=product.currency,
                    title=product.title,
                    owner_id=product.owner_id,
                    sale_id=sale_id,
                )
            )
        for item in decided:
            self._take(buyer_id, item)
        total = sum(item.unit_price_minor * item.quantity for item in decided)
        return Allocation(tuple(decided), total, currency or "")

    def _take(self, buyer_id: int, item: AllocatedLine) -> None:
        product = self.products[item.product_id]
        product.stock -= item.quantity
        self.stock_taken[item.product_id] = self.stock_taken.get(item.product_id, 0) + item.quantity
        key = (buyer_id, item.product_id)
        self.bought[key] = self.bought.get(key, 0) + item.quantity
        if item.sale_id is not None:
            sale = self.sales[item.product_id]
            sale.remaining -= item.quantity
            self.sale_taken[item.sale_id] = self.sale_taken.get(item.sale_id, 0) + item.quantity
            skey = (buyer_id, item.sale_id)
            self.sale_bought[skey] = self.sale_bought.get(skey, 0) + item.quantity


def hold_deadline(now: float, hold_seconds: float) -> float:
    """When an unpaid reservation gives its units back."""
    return now + max(0.0, hold_seconds)


def hold_expired(deadline: float | None, now: float) -> bool:
    """True once a reservation's hold time is over (holds without deadline never expire)."""
    return deadline is not None and now >= deadline


class FlashSaleError(ValueError):
    """A flash sale request that breaks a rule; `field` names the input."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass(frozen=True, slots=True)
class FlashSaleSpec:
    """A validated flash sale: price, units, duration and cap."""

    product_id: int
    price_minor: int
    quantity: int
    duration_s: int
    per_buyer_limit: int


def _clamped(percent: int) -> int:
    return min(100, max(0, percent))


def min_sale_price(list_price_minor: int, max_discount_percent: int) -> int:
    """The lowest flash-sale price of a product: at most `max_discount_percent` off its list
    price, rounded up to a whole minor unit, and never below 1 (a sale is never free)."""
    keep = 100 - _clamped(max_discount_percent)
    return max(1, -(-list_price_minor * keep // 100))


def _whole(raw: object, field_name: str, missing: str) -> int:
    if raw is None:
        raise FlashSaleError(field_name, missing)
    if isinstance(raw, bool) or not isinstance(raw, int):
        words = sentence(f"the {label(field_name)} must be a whole number")
        raise FlashSaleError(field_name, words)
    return raw


def validate_flash_sale(
    *,
    product_id: int,
    price_minor: object,
    quantity: object,
    duration_s: object,
    per_buyer_limit: object,
    list_price_minor: int,
    stock: int,
    max_discount_percent: int = DEFAULT_MAX_DISCOUNT_PERCENT,
    default_per_buyer_limit: int = DEFAULT_PER_BUYER_LIMIT,
    currency: str = "USD",
) -> FlashSaleSpec:
    """Check a merchant's flash sale against the product: 10-300 s, a price from the floor
    (`min_sale_price`, never zero) to below the current price, 1 unit to what is in stock,
    and a per-buyer cap (the default one when none is given, so one buyer can never take a
    whole drop). Each refusal names its field and says what would be accepted, in money."""
    price = _whole(price_minor, "price_minor", "Enter a sale price.")
    floor = min_sale_price(list_price_minor, max_discount_percent)
    if floor >= list_price_minor:
        raise FlashSaleError("price_minor", "This product's price is too low for a flash sale.")
    if price >= list_price_minor:
        raise FlashSaleError(
            "price_minor",
            f"The sale price must be below the current price of "
            f"{money(list_price_minor, currency)}.",
        )
    if price < floor:
        raise FlashSaleError(
            "price_minor",
            f"The sale price must be at least {money(floor, currency)} (at most "
            f"{_clamped(max_discount_percent)} % off {money(list_price_minor, currency)}).",
        )
    qty = _whole(quantity, "quantity", "Enter how many units go on sale.")
    if qty < 1:
        raise FlashSaleError("quantity", "Put at least 1 unit on sale.")
    if stock < 1:
        raise FlashSaleError("quantity", "This product is out of stock.")
    if qty > stock:
        raise FlashSaleError(
            "quantity", f"Only {stock:,} in stock: put at most {stock:,} units on sale."
        )
    if qty > MAX_SALE_QUANTITY:
        raise FlashSaleError(
            "quantity", f"At most {MAX_SALE_QUANTITY:,} units can go on sale at once."
        )
    duration = _whole(duration_s, "duration_s", "Enter how long the sale lasts, in seconds.")
    if duration < MIN_SALE_SECONDS or duration > MAX_SALE_SECONDS:
        raise FlashSaleError(
            "duration_s", f"A flash sale lasts {MIN_SALE_SECONDS} to {MAX_SALE_SECONDS} seconds."
        )
    cap = max(1, default_per_buyer_limit)
    if per_buyer_limit is not None:
        cap = _whole(per_buyer_limit, "per_buyer_limit", "")
        if cap < 1:
            raise FlashSaleError("per_buyer_limit", "The limit per buyer must be at least 1.")
    return FlashSaleSpec(product_id, price, qty, duration, cap)


def sale_status(*, remaining: int, ends_at: float, ended_early: bool, now: float) -> str:
    """`active`, `sold_out` or `ended`, as shown on the pinned card."""
    if ended_early or now >= ends_at:
        return "ended"
    if remaining <= 0:
        return "sold_out"
    return "active"


def seconds_left(ends_at: float, now: float) -> float:
    """Countdown value, never negative, to a tenth of a second."""
    return round(max(0.0, ends_at - now), 1)
