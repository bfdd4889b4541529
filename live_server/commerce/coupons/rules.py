"""Pure rules of live coupons: the terms a host may drop, and redeeming inside checkout.

A coupon is percent or amount off, on listed products or the whole line-up, with a total
and a per-buyer limit, valid while the show is live or for N minutes after it ends. A
viewer claims it in the room with one tap; checkout applies it. The checkout transaction
loads every coupon its batch names and asks `CouponLedger` to decide each request in
arrival order, like the inventory ledger: a working copy of the counters, so a burst of
buyers can never redeem more than the limit, and a buyer never more than their share.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from live_server.commerce.rules.inventory import AllocatedLine, Allocation, Rejection

MAX_PERCENT: Final = 90
MAX_TOTAL: Final = 100_000
MAX_PER_BUYER: Final = 10
MAX_AFTER_MINUTES: Final = 24 * 60
KINDS: Final = ("percent", "amount")

NOT_FOUND: Final = "coupon_not_found"
EXPIRED: Final = "coupon_expired"
NOT_CLAIMED: Final = "coupon_not_claimed"
USED_UP: Final = "coupon_used_up"
ALREADY_USED: Final = "coupon_already_used"
NOT_APPLICABLE: Final = "coupon_not_applicable"
CONFLICTS: Final = frozenset({USED_UP, ALREADY_USED})


class CouponTermsError(ValueError):
    """Terms a host cannot drop a coupon with; the message is for people, `field` names the
    term it is about."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class CouponTerms:
    """What the host chose (value: a percent, or minor units off)."""

    kind: str
    value: int
    total_limit: int
    per_buyer_limit: int = 1
    product_ids: tuple[int, ...] | None = None  # None: the whole line-up
    after_show_minutes: int = 0


def check_coupon_terms(
    terms: CouponTerms, lineup: Iterable[int], prices: Mapping[int, int] | None = None
) -> CouponTerms:
    """Refuses terms that cannot work, in words for the host. With `prices` (product id ->
    price), an amount off must be less than the lowest price it applies to: a coupon never
    makes a product free."""
    if terms.kind not in KINDS:
        raise CouponTermsError("A coupon takes a percent or an amount off.", "kind")
    if terms.kind == "percent" and not 1 <= terms.value <= MAX_PERCENT:
        raise CouponTermsError(f"A percent coupon takes 1 to {MAX_PERCENT} % off.", "value")
    if terms.kind == "amount" and terms.value < 1:
        raise CouponTermsError("An amount coupon takes at least one cent off.", "value")
    if not 1 <= terms.total_limit <= MAX_TOTAL:
        raise CouponTermsError(f"Drop 1 to {MAX_TOTAL:,} coupons.", "total_limit")
    if not 1 <= terms.per_buyer_limit <= MAX_PER_BUYER:
        raise CouponTermsError(
            f"Each buyer may use a coupon 1 to {MAX_PER_BUYER} times.", "per_buyer_limit"
        )
    if not 0 <= terms.after_show_minutes <= MAX_AFTER_MINUTES:
        raise CouponTermsError(
            "A coupon stays valid at most a day after the show.", "after_show_minutes"
        )
    lineup = list(lineup)
    if terms.product_ids is not None:
        missing = set(terms.product_ids) - set(lineup)
        if not terms.product_ids or missing:
            raise CouponTermsError(
                "A coupon can only list products of this show's line-up.", "product_ids"
            )
    if terms.kind == "amount" and prices:
        applies = terms.product_ids if terms.product_ids is not None else lineup
        lowest = min((prices[p] for p in applies if p in prices), default=None)
        if lowest is not None and terms.value >= lowest:
            raise CouponTermsError(
                "An amount coupon must take less off than the lowest price it applies to.",
                "value",
            )
    return terms


def is_valid(
    *, withdrawn: bool, show_state: str, show_ended_at: float | None, after_min: int, now: float
) -> bool:
    """Valid while the show is live, or for `after_min` minutes after it ended."""
    if withdrawn:
        return False
    if show_state in ("live", "reconnecting"):
        return True
    if show_state == "ended" and show_ended_at is not None:
        return now < show_ended_at + after_min * 60
    return False


@dataclass(slots=True)
class CouponState:
    """A coupon as the checkout transaction read it."""

    coupon_id: int
    kind: str
    value: int
    currency: str
    products: frozenset[int]  # the products it applies to (the line-up when none listed)
    total_limit: int
    per_buyer_limit: int
    redeemed: int
    valid: bool


def discount_for(coupon: CouponState, lines: Iterable[AllocatedLine]) -> int:
    """Minor units off the eligible lines (rounded down; never more than they cost)."""
    eligible = sum(
        ln.unit_price_minor * ln.quantity for ln in lines if ln.product_id in coupon.products
    )
    if coupon.kind == "percent":
        return eligible * coupon.value // 100
    return min(coupon.value, eligible)


@dataclass(slots=True)
class CouponLedger:
    """Working counters of one checkout batch; decides requests in the order given."""

    coupons: dict[int, CouponState]
    claimed: set[tuple[int, int]] = field(default_factory=set)  # (coupon, buyer)
    used: dict[tuple[int, int], int] = field(default_factory=dict)  # (coupon, buyer) -> times
    taken: dict[int, int] = field(default_factory=dict)  # coupon -> redemptions this batch

    def check(
        self,
        buyer_id: int,
        coupon_id: int,
        product_ids: Iterable[int],
        currencies: Mapping[int, str],
    ) -> Rejection | None:
        """Why this buyer cannot use this coupon on these products now (None: they can)."""
        coupon = self.coupons.get(coupon_id)
        if coupon is None:
            return Rejection(NOT_FOUND, "That coupon doesn't exist.")
        if not coupon.valid:
            return Rejection(EXPIRED, "This coupon has expired.")
        if (coupon_id, buyer_id) not in self.claimed:
            return Rejection(NOT_CLAIMED, "Claim this coupon in the show first.")
        if coupon.redeemed >= coupon.total_limit:
            return Rejection(USED_UP, f"All {coupon.total_limit:,} coupons have been used.")
        if self.used.get((coupon_id, buyer_id), 0) >= coupon.per_buyer_limit:
            return Rejection(ALREADY_USED, "You've already used this coupon.")
        applies = [
            pid
            for pid in product_ids
            if pid in coupon.products
            and (coupon.kind == "percent" or currencies.get(pid) == coupon.currency)
        ]
        if not applies:
            return Rejection(NOT_APPLICABLE, "This coupon doesn't apply to these products.")
        return None

    def take(self, buyer_id: int, coupon_id: int, allocation: Allocation) -> int:
        """Redeems the coupon for an allocated order; returns the discount."""
        coupon = self.coupons[coupon_id]
        coupon.redeemed += 1
        key = (coupon_id, buyer_id)
        self.used[key] = self.used.get(key, 0) + 1
        self.taken[coupon_id] = self.taken.get(coupon_id, 0) + 1
        return discount_for(coupon, allocation.lines)
