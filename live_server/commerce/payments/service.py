"""Payments: the provider interface, the built-in offline provider, signed webhooks.

A provider never sees or returns card data: it gets an order and answers with a
reference and instructions; asynchronous outcomes arrive on
`POST /api/payments/webhook/{provider}`, signed with HMAC-SHA256 over
`"{timestamp}.{body}"` in the header `LiveShop-Signature: t=<unix seconds>,v1=<hex>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from live_server.commerce.checkout.outcomes import Released
from live_server.commerce.rules.orders import (
    PAYMENT_AUTHORIZED,
    PAYMENT_EVENTS,
    PAYMENT_FAILED,
    PAYMENT_SUCCEEDED,
)
from live_server.commerce.stores.orders import OrdersRepository
from live_server.platform.crypto import same_secret
from live_server.platform.errors import DomainError

logger = logging.getLogger(__name__)

SIGNATURE_HEADER: Final = "LiveShop-Signature"
MAX_WEBHOOK_BYTES: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class PaymentStart:
    """What the buyer is told after checkout (no secrets of ours, no card data).

    `outcome` is what the provider knew at once: "pending" (a webhook will say), or
    "succeeded", "authorized", "declined" (applied to the order like a webhook), or
    "requires_action" (the buyer confirms with their bank; `client_secret` is theirs, for
    this one payment, and goes only to them).
    """

    reference: str | None
    instructions: str
    outcome: str = "pending"
    client_secret: str | None = None


class PaymentDeclined(DomainError):
    """The provider refused the payment at checkout; the order gave its units back."""

    status = 402
    code = "payment_declined"


# what a provider's immediate outcome means for the order, as a payment event
_IMMEDIATE: Final[dict[str, str]] = {
    "succeeded": PAYMENT_SUCCEEDED,
    "authorized": PAYMENT_AUTHORIZED,
    "declined": PAYMENT_FAILED,
}


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """A provider's asynchronous notice about an order's payment."""

    event_id: str
    order_id: str
    type: str


class PaymentProvider(Protocol):
    """A way to pay. `confirms_immediately` providers turn orders into `confirmed` at once;
    the others leave them `pending_payment` with a stock hold until a webhook arrives."""

    name: str
    methods: tuple[str, ...]
    confirms_immediately: bool

    async def begin(self, order: dict[str, Any]) -> PaymentStart:
        """Start paying for a freshly placed order."""
        ...

    def parse_event(self, payload: dict[str, Any]) -> PaymentEvent:
        """Turn a verified webhook body into an event; ValueError when malformed."""
        ...


def parse_standard_event(payload: dict[str, Any]) -> PaymentEvent:
    """The webhook body shape shared by our providers: `{id, type, order_id}`."""
    event_id = payload.get("id")
    order_id = payload.get("order_id")
    kind = payload.get("type")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 200:
        raise ValueError("id must be a string")
    if not isinstance(order_id, str) or not 0 < len(order_id) <= 100:
        raise ValueError("order_id must be a string")
    if kind not in PAYMENT_EVENTS:
        raise ValueError("type must be payment.succeeded, payment.failed or payment.authorized")
    return PaymentEvent(event_id, order_id, str(kind))


class OfflineProvider:
    """Pay on delivery or by manual invoice: works with no network at all.

    Orders are confirmed at once (the goods are promised); the money arrives later, and a
    signed `payment.succeeded` webhook from the merchant's bookkeeping marks them paid.
    """

    name = "offline"
    methods: tuple[str, ...] = ("cod", "invoice")
    confirms_immediately = True

    async def begin(self, order: dict[str, Any]) -> PaymentStart:
        """Instructions for the buyer; the order id is the reference (nothing to store)."""
        if order["payment"]["method"] == "invoice":
            text = f"An invoice will be sent; pay it by bank transfer quoting {order['id']}."
        else:
            text = "Pay the courier on delivery."
        return PaymentStart(None, text)

    def parse_event(self, payload: dict[str, Any]) -> PaymentEvent:
        """Offline payments are confirmed by the merchant's signed notice."""
        return parse_standard_event(payload)


