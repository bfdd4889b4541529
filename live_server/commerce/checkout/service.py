"""Checkout: one-tap buy and cart checkout, idempotent, through one group-commit queue.

Every checkout request is validated and attributed here, then queued. A single worker
takes everything queued so far and hands it to `OrdersRepository.place_batch`, which
decides the whole batch in one BEGIN IMMEDIATE transaction, first come first served.
While a batch is being written the next one fills up, so under a flash-sale burst the
cost per order falls instead of the queue growing; when it is quiet a batch is one order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from live_server.accounts.service import AccountService
from live_server.commerce.cart.store import CartsRepository
from live_server.commerce.checkout.reservations import (
    BatchResult,
    CheckoutOutcome,
    KeyReused,
    OrderPlaced,
    OrderReplay,
    PreparedCheckout,
    Released,
)
from live_server.commerce.flash_sales.service import LiveCommerce
from live_server.commerce.ledger import AttributionResolver, LedgerService
from live_server.commerce.payments.service import PaymentsService
from live_server.commerce.rules.basics import (
    Address,
    CartLine,
    CheckoutRequest,
    CommerceInputError,
    Source,
    parse_address,
    parse_id,
    parse_idempotency_key,
    parse_quantity,
    parse_source,
    request_fingerprint,
)
from live_server.commerce.rules.inventory import (
    LIMIT_REACHED,
    PRODUCT_NOT_FOUND,
    SOLD_OUT,
    Rejection,
)
from live_server.commerce.stores.orders import OrdersRepository
from live_server.platform.errors import Conflict, DomainError, Invalid, NotFound
from live_server.platform.identity import Principal

logger = logging.getLogger(__name__)

MAX_BATCH: Final = 512
SWEEP_EVERY_S: Final = 2.0  # how often unpaid holds past their time are released
HostNotifier = Callable[[int, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class CheckoutResult:
    """The order a checkout produced, and whether it was an idempotent replay."""

    order: dict[str, Any]
    replayed: bool


def invalid(exc: CommerceInputError) -> Invalid:
    """A domain input error as a 422 with a code naming the field."""
    code = "invalid_" + exc.field.replace(".", "_").replace("-", "_").lower()
    return Invalid(exc.message, code=code)


class CheckoutService:
    """Turns requests into orders; owns the checkout queue and the hold-expiry sweeper."""

    def __init__(
        self,
        *,
        orders: OrdersRepository,
        carts: CartsRepository,
        payments: PaymentsService,
        resolver: AttributionResolver,
        ledger: LedgerService,
        live: LiveCommerce,
        accounts: AccountService,
        hold_seconds: float,
        clock: Callable[[], float] = time.time,
        max_batch: int = MAX_BATCH,
        cache_profiles: bool = True,
    ) -> None:
        self._orders = orders
        self._carts = carts
        self._payments = payments
        self._resolver = resolver
        self._ledger = ledger
        self._live = live
        self._accounts = accounts
        self._hold = hold_seconds
        self._clock = clock
        self._max_batch = max_batch
        self._queue: list[tuple[PreparedCheckout, asyncio.Future[CheckoutOutcome]]] = []
        self._worker: asyncio.Task[None] | None = None
        self._outbox: list[tuple[dict[str, Any], bool, int, str]] = []
        self._outbox_task: asyncio.Task[None] | None = None
        self._host_notifier: HostNotifier | None = None
        # Saved profiles are cached only when this process is the only one writing them.
        self._cache_profiles = cache_profiles
        self._profiles: dict[int, tuple[Address, str, bool]] = {}
        self.batches = 0  # for tests and the benchmark: how many transactions ran
        payments.on_release(self._released)

    def set_host_notifier(self, notifier: HostNotifier) -> None:
        """How to tell a host's studio about a new order (the room wires this in)."""
        self._host_notifier = notifier

    # -- entry points -----------------------------------------------------------------

    async def buy_now(
        self, who: Principal, data: dict[str, Any], idempotency_key: str | None
    ) -> CheckoutResult:
        """One-tap buy of one product with the saved (or given) address and payment method."""
        try:
            key = parse_idempotency_key(idempotency_key)
            product_id = parse_id(data.get("product_id"), "product_id")
            quantity = parse_quantity(data.get("quantity", 1))
            source = parse_source(data.get("source"))
        except CommerceInputError as exc:
            raise invalid(exc) from None
        fingerprint = request_fingerprint(
            {
                "kind": "buy-now",
                "product_id": product_id,
                "quantity": quantity,
                "source": source.as_dict(),
                "address": data.get("address"),
                "payment_method": data.get("payment_method"),
            }
        )
        address, method, show = await self._checkout_details(who, data)
        lines = (CartLine(product_id, quantity),)
        return await self._checkout(who, lines, source, key, fingerprint, address, method, show)

    async def checkout_cart(
        self, who: Principal, data: dict[str, Any], idempotency_key: str | None
    ) -> CheckoutResult:
        """Turn the whole cart into one order; bought lines leave the cart."""
        try:
            key = parse_idempotency_key(idempotency_key)
        except CommerceInputError as exc:
            raise invalid(exc) from None
        earlier = await self._orders.find_by_key(who.user_id, key)
        if earlier is not None:  # a retry after success: the cart is already empty
            return CheckoutResult(earlier, replayed=True)
        cart = await self._carts.lines(who.user_id)
        live_lines = [c for c in cart if c["deleted_at"] is None and c["title"] is not None]
        if not live_lines:
            raise Invalid("the cart is empty", code="cart_empty")
        lines = tuple(CartLine(int(c["product_id"]), int(c["quantity"])) for c in live_lines)
        newest = max(live_lines, key=lambda c: float(c["added_at"]))
        try:
            source = (
                parse_source(data["source"])
                if "source" in data
                else Source(str(newest["source_type"]), newest["source_id"])
            )
        except CommerceInputError as exc:
            raise invalid(exc) from None
        if source.type not in ("live", "clip", "post") or source.id is None:
            source = Source("direct", None)
        fingerprint = request_fingerprint(
            {
                "kind": "cart",
                "lines": [(ln.product_id, ln.quantity) for ln in lines],
                "source": source.as_dict(),
            }
        )
        address, method, show = await self._checkout_details(who, data)
        result = await self._checkout(who, lines, source, key, fingerprint, address, method, show)
        if not result.replayed:
            await self._carts.clear(who.user_id, [ln.product_id for ln in lines])
        return result

    # -- checkout core ----------------------------------------------------------------

    async def _checkout_details(
        self, who: Principal, data: dict[str, Any]
    ) -> tuple[Address, str, bool]:
        saved = await self.profile_of(who.user_id)
        try:
            address = parse_address(data["address"]) if data.get("address") is not None else None
        except CommerceInputError as exc:
            raise invalid(exc) from None
        method = data.get("payment_method")
        if method is not None and not isinstance(method, str):
            raise Invalid("payment_method must be a string", code="invalid_payment_method")
        if saved is not None:
            address = address or saved[0]
            method = method or saved[1]
        if address is None or not method:
            raise Invalid(
                "save an address and payment method first (PUT /api/me/checkout-profile)",
                code="checkout_profile_required",
            )
        show = bool(saved[2]) if saved is not None else False
        return address, method, show

    async def _checkout(
        self,
        who: Principal,
        lines: tuple[CartLine, ...],
        source: Source,
        key: str,
        fingerprint: str,
        address: Address,
        method: str,
        show_first_name: bool,
    ) -> CheckoutResult:
        provider = self._payments.provider_for(method)
        if provider is None:
            raise Invalid(f"unknown payment method {method!r}", code="invalid_payment_method")
        attribution = await self._resolver.resolve(source)
        rate = 0
        if attribution.creator_id is not None:
            rate = await self._ledger.rate_for(attribution.creator_id)
        request = CheckoutRequest(
            buyer_id=who.user_id,
            lines=lines,
            idempotency_key=key,
            fingerprint=fingerprint,
            source=source,
            payment_method=method,
            address=address,
            creator_id=attribution.creator_id,
            session_id=attribution.session_id,
            media_time=attribution.media_time,
            show_first_name=show_first_name,
        )
        prepared = PreparedCheckout(
            request=request,
            provider=provider.name,
            confirms_immediately=provider.confirms_immediately,
            commission_rate_bp=rate,
            hold_seconds=self._hold,
        )
        outcome = await self._submit(prepared)
        if isinstance(outcome, OrderPlaced):
            if outcome.replayed:
                return CheckoutResult(outcome.order, replayed=True)
            order = await self._payments.begin(outcome.order)
            self._announce(order, show_first_name)
            return CheckoutResult(order, replayed=False)
        if isinstance(outcome, OrderReplay):
            order_found = await self._orders.get(outcome.order_id)
            if order_found is None:  # pragma: no cover - orders are never deleted
                raise NotFound("order not found", code="order_not_found")
            return CheckoutResult(order_found, replayed=True)
        if isinstance(outcome, KeyReused):
            raise Invalid(
                "this Idempotency-Key was already used for a different request",
                code="idempotency_key_reused",
            )
        raise _rejection_error(outcome)

    async def _submit(self, prepared: PreparedCheckout) -> CheckoutOutcome:
        future: asyncio.Future[CheckoutOutcome] = asyncio.get_running_loop().create_future()
        self._queue.append((prepared, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain(), name="checkout-batches")
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            try:
                result = await self._orders.place_batch([p for p, _ in batch], self._clock())
            except Exception as exc:
                logger.exception("checkout batch of %d failed", len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.batches += 1
            self._after_batch(result)
            for (_, future), outcome in zip(batch, result.outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)

    def _after_batch(self, result: BatchResult) -> None:
        self._live.update_stock(result.stock_after)
        self._live.update_sales(result.sales_after)

    def _released(self, released: Released) -> None:
        self._live.update_stock(released.stock_after)
        self._live.update_sales(released.sales_after)

    def _announce(self, order: dict[str, Any], show_first_name: bool) -> None:
        """Social proof in the room and a ping to the host's studio, off the request path."""
        session_id = order.get("session_id")
        if session_id is None:
            return
        units = sum(int(it["quantity"]) for it in order["items"])
        title = str(order["items"][0]["title"]) if order["items"] else ""
        if not show_first_name:
            self._live.record_order(session_id, units, first_name=None, title=title)
        self._outbox.append((order, show_first_name, units, title))
        if self._outbox_task is None or self._outbox_task.done():
            # one task drains every announcement of a burst (not one task per order)
            self._outbox_task = asyncio.create_task(self._flush_outbox(), name="order-notices")

    async def _flush_outbox(self) -> None:
        while self._outbox:
            pending, self._outbox = self._outbox, []
            for order, show_first_name, units, title in pending:
                await self._announce_async(order, show_first_name, units, title)

    async def _announce_async(
        self, order: dict[str, Any], show_first_name: bool, units: int, title: str
    ) -> None:
        session_id = int(order["session_id"])
        try:
            if show_first_name:
                user = await self._accounts.get_user(int(order["buyer_id"]))
                self._live.record_order(session_id, units, first_name=user.first_name, title=title)
            if self._host_notifier is not None and order.get("creator_id") is not None:
                await self._host_notifier(
                    int(order["creator_id"]),
                    {
                        "session_id": session_id,
                        "order_id": order["id"],
                        "items": [
                            {
                                "product_id": it["product_id"],
                                "title": it["title"],
                                "quantity": it["quantity"],
                            }
                            for it in order["items"]
                        ],
                        "total_minor": order["total_minor"],
                        "currency": order["currency"],
                        "media_time": order["media_time"],
                        "created_at": order["created_at"],
                    },
                )
        except Exception:  # a failed notification must never affect the sale
            logger.exception("announcing order %s of session %d failed", order["id"], session_id)

    # -- profile, orders, holds -------------------------------------------------------

    async def profile_of(self, user_id: int) -> tuple[Address, str, bool] | None:
        """The saved checkout profile (cached on a single node, where we are its only writer)."""
        cached = self._profiles.get(user_id)
        if cached is not None:
            return cached
        found = await self._carts.get_profile(user_id)
        if found is not None and self._cache_profiles:
            if len(self._profiles) > 50_000:
                self._profiles.clear()
            self._profiles[user_id] = found
        return found

    async def save_profile(self, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
        """Save address, payment method and the social-proof opt-in for one-tap buy."""
        try:
            address = parse_address(data.get("address"))
        except CommerceInputError as exc:
            raise invalid(exc) from None
        method = data.get("payment_method")
        if not isinstance(method, str) or self._payments.provider_for(method) is None:
            choices = ", ".join(m["method"] for m in self._payments.methods())
            raise Invalid(
                f"payment_method must be one of: {choices}", code="invalid_payment_method"
            )
        show = data.get("show_first_name", False)
        if not isinstance(show, bool):
            raise Invalid("show_first_name must be true or false", code="invalid_show_first_name")
        await self._carts.save_profile(who.user_id, address, method, show, self._clock())
        if self._cache_profiles:
            self._profiles[who.user_id] = (address, method, show)
        return self.profile_json(address, method, show)

    async def profile(self, who: Principal) -> dict[str, Any]:
        """The saved profile (nulls when nothing is saved) and the methods on offer."""
        saved = await self.profile_of(who.user_id)
        if saved is None:
            return {
                "address": None,
                "payment_method": None,
                "show_first_name": False,
                "payment_methods": self._payments.methods(),
            }
        return self.profile_json(*saved)

    def profile_json(self, address: Address, method: str, show: bool) -> dict[str, Any]:
        """The API form of a checkout profile."""
        return {
            "address": address.as_dict(),
            "payment_method": method,
            "show_first_name": show,
            "payment_methods": self._payments.methods(),
        }

    async def orders_of(
        self, who: Principal, *, limit: int = 50, before: float | None = None
    ) -> list[dict[str, Any]]:
        """The buyer's own orders, newest first."""
        return await self._orders.list_for_buyer(who.user_id, limit=limit, before=before)

    async def order(self, who: Principal, order_id: str) -> dict[str, Any]:
        """One of the buyer's orders (admins see any)."""
        found = await self._orders.get(order_id)
        if found is None or (found["buyer_id"] != who.user_id and not who.is_admin):
            raise NotFound("no such order", code="order_not_found")
        return found

    async def cancel(self, who: Principal, order_id: str) -> dict[str, Any]:
        """Cancel an unpaid or pay-on-delivery order; its units go back to stock."""
        await self.order(who, order_id)
        released = await self._orders.cancel(order_id, who.user_id, self._clock())
        if released is None:
            raise Conflict("this order can no longer be cancelled", code="not_cancellable")
        self._released(released)
        return await self.order(who, order_id)

    async def sweep_expired(self) -> int:
        """Give back the units of every unpaid order whose hold time is over."""
        total = 0
        while True:
            released = await self._orders.release_expired(self._clock())
            if released is None:
                return total
            self._released(released)
            total += len(released.order_ids)

    async def run_sweeper(self, interval_s: float) -> None:
        """Sweep now (crash recovery) and then every `interval_s` until cancelled."""
        while True:
            try:
                swept = await self.sweep_expired()
                if swept:
                    logger.info("expired %d unpaid order(s)", swept)
            except Exception:
                logger.exception("hold sweeper failed; retrying")
            await asyncio.sleep(interval_s)

    async def close(self) -> None:
        """Finish the batch in flight and the notifications (called before the DB closes)."""
        if self._worker is not None:
            with contextlib.suppress(Exception):
                await self._worker
        if self._outbox_task is not None:
            self._outbox_task.cancel()


def _rejection_error(rejection: Rejection) -> DomainError:
    if rejection.code == SOLD_OUT:
        return Conflict(rejection.message, code="sold_out")
    if rejection.code == LIMIT_REACHED:
        return Conflict(rejection.message, code="limit_reached")
    if rejection.code == PRODUCT_NOT_FOUND:
        return NotFound("no such product", code="product_not_found")
    return Invalid(rejection.message, code=rejection.code)
