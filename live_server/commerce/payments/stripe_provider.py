"""Card payments through Stripe, behind the payments provider interface.

The flow (docs/commerce.md, "Card payments"):

1. Saving a card: the server makes a SetupIntent for the buyer's Stripe Customer (one per
   buyer, made on first use); the page confirms it with Stripe.js and the card Element (or
   the Payment Element), so the card goes from the browser to Stripe and never through
   LiveShop; the server then reads the SetupIntent and keeps the card's id, brand and last
   four digits as the buyer's card on file.
2. Paying: checkout places the order (stock held, `pending_payment`), then `begin` creates
   a PaymentIntent for the order's total, for the saved card, confirmed at once, with the
   order id as the idempotency key, so a retried checkout never charges twice. A card that
   needs 3-D Secure comes back `requires_action`: the sheet finishes it with
   `stripe.confirmCardPayment(client_secret)`. A decline cancels the order and gives its
   units back, with Stripe's sentence for the buyer.
3. Webhooks (`POST /api/payments/webhook/stripe`, `Stripe-Signature` checked by the SDK)
   are the source of truth and are applied once per event id; what `begin` saw at once is
   applied the same way, so the two never disagree.

With `capture="manual"` the card is only authorised at checkout (the order is `confirmed`)
and captured later (`capture`), as for "authorise at order, capture at shipping".
The secret key and the webhook secret stay on the server: no page, log or response has them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, cast

import stripe
from stripe._http_client import AIOHTTPClient

from live_server.commerce.payments.service import PaymentStart, WebhookRejected
from live_server.commerce.payments.stripe_store import SavedCard, StripeCustomers
from live_server.commerce.rules.orders import PAYMENT_AUTHORIZED, PAYMENT_FAILED, PAYMENT_SUCCEEDED

if TYPE_CHECKING:
    from stripe.params import (
        PaymentIntentCreateParams,
        RefundCreateParams,
        SetupIntentCreateParams,
    )

logger = logging.getLogger(__name__)

STRIPE_SIGNATURE_HEADER: Final = "Stripe-Signature"
DECLINED: Final = "Your card was declined. Try another card or another way to pay."
NO_CARD: Final = "Add a card first: it is saved for one-tap buying."
UNREACHABLE: Final = "Card payments are not answering right now. Try again in a minute."
# Stripe event type -> our payment event type; other types are stored and change nothing
EVENT_TYPES: Final[dict[str, str]] = {
    "payment_intent.succeeded": PAYMENT_SUCCEEDED,
    "payment_intent.payment_failed": PAYMENT_FAILED,
    "payment_intent.canceled": PAYMENT_FAILED,
    "payment_intent.amount_capturable_updated": PAYMENT_AUTHORIZED,
}
NOTED_TYPES: Final = ("charge.refunded", "charge.dispute.created")


@dataclass(frozen=True, slots=True)
class StripeSettings:
    """What the provider needs; the secrets never leave the server."""

    secret_key: str
    publishable_key: str
    webhook_secret: str
    api_base: str | None = None  # a test server such as localstripe; None is Stripe itself
    js_url: str = "https://js.stripe.com/v3/"
    capture: str = "automatic"  # or "manual": authorise at checkout, capture later


@dataclass(frozen=True, slots=True)
class StripeNotice:
    """A verified webhook, before it is matched to an order."""

    event_id: str
    type: str  # ours (payment.succeeded ...) or Stripe's own for the noted types
    stripe_type: str
    order_id: str | None
    payment_intent: str | None
    amount_refunded: int | None = None  # charge.refunded: the charge's refunded total


class CardError(Exception):
    """A card problem with a sentence for the buyer."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class StripeProvider:
    """The `card` payment method."""

    name = "stripe"
    methods: tuple[str, ...] = ("card",)
    confirms_immediately = False
    signature_header = STRIPE_SIGNATURE_HEADER
    not_ready_text = NO_CARD

    def __init__(self, settings: StripeSettings, customers: StripeCustomers) -> None:
        self.settings = settings
        self._customers = customers
        addresses: Any = {"api": settings.api_base} if settings.api_base else None
        self._http = AIOHTTPClient(timeout=20)
        self._client = stripe.StripeClient(
            settings.secret_key,
            base_addresses=addresses,
            http_client=self._http,
            max_network_retries=2,  # the SDK adds an idempotency key to every retried POST
        )

    async def close(self) -> None:
        """Closes the HTTP session to Stripe (at shutdown)."""
        await self._http.close_async()  # type: ignore[no-untyped-call]

    # -- the buyer's card --------------------------------------------------------------

    async def _customer(self, user_id: int) -> str:
        known = await self._customers.customer_of(user_id)
        if known is not None:
            return known
        # no idempotency key of ours: user ids repeat across installs and databases sharing
        # one Stripe account; two racing first cards make two Customers, the first one kept
        made = await self._call(
            self._client.v1.customers.create_async({"metadata": {"liveshop_user_id": str(user_id)}})
        )
        return await self._customers.add_customer(user_id, str(made.id))

    async def start_card_setup(self, user_id: int) -> dict[str, Any]:
        """A SetupIntent the page confirms with Stripe.js; what the page needs and no secret
        of ours (the client secret is the buyer's own, for this one SetupIntent)."""
        customer = await self._customer(user_id)
        params = {"customer": customer, "usage": "off_session", "payment_method_types": ["card"]}
        intent = await self._call(
            self._client.v1.setup_intents.create_async(cast("SetupIntentCreateParams", params))
        )
        return {
            "setup_intent": str(intent.id),
            "client_secret": str(intent.client_secret),
            "publishable_key": self.settings.publishable_key,
            "js_url": self.settings.js_url,
        }

    async def finish_card_setup(self, user_id: int, setup_intent_id: str) -> SavedCard:
        """Reads a confirmed SetupIntent of this buyer and keeps its card on file."""
        customer = await self._customers.customer_of(user_id)
        if customer is None or not setup_intent_id.startswith("seti_"):
            raise CardError("That card setup is not yours or has expired.", "setup_not_found")
        intent = await self._call(self._client.v1.setup_intents.retrieve_async(setup_intent_id))
        if intent.customer != customer:
            raise CardError("That card setup is not yours or has expired.", "setup_not_found")
        if intent.status != "succeeded" or not intent.payment_method:
            raise CardError("The card was not saved: please enter it again.", "setup_incomplete")
        method_id = intent.payment_method
        if not isinstance(method_id, str):
            method_id = str(method_id.id)
        method = await self._call(self._client.v1.payment_methods.retrieve_async(method_id))
        card = method.card
        saved = SavedCard(
            method_id,
            str(getattr(card, "brand", "card") or "card"),
            str(getattr(card, "last4", "") or ""),
            int(getattr(card, "exp_month", 0) or 0),
            int(getattr(card, "exp_year", 0) or 0),
        )
        await self._customers.save_card(user_id, saved)
        return saved

    async def card_of(self, user_id: int) -> SavedCard | None:
        """The buyer's card on file."""
        return await self._customers.card_of(user_id)

    async def forget_card(self, user_id: int) -> None:
        """Removes the card on file (Stripe detaches it too)."""
        card = await self._customers.card_of(user_id)
        await self._customers.forget_card(user_id)
        if card is not None:
            try:
                await self._client.v1.payment_methods.detach_async(card.payment_method_id)
            except stripe.StripeError as exc:
                logger.warning("stripe: detaching a forgotten card failed: %s", _brief(exc))

    # -- paying ------------------------------------------------------------------------

    async def can_pay(self, user_id: int) -> bool:
        """Whether the buyer has a card on file (checkout and bidding ask first)."""
        return await self._customers.card_of(user_id) is not None

    async def charge(self, order: dict[str, Any]) -> dict[str, Any]:
        """Creates and confirms the order's PaymentIntent with the saved card.

        Returns `{status, reference, client_secret?, message?}` where status is one of
        succeeded, authorized, requires_action, declined. Never raises for a decline.
        """
        buyer = int(order["buyer_id"])
        card = await self._customers.card_of(buyer)
        customer = await self._customers.customer_of(buyer)
        if card is None or customer is None:
            return {"status": "declined", "reference": None, "message": NO_CARD}
        params: dict[str, Any] = {
            "amount": int(order["total_minor"]),
            "currency": str(order["currency"]).lower(),
            "customer": customer,
            "payment_method": card.payment_method_id,
            "confirm": True,
            "capture_method": self.settings.capture,
            "metadata": {"order_id": order["id"]},
        }
        try:
            intent = await self._client.v1.payment_intents.create_async(
                cast("PaymentIntentCreateParams", params),
                {"idempotency_key": f"liveshop-order-{order['id']}"},
            )
        except stripe.CardError as exc:
            logger.info("stripe: order %s declined (%s)", order["id"], exc.code)
            return {"status": "declined", "reference": None, "message": DECLINED}
        except stripe.StripeError as exc:
            logger.warning("stripe: order %s not charged: %s", order["id"], _brief(exc))
            return {"status": "declined", "reference": None, "message": UNREACHABLE}
        status = str(intent.status)
        result: dict[str, Any] = {"reference": str(intent.id)}
        if status == "succeeded":
            return {**result, "status": "succeeded"}
        if status == "requires_capture":
            return {**result, "status": "authorized"}
        if status == "requires_action":
            return {
                **result,
                "status": "requires_action",
                "client_secret": str(intent.client_secret),
                "message": "Your bank asks you to confirm this payment.",
            }
        if status == "processing":
            return {**result, "status": "pending"}
        return {**result, "status": "declined", "message": DECLINED}

    async def begin(self, order: dict[str, Any]) -> PaymentStart:
        """The provider interface: charge the saved card for a freshly placed order."""
        result = await self.charge(order)
        status = str(result["status"])
        texts = {
            "succeeded": "Paid by card.",
            "authorized": "Your card is authorised; it is charged when the order ships.",
            "pending": "Your card payment is being processed.",
        }
        return PaymentStart(
            reference=result.get("reference"),
            instructions=str(result.get("message") or texts.get(status, "")),
            outcome=status,
            client_secret=result.get("client_secret"),
        )

    def parse_event(self, payload: dict[str, Any]) -> Any:
        """Unused: Stripe's webhooks go through `verify_notice` (its own signature)."""
        raise ValueError("Stripe webhooks are verified with verify_notice")

    async def capture(self, reference: str) -> str:
        """Captures an authorised PaymentIntent; returns its status."""
        intent = await self._call(self._client.v1.payment_intents.capture_async(reference))
        return str(intent.status)

    async def refund(
        self, reference: str, amount_minor: int | None = None, idempotency_key: str | None = None
    ) -> tuple[str, str]:
        """Refunds a PaymentIntent in full or in part; returns the refund's (id, status)."""
        params: dict[str, Any] = {"payment_intent": reference}
        if amount_minor is not None:
            params["amount"] = amount_minor
        options: Any = {"idempotency_key": idempotency_key} if idempotency_key else {}
        refund = await self._call(
            self._client.v1.refunds.create_async(cast("RefundCreateParams", params), options)
        )
        return str(refund.id), str(refund.status)

    async def void(self, reference: str) -> str:
        """Cancels a PaymentIntent not yet captured (an authorisation, a 3-D Secure step
        never finished): the buyer is never charged; returns its status."""
        intent = await self._call(self._client.v1.payment_intents.cancel_async(reference))
        return str(intent.status)

    # -- webhooks ----------------------------------------------------------------------

    def verify_notice(self, signature: str | None, body: bytes) -> StripeNotice:
        """Checks `Stripe-Signature` with the SDK and reads the event.

        Raises ValueError for a body that is not an event, WebhookRejected for a bad,
        missing or stale signature.
        """
        if not signature:
            raise WebhookRejected("unsigned")
        try:
            event = stripe.Webhook.construct_event(body, signature, self.settings.webhook_secret)
        except stripe.SignatureVerificationError:
            raise WebhookRejected("bad or stale Stripe signature") from None
        except (ValueError, UnicodeDecodeError):
            raise ValueError("body is not a Stripe event") from None
        data = event.to_dict()
        obj = data.get("data", {}).get("object") if isinstance(data.get("data"), dict) else None
        if not isinstance(obj, dict) or not isinstance(data.get("type"), str) or not data.get("id"):
            raise ValueError("body is not a Stripe event")
        kind = str(data["type"])
        metadata = obj.get("metadata") or {}
        intent = obj.get("payment_intent") if kind.startswith("charge.") else obj.get("id")
        return StripeNotice(
            event_id=str(data["id"]),
            type=EVENT_TYPES.get(kind, kind),
            stripe_type=kind,
            order_id=metadata.get("order_id") if isinstance(metadata, dict) else None,
            payment_intent=str(intent) if intent else None,
            amount_refunded=_refunded_total(kind, obj),
        )

    async def _call(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except stripe.CardError as exc:
            raise CardError(DECLINED, "card_declined") from exc
        except stripe.StripeError as exc:
            logger.warning("stripe: request failed: %s", _brief(exc))
            raise CardError(UNREACHABLE, "payments_unavailable") from exc


def _refunded_total(kind: str, obj: dict[str, Any]) -> int | None:
    """A charge.refunded event's refunded total (all refunds of the charge so far)."""
    value = obj.get("amount_refunded")
    if kind != "charge.refunded" or isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if value >= 0 else None


def _brief(exc: stripe.StripeError) -> str:
    """What a log may say about a Stripe error: its class, code and HTTP status (never keys)."""
    return f"{type(exc).__name__} code={exc.code} status={exc.http_status}"
