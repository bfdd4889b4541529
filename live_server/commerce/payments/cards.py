"""The buyer's card on file and the merchant's capture, over the Stripe provider.

Saving a card and removing it are the buyer's own; capturing an authorised payment is for
the merchant who sells everything in the order (or an admin). Without Stripe configured
every use case answers that card payments are not set up here.
"""

from __future__ import annotations

from typing import Any

from live_server.catalog.service import CatalogService
from live_server.commerce.payments.service import PaymentsService
from live_server.commerce.payments.stripe_provider import CardError, StripeProvider
from live_server.commerce.rules.orders import PAYMENT_SUCCEEDED
from live_server.commerce.stores.orders import OrdersRepository
from live_server.platform.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from live_server.platform.identity import Principal

NOT_SET_UP = "Card payments are not set up on this server."


class CardPayments:
    """Use cases around cards; `provider` is None when Stripe is not configured."""

    def __init__(
        self,
        provider: StripeProvider | None,
        payments: PaymentsService,
        orders: OrdersRepository,
        catalog: CatalogService,
    ) -> None:
        self._provider = provider
        self._payments = payments
        self._orders = orders
        self._catalog = catalog

    def _stripe(self) -> StripeProvider:
        if self._provider is None:
            raise NotFound(NOT_SET_UP, code="cards_not_configured")
        return self._provider

    async def card(self, who: Principal) -> dict[str, Any]:
        """The buyer's card on file (or none) and what the sheet needs to add one."""
        stripe = self._stripe()
        card = await stripe.card_of(who.user_id)
        return {
            "card": _card_json(card) if card else None,
            "publishable_key": stripe.settings.publishable_key,
            "js_url": stripe.settings.js_url,
        }

    async def start_setup(self, who: Principal) -> dict[str, Any]:
        """A SetupIntent for the sheet to confirm with Stripe.js."""
        try:
            return await self._stripe().start_card_setup(who.user_id)
        except CardError as exc:
            raise Unavailable(exc.message, retry_after=30, code=exc.code) from None

    async def finish_setup(self, who: Principal, setup_intent_id: str) -> dict[str, Any]:
        """Keeps the confirmed SetupIntent's card as the buyer's card on file."""
        try:
            card = await self._stripe().finish_card_setup(who.user_id, setup_intent_id)
        except CardError as exc:
            if exc.code == "payments_unavailable":
                raise Unavailable(exc.message, retry_after=30, code=exc.code) from None
            raise Invalid(exc.message, code=exc.code) from None
        return {"card": _card_json(card)}

    async def forget(self, who: Principal) -> None:
        """Removes the buyer's card on file."""
        await self._stripe().forget_card(who.user_id)

    async def capture(self, who: Principal, order_id: str) -> dict[str, Any]:
        """Captures an order's authorised card payment (its merchant or an admin)."""
        stripe = self._stripe()
        order = await self._orders.get(order_id)
        if order is None:
            raise NotFound("This order does not exist.", code="order_not_found")
        if not who.is_admin:
            for item in order["items"]:
                product = await self._catalog.get(int(item["product_id"]))
                if product.owner_id != who.user_id:
                    raise Forbidden("Only the seller can take this payment.", code="not_seller")
        payment = order["payment"]
        if payment["provider"] != stripe.name or payment.get("status") != "authorized":
            raise Conflict(
                "This order has no card payment waiting to be taken.", code="nothing_to_capture"
            )
        try:
            status = await stripe.capture(str(payment["reference"]))
        except CardError as exc:
            raise Unavailable(exc.message, retry_after=30, code=exc.code) from None
        if status == "succeeded":
            await self._payments.apply_event(
                stripe.name, f"{stripe.name}:capture:{order_id}", order_id, PAYMENT_SUCCEEDED
            )
        fresh = await self._orders.get(order_id)
        assert fresh is not None
        return fresh


def _card_json(card: Any) -> dict[str, Any]:
    return {
        "brand": card.brand,
        "last4": card.last4,
        "exp_month": card.exp_month,
        "exp_year": card.exp_year,
        "label": card.label(),
    }
