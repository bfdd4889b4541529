"""Pure order rules: status transitions and payment outcomes."""

from __future__ import annotations

from typing import Final

from live_server.commerce.rules.basics import CANCELLED, CONFIRMED, EXPIRED, PAID, PENDING_PAYMENT

# status -> statuses it may move to
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    PENDING_PAYMENT: frozenset({CONFIRMED, PAID, CANCELLED, EXPIRED}),
    CONFIRMED: frozenset({PAID, CANCELLED}),
    PAID: frozenset(),
    CANCELLED: frozenset(),
    EXPIRED: frozenset(),
}

PAYMENT_SUCCEEDED: Final = "payment.succeeded"
PAYMENT_FAILED: Final = "payment.failed"
# the card is authorised, the money is captured later (at shipping, or an auction's win)
PAYMENT_AUTHORIZED: Final = "payment.authorized"
PAYMENT_EVENTS: Final = (PAYMENT_SUCCEEDED, PAYMENT_FAILED, PAYMENT_AUTHORIZED)


def can_transition(old: str, new: str) -> bool:
    """Whether an order in `old` may become `new`."""
    return new in TRANSITIONS.get(old, frozenset())


def status_after_payment_event(current: str, event_type: str) -> str | None:
    """The status a payment event moves an order to, or None when it changes nothing.

    An authorisation confirms a pending order; its capture later makes it paid.
    Late or repeated events are harmless: a success on an expired order changes nothing
    (its units went back to stock; the operator refunds), a failure on a paid order too.
    """
    if event_type == PAYMENT_SUCCEEDED:
        target = PAID
    elif event_type == PAYMENT_FAILED:
        target = CANCELLED
    elif event_type == PAYMENT_AUTHORIZED:
        target = CONFIRMED  # the goods are promised; `paid` comes with the capture
    else:
        return None
    return target if can_transition(current, target) else None


def releases_units(old: str, new: str) -> bool:
    """True when moving from `old` to `new` gives the order's units back to stock."""
    return old in (PENDING_PAYMENT, CONFIRMED, PAID) and new in (CANCELLED, EXPIRED)
