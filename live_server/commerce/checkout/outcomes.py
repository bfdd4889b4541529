"""What checkout hands to the reservation store and what it gets back.

`PreparedCheckout` goes in (a request with everything resolved outside the transaction);
one `CheckoutOutcome` per request comes out of a batch, and `Released` out of every path
that gives units back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from live_server.commerce.rules.basics import CheckoutRequest
from live_server.commerce.rules.inventory import Rejection


@dataclass(frozen=True, slots=True)
class PreparedCheckout:
    """A checkout request with everything resolved outside the transaction."""

    request: CheckoutRequest
    provider: str
    confirms_immediately: bool
    commission_rate_bp: int
    hold_seconds: float
    #: the store's prices include tax (EU style) rather than having it added (US style)
    prices_include_tax: bool = False


@dataclass(frozen=True, slots=True)
class OrderPlaced:
    """A new order (or, with replayed=True, the order an earlier identical request made)."""

    order: dict[str, Any]
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class OrderReplay:
    """The Idempotency-Key was used before with the same body: answer with that order."""

    order_id: str


@dataclass(frozen=True, slots=True)
class KeyReused:
    """The Idempotency-Key was used before with a different body."""

    order_id: str


CheckoutOutcome = OrderPlaced | OrderReplay | KeyReused | Rejection


@dataclass(slots=True)
class BatchResult:
    """Per-request outcomes plus the stock and sale counters after the batch."""

    outcomes: list[CheckoutOutcome]
    stock_after: dict[int, int] = field(default_factory=dict)
    sales_after: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Released:
    """Units handed back by cancelled or expired orders."""

    order_ids: tuple[str, ...]
    stock_after: dict[int, int]
    sales_after: dict[int, int]