class WebhookRejected(Exception):
    """A webhook that is not authentic; `reason` is logged, never echoed in detail."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sign_webhook(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value for a body (providers and tests use this)."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_webhook(
    secret: str, header: str | None, body: bytes, now: float, tolerance_s: float
) -> None:
    """Raise WebhookRejected unless `header` is a fresh, valid signature of `body`."""
    if not secret:
        raise WebhookRejected("no webhook secret configured")
    if not header:
        raise WebhookRejected("unsigned")
    parts: dict[str, list[str]] = {}
    for piece in header.split(","):
        key, sep, value = piece.strip().partition("=")
        if sep:
            parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        raise WebhookRejected("malformed signature header") from None
    if abs(now - timestamp) > tolerance_s:
        raise WebhookRejected("stale timestamp")
    expected = sign_webhook(secret, body, timestamp).split("v1=", 1)[1]
    if not any(same_secret(expected, given) for given in parts.get("v1", [])):
        raise WebhookRejected("bad signature")


class PaymentsService:
    """Picks providers for methods and applies authenticated webhook events to orders."""

    def __init__(
        self,
        orders: OrdersRepository,
        *,
        webhook_secret: str,
        tolerance_s: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._orders = orders
        self._secret = webhook_secret
        self._tolerance = tolerance_s
        self._clock = clock
        self._providers: dict[str, PaymentProvider] = {}
        self._by_method: dict[str, PaymentProvider] = {}
        self._release_listeners: list[Callable[[Released], None]] = []
        # told of a provider's refunded total (a refund made in Stripe's Dashboard)
        self._refund_listeners: list[Callable[[str, int], Awaitable[None]]] = []
        self.register(OfflineProvider())

    def register(self, provider: PaymentProvider) -> None:
        """Add a provider; its methods become selectable at checkout."""
        self._providers[provider.name] = provider
        for method in provider.methods:
            self._by_method[method] = provider

    def on_release(self, listener: Callable[[Released], None]) -> None:
        """Be told when a failed payment gives units back (the live tick listens)."""
        self._release_listeners.append(listener)

    def on_provider_refund(self, listener: Callable[[str, int], Awaitable[None]]) -> None:
        """Be told (order id, refunded total) when the provider says a charge was refunded:
        fulfilment records what it did not give itself."""
        self._refund_listeners.append(listener)

    def methods(self) -> list[dict[str, Any]]:
        """Payment methods a buyer can choose."""
        return [
            {"method": m, "provider": p.name, "confirms_immediately": p.confirms_immediately}
            for m, p in sorted(self._by_method.items())
        ]

    def provider_for(self, method: str) -> PaymentProvider | None:
        """The provider behind a method name, or None."""
        return self._by_method.get(method)

    async def begin(self, order: dict[str, Any]) -> dict[str, Any]:
        """Start payment for a new order; returns the order with payment details filled."""
        provider = self._providers.get(order["payment"]["provider"])
        if provider is None:
            return order
        start = await provider.begin(order)
        if start.reference:
            await self._orders.set_payment_reference(order["id"], start.reference)
        immediate = _IMMEDIATE.get(start.outcome)
        if immediate is not None:
            await self.apply_event(
                provider.name, f"{provider.name}:checkout:{order['id']}", order["id"], immediate
            )
            if start.outcome == "declined":
                raise PaymentDeclined(start.instructions, code="payment_declined")
            order = await self._orders.get(order["id"]) or order
        payment = {
            **order["payment"],
            "reference": start.reference,
            "instructions": start.instructions,
        }
        if start.outcome == "requires_action":
            payment["next_action"] = "confirm_with_bank"
            payment["client_secret"] = start.client_secret
        return {**order, "payment": payment}

    async def apply_event(
        self, provider: str, event_id: str, order_id: str, event_type: str
    ) -> tuple[str | None, str | None]:
        """Applies one payment event to an order, once per event id (webhooks and what a
        provider answered at once take this same path); returns (old, new) status."""
        old, new, released = await self._orders.apply_payment_event(
            provider=provider,
            event_id=event_id,
            order_id=order_id,
            event_type=event_type,
            now=self._clock(),
        )
        if released is not None:
            for listener in self._release_listeners:
                listener(released)
        return old, new

    async def refusal_for(self, provider_name: str, user_id: int) -> str | None:
        """Why this buyer cannot pay with this provider now (a card is needed first), or
        None; checked before an order is placed, so no stock is held for nothing."""
        provider = self._providers.get(provider_name)
        can_pay = getattr(provider, "can_pay", None)
        if can_pay is None or await can_pay(user_id):
            return None
        return str(getattr(provider, "not_ready_text", "This way to pay is not ready."))

    def signature_header(self, provider_name: str) -> str:
        """The header a provider's webhooks carry their signature in."""
        provider = self._providers.get(provider_name)
        return str(getattr(provider, "signature_header", SIGNATURE_HEADER))

    def provider(self, name: str) -> PaymentProvider | None:
        """A registered provider by name."""
        return self._providers.get(name)

    async def handle_webhook(
        self, provider_name: str, signature: str | None, body: bytes
    ) -> dict[str, Any]:
        """Verify and apply a webhook. Raises WebhookRejected (-> 401) or ValueError (-> 400)."""
        provider = self._providers.get(provider_name)
        verify = getattr(provider, "verify_notice", None)
        if provider is not None and verify is not None:
            return await self._own_webhook(provider.name, verify, signature, body)
        try:
            verify_webhook(self._secret, signature, body, self._clock(), self._tolerance)
        except WebhookRejected as exc:
            logger.warning("payment webhook for %r refused: %s", provider_name, exc.reason)
            raise
        if provider is None:
            raise LookupError(provider_name)
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ValueError("body is not JSON") from None
        if not isinstance(payload, dict):
            raise ValueError("body must be a JSON object")
        event = provider.parse_event(payload)
        old, new, released = await self._orders.apply_payment_event(
            provider=provider.name,
            event_id=event.event_id,
            order_id=event.order_id,
            event_type=event.type,
            now=self._clock(),
        )
        if old is None:
            logger.warning("payment webhook %s: unknown order %s", event.event_id, event.order_id)
            return {"received": True, "applied": False, "reason": "unknown_order"}
        if released is not None:
            for listener in self._release_listeners:
                listener(released)
        logger.info(
            "payment webhook %s (%s) for order %s: %s -> %s",
            event.event_id,
            event.type,
            event.order_id,
            old,
            new or old,
        )
        return {"received": True, "applied": new is not None, "status": new or old}

    async def _own_webhook(
        self,
        provider: str,
        verify: Callable[[str | None, bytes], Any],
        signature: str | None,
        body: bytes,
    ) -> dict[str, Any]:
        """A provider that signs its webhooks its own way (Stripe): it verifies and reads the
        event; the event is matched to its order by metadata or payment reference."""
        try:
            notice = verify(signature, body)
        except WebhookRejected as exc:
            logger.warning("payment webhook for %r refused: %s", provider, exc.reason)
            raise
        order_id = notice.order_id
        if order_id is None and notice.payment_intent:
            order_id = await self._orders.order_for_reference(provider, notice.payment_intent)
        if order_id is None:
            logger.info("payment webhook %s (%s): no order of ours", notice.event_id, notice.type)
            return {"received": True, "applied": False, "reason": "unknown_order"}
        old, new = await self.apply_event(provider, notice.event_id, order_id, notice.type)
        if notice.stripe_type == "charge.dispute.created":
            logger.warning("payment dispute opened on order %s (%s)", order_id, notice.event_id)
        if old is None:
            return {"received": True, "applied": False, "reason": "unknown_order"}
        if notice.amount_refunded is not None:
            for listener in self._refund_listeners:
                await listener(order_id, notice.amount_refunded)
        logger.info(
            "payment webhook %s (%s) for order %s: %s -> %s",
            notice.event_id, notice.stripe_type, order_id, old, new or old,
        )  # fmt: skip
        return {"received": True, "applied": new is not None, "status": new or old}
