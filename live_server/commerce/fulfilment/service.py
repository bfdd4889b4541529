"""Fulfilment use cases: the seller's orders (and their packing list), marking an order
shipped, refunds through the payment provider, and the buyer's cancel within the window.

Only the seller of every item in an order (or an admin) ships or refunds it; the buyer sees
and cancels only their own orders. Money is integer minor units and never more than was
paid goes back (the store reserves each refund before the provider is asked).
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Callable
from typing import Any

from live_server.commerce.analytics.rules import safe_csv_cell
from live_server.commerce.checkout.service import CheckoutService
from live_server.commerce.emails.service import OrderEmails
from live_server.commerce.fulfilment import rules
from live_server.commerce.fulfilment.store import FulfilmentStore
from live_server.commerce.live.state import LiveCommerce
from live_server.commerce.payments.cards import CardPayments
from live_server.commerce.payments.stripe_provider import CardError, StripeProvider
from live_server.commerce.rules.basics import CONFIRMED, PAID, PENDING_PAYMENT
from live_server.commerce.stores.orders import OrdersRepository
from live_server.platform.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from live_server.platform.identity import Principal
from live_server.platform.timefmt import iso

logger = logging.getLogger(__name__)

NOT_FOUND = "We couldn't find that order."


class FulfilmentService:
    """The host's orders page and the buyer's cancel."""

    def __init__(
        self,
        *,
        store: FulfilmentStore,
        orders: OrdersRepository,
        checkout: CheckoutService,
        cards: CardPayments,
        stripe: StripeProvider | None,
        emails: OrderEmails,
        live: LiveCommerce,
        cancel_window_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._orders = orders
        self._checkout = checkout
        self._cards = cards
        self._stripe = stripe
        self._emails = emails
        self._live = live
        self._window = cancel_window_s
        self._clock = clock

    # -- the seller's orders --------------------------------------------------------

    async def seller_orders(self, who: Principal, wanted: str) -> list[dict[str, Any]]:
        """Orders holding the seller's items under a filter, newest first, each with its
        stage (to ship, shipped, ...) and refunds."""
        if wanted not in rules.FILTERS:
            raise Invalid(
                "Choose orders to ship, shipped, refunded, cancelled or all.",
                code="invalid_status",
            )
        found = await self._store.seller_orders(who.user_id)
        out = []
        for order in found:
            if rules.matches(order, wanted):
                order["stage"] = rules.stage(order)
                order["refundable_minor"] = rules.refundable_minor(order)
                out.append(order)
        return out

    async def packing_list(self, who: Principal, wanted: str) -> str:
        """The same orders as a CSV, one row per item (ISO 8601 dates)."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(rules.PACKING_COLUMNS)
        for row in rules.packing_rows(await self.seller_orders(who, wanted)):
            writer.writerow([safe_csv_cell(cell) for cell in row])
        return out.getvalue()

    async def _sellers_order(self, who: Principal, order_id: str) -> dict[str, Any]:
        order = await self._store.order(order_id)
        if order is None:
            raise NotFound(NOT_FOUND, code="order_not_found")
        if not who.is_admin and set(order["seller_ids"]) != {who.user_id}:
            raise Forbidden(
                "Only the seller of everything in this order can do that.", code="not_seller"
            )
        return order

    async def _fresh(self, order_id: str) -> dict[str, Any]:
        order = await self._store.order(order_id)
        assert order is not None
        order["stage"] = rules.stage(order)
        order["refundable_minor"] = rules.refundable_minor(order)
        return order

    # -- shipping --------------------------------------------------------------------

    async def ship(
        self, who: Principal, order_id: str, carrier: str, tracking: str
    ) -> dict[str, Any]:
        """Marks the order shipped with its carrier and tracking number; an authorised card
        payment (manual capture) is captured first, and no capture means no shipment."""
        order = await self._sellers_order(who, order_id)
        refusal = rules.ship_refusal(order)
        if refusal is not None:
            raise Conflict(refusal, code="not_shippable")
        carrier, tracking, field, problem = rules.clean_shipment(carrier, tracking)
        if problem is not None:
            raise Invalid(problem, code=f"invalid_{field}", field=field)
        if order["payment"].get("status") == "authorized":
            await self._cards.capture(who, order_id)  # 503 if the card can't be charged now
        if not await self._store.mark_shipped(
            order_id, carrier, tracking, who.user_id, self._clock()
        ):
            raise Conflict(
                "This order changed meanwhile: reload and try again.", code="not_shippable"
            )
        fresh = await self._fresh(order_id)
        self._emails.order_shipped(fresh)
        logger.info("order %s shipped by %d (%s)", order_id, who.user_id, carrier)
        return fresh

    # -- refunds ---------------------------------------------------------------------

    async def refund(
        self, who: Principal, order_id: str, amount_minor: int | None, restock: bool
    ) -> dict[str, Any]:
        """Refunds all that is left (no amount) or part of it through the order's provider
        (an offline order's refund is recorded as the merchant's); units go back to stock
        only when `restock` says so."""
        order = await self._sellers_order(who, order_id)
        amount, refusal, about_amount = rules.refund_refusal(order, amount_minor)
        if refusal is not None:
            if about_amount:
                raise Invalid(refusal, code="invalid_amount_minor", field="amount_minor")
            raise Conflict(refusal, code="not_refundable")
        refund_id = await self._give_back(order, amount, restock, "merchant", who.user_id)
        fresh = await self._fresh(order_id)
        self._emails.order_refunded(fresh, amount, refund_id)
        return fresh

    async def provider_refunded(self, order_id: str, refunded_total: int) -> None:
        """The provider's refunded total for an order (Stripe's charge.refunded): a refund
        made outside LiveShop (the merchant's Stripe Dashboard) is recorded, with its email;
        a refund LiveShop gave itself, or a replayed event, finds nothing missing. Units are
        not returned to stock: only the merchant knows whether they came back."""
        order = await self._store.order(order_id)
        if order is None:
            return
        already = int(order.get("refunded_minor") or 0)
        missing = min(refunded_total, int(order["total_minor"])) - already
        if missing <= 0:
            return
        before = await self._store.reserve_refund(order_id, missing)
        if before is None:
            return
        record = await self._store.record_refund(
            order,
            amount=missing,
            provider_refund_id=None,
            payment_status=rules.payment_status_after_refund(order, before + missing),
            restock=False,
            reason="provider",
            by=None,
            now=self._clock(),
        )
        logger.info("order %s: %d refunded at the provider, recorded", order_id, missing)
        self._emails.order_refunded(await self._fresh(order_id), missing, record.refund_id)

    async def _give_back(
        self, order: dict[str, Any], amount: int, restock: bool, reason: str, by: int
    ) -> int:
        order_id = str(order["id"])
        cancelling = reason == "buyer_cancelled"  # never once the seller shipped it
        before = await self._store.reserve_refund(order_id, amount, unshipped=cancelling)
        if before is None:
            raise Conflict(
                "This order was refunded meanwhile: reload to see what is left.",
                code="not_refundable",
            )
        provider_ref: str | None = None
        payment = order["payment"]
        if payment["provider"] == "stripe":
            if self._stripe is None or not payment.get("reference"):
                await self._store.undo_reservation(order_id, amount)
                raise Unavailable("Card payments are not set up on this server.", retry_after=60)
            try:
                provider_ref, _status = await self._stripe.refund(
                    str(payment["reference"]),
                    amount,
                    idempotency_key=f"liveshop-refund-{order_id}-{before}-{amount}",
                )
            except CardError as exc:
                await self._store.undo_reservation(order_id, amount)
                raise Unavailable(exc.message, retry_after=30, code=exc.code) from None
        record = await self._store.record_refund(
            order,
            amount=amount,
            provider_refund_id=provider_ref,
            payment_status=rules.payment_status_after_refund(order, before + amount),
            restock=restock,
            reason=reason,
            by=by,
            now=self._clock(),
        )
        if record.stock_after:
            self._live.update_stock(record.stock_after)
        logger.info(
            "order %s: refunded %d (%s, restock=%s)",
            order_id,
            amount,
            reason,
            bool(record.stock_after),
        )
        return record.refund_id

    # -- the buyer's cancel ----------------------------------------------------------

    def with_cancel_window(self, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The buyer's orders, each saying whether it may be cancelled now and until when
        (the page shows the deadline and hides the button after it)."""
        now = self._clock()
        for order in orders:
            order["cancellable"] = rules.cancel_refusal(order, now, self._window) is None
            deadline = rules.cancel_deadline(order, self._window)
            order["cancel_until"] = iso(deadline) if deadline and order["cancellable"] else None
        return orders

    async def cancel(self, who: Principal, order_id: str) -> dict[str, Any]:
        """The buyer cancels their order: always while it waits for payment, within the
        merchant's window once confirmed or paid, never once shipped. A card's
        authorisation is cancelled, a taken payment refunded, and the units go back."""
        order = await self._store.order(order_id)
        if order is None or order["buyer_id"] != who.user_id:
            raise NotFound(NOT_FOUND, code="order_not_found")
        refusal = rules.cancel_refusal(order, self._clock(), self._window)
        if refusal is not None:
            raise Conflict(refusal, code="not_cancellable")
        payment = order["payment"]
        refunded = refund_id = 0
        if payment["provider"] == "stripe" and payment.get("reference"):
            if payment.get("status") in rules.TAKEN:
                refunded = rules.refundable_minor(order)
                refund_id = await self._give_back(
                    order, refunded, False, "buyer_cancelled", who.user_id
                )
            elif self._stripe is not None:
                try:
                    await self._stripe.void(str(payment["reference"]))
                except CardError as exc:
                    raise Unavailable(exc.message, retry_after=30, code=exc.code) from None
        released = await self._orders.cancel(
            order_id, who.user_id, self._clock(), statuses=(PENDING_PAYMENT, CONFIRMED, PAID)
        )
        if released is None:
            raise Conflict("This order can no longer be cancelled.", code="not_cancellable")
        self._live.update_stock(released.stock_after)
        self._live.update_sales(released.sales_after)
        fresh = await self._checkout.order(who, order_id)
        if refunded:
            self._emails.order_refunded(fresh, refunded, refund_id)
        return fresh
