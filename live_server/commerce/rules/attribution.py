"""Pure attribution and commission rules."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Final

MAX_RATE_BP: Final = 10_000  # 100 %


@dataclass(frozen=True, slots=True)
class Attribution:
    """Where an order came from and the creator who earns on it."""

    source_type: str
    source_id: int | None
    creator_id: int | None
    session_id: int | None = None
    media_time: float | None = None


def credited(order_products: Iterable[int], source_products: Collection[int]) -> bool:
    """Whether an order may be credited to its source: every product it buys is in that
    show's line-up, that clip's or that post's tags. A buyer names the source, so a source
    that did not show the product earns nothing (the order is recorded as direct)."""
    wanted = set(order_products)
    return bool(wanted) and wanted.issubset(source_products)


#: What a buyer is told when the source their page named does not exist (a forged or
#: stale context): an order is never credited to something that isn't there.
_MISSING_SOURCE: Final = {
    "live": "That show can no longer be found.",
    "replay": "This show has no replay to buy from.",
    "clip": "That clip can no longer be found.",
    "post": "That post can no longer be found.",
}


def missing_source_message(source_type: str) -> str:
    """The sentence for a refused checkout whose source does not exist."""
    return _MISSING_SOURCE.get(source_type, "Where this purchase started can't be found.")


def validate_rate_bp(raw: object) -> int:
    """A commission rate in basis points, 0-10000 (0 %-100 %)."""
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_RATE_BP:
        raise ValueError("rate_bp must be a whole number between 0 and 10000")
    return raw


def commission_minor(total_minor: int, rate_bp: int) -> int:
    """Commission on an order total in minor units, rounded half up to a whole minor unit."""
    if total_minor <= 0 or rate_bp <= 0:
        return 0
    return (total_minor * rate_bp + 5_000) // 10_000


def percent(rate_bp: int) -> float:
    """Basis points as a percentage for display."""
    return rate_bp / 100.0
