"""Checkout: one-tap buy and cart checkout, idempotent, through one group-commit queue.

Every checkout request is validated and attributed here, then handed to the group-commit
queue (`queue.CheckoutQueue`), which decides it with everything else queued in one
transaction. The saved checkout profile (`profiles.CheckoutProfiles`) fills in the address
and payment method; a new order is announced off the request path
(`announcements.OrderAnnouncer`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

from live_server.accounts.service import AccountService
from live_server.commerce.cart.store import CartsRepository
from live_server.commerce.checkout.announcements import HostNotifier, OrderAnnouncer
from live_server.commerce.checkout.outcomes import (
    CheckoutOutcome,
    KeyReused,
    OrderPlaced,
    OrderReplay,
    PreparedCheckout,
    Released,
)
from live_server.commerce.checkout.profiles import CheckoutProfiles
from live_server.commerce.checkout.queue import MAX_BATCH, CheckoutQueue
from live_server.commerce.checkout.results import CheckoutResult, invalid, rejection_error
from live_server.commerce.ledger import AttributionResolver, LedgerService
from live_server.commerce.live.state import LiveCommerce
from live_server.commerce.payments.service import PaymentDeclined, PaymentsService
from live_server.commerce.rules.basics import (
    Address,
    CartLine,
    CheckoutRequest,
    CommerceInputError,
    Source,
    parse_id,
    parse_idempotency_key,
    parse_quantity,
    parse_source,
    request_fingerprint,
)
from live_server.commerce.stores.orders import OrdersRepository
from live_server.platform.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from live_server.platform.identity import Principal

logger = logging.getLogger(__name__)

#: Records one checkout's latency in seconds with its outcome (placed, replayed, an error code).
LatencyObserver = Callable[[str, float], None]

#: Whether a user is banned from a session's room (the room's check, passed in by setup).
BanCheck = Callable[[int, int], Awaitable[bool]]
BANNED_FROM_SHOW = (
    "You were removed from this show by its moderators, so you can't buy from it here."
)

SWEEP_EVERY_S: Final = 2.0  # how often unpaid holds past their time are released


def _key_reused() -> Invalid:
    return Invalid(
        "this Idempotency-Key was already used for a different request (another kind of"
        " checkout, other lines, source, address or payment method); use a new key",
        code="idempotency_key_reused",
    )


class CheckoutService(CheckoutQueue, CheckoutProfiles, OrderAnnouncer):
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
        host_notifier: HostNotifier | None = None,
        observe_latency: LatencyObserver | None = None,
        banned: BanCheck | None = None,
        on_placed: Callable[[dict[str, Any], bool], None] | None = None,
        prices_include_tax: bool = False,
    ) -> None:
        self._orders = orders
        self._prices_include_tax = prices_include_tax
        # told of every new order once checkout has answered (order emails): (order, won)
        self._on_placed = on_placed
        # the room's ban check: a viewer banned from a show cannot buy from it there
        self._banned = banned
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
        # How to tell a host's studio about a new order (the room's sockets, when wired).
        self._host_notifier = host_notifier
        # seconds from a checkout's start to its answer, with its outcome (metrics)
        self._observe_latency = observe_latency
        # Saved profiles are cached only when this process is the only one writing them.
        self._cache_profiles = cache_profiles
        self._profiles: dict[int, tuple[Address, str, bool]] = {}
        self.batches = 0  # for tests and the benchmark: how many transactions ran
        payments.on_release(self._released)

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
            coupon_id = _coupon_id(data)
        except CommerceInputError as exc:
            raise invalid(exc) from None
        lines = (CartLine(product_id, quantity),)
        fingerprint = request_fingerprint(
            kind="buy-now",
            lines=lines,
            source=source,
            address=data.get("address"),
            payment_method=data.get("payment_method"),
            coupon_id=coupon_id,
        )
        address, method, show = await self._checkout_details(who, data)
        return await self._checkout(
            who, lines, source, key, fingerprint, address, method, show, coupon_id=coupon_id
        )

    async def checkout_cart(
        self, who: Principal, data: dict[str, Any], idempotency_key: str | None
    ) -> CheckoutResult:
        """Turn the whole cart into one order; bought lines leave the cart."""
        try:
            key = parse_idempotency_key(idempotency_key)
            named = parse_source(data["source"]) if "source" in data else None
            coupon_id = _coupon_id(data)
        except CommerceInputError as exc:
            raise invalid(exc) from None
        fingerprint = request_fingerprint(
            kind="cart",
            lines=None,
            source=named,
            address=data.get("address"),
            payment_method=data.get("payment_method"),
            coupon_id=coupon_id,
        )
        earlier = await self._orders.find_by_key(who.user_id, key)
        if earlier is not None:  # a retry after success (the cart is emptied) or a reused key
            order, used_for = earlier
            if used_for != fingerprint:
                raise _key_reused()
            return CheckoutResult(order, replayed=True)
        cart = await self._carts.lines(who.user_id)
        live_lines = [c for c in cart if c["deleted_at"] is None and c["title"] is not None]
        if not live_lines:
            raise Invalid("Your cart is empty.", code="cart_empty")
        lines = tuple(CartLine(int(c["product_id"]), int(c["quantity"])) for c in live_lines)
        newest = max(live_lines, key=lambda c: float(c["added_at"]))
        source = (
            named if named is not None else Source(str(newest["source_type"]), newest["source_id"])
        )
        if source.type not in ("live", "replay", "clip", "post") or source.id is None:
            source = Source("direct", None)
        address, method, show = await self._checkout_details(who, data)
        result = await self._checkout(
            who, lines, source, key, fingerprint, address, method, show, coupon_id=coupon_id
        )
        if not result.replayed:
            await self._carts.clear(who.user_id, [ln.product_id for ln in lines])
        return result

    async def buy_at_agreed_price(
        self,
        who: Principal,
        product_id: int,
        quantity: int,
        unit_price_minor: int,
        session_id: int,
        idempotency_key: str,
    ) -> CheckoutResult:
        """An order at a price the seller agreed with this buyer (an auction's winning bid),
        with the buyer's saved profile, through the same queue, stock, attribution and
        payment path as a one-tap buy. The key makes a retry answer with the first order."""
        lines = (CartLine(product_id, quantity),)
        source = Source("live", session_id)
        fingerprint = request_fingerprint(
            kind="auction",
            lines=lines,
            source=source,
            address=None,
            payment_method=None,
            coupon_id=None,
        )
        address, method, show = await self._checkout_details(who, {})
        return await self._checkout(
            who,
            lines,
            source,
            idempotency_key,
            fingerprint,
            address,
            method,
            show,
            agreed_unit_price_minor=unit_price_minor,
        )

    # -- checkout core ----------------------------------------------------------------

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
        *,
        agreed_unit_price_minor: int | None = None,
        coupon_id: int | None = None,
    ) -> CheckoutResult:
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await self._checkout_once(
                who,
                lines,
                source,
                key,
                fingerprint,
                address,
                method,
                show_first_name,
                agreed_unit_price_minor,
                coupon_id,
            )
            outcome = "replayed" if result.replayed else "placed"
            return result
        except DomainError as exc:
            outcome = exc.code
            raise
        finally:
            if self._observe_latency is not None:
                self._observe_latency(outcome, time.perf_counter() - started)

    async def _checkout_once(
        self,
        who: Principal,
        lines: tuple[CartLine, ...],
        source: Source,
        key: str,
        fingerprint: str,
        address: Address,
        method: str,
        show_first_name: bool,
        agreed_unit_price_minor: int | None = None,
        coupon_id: int | None = None,
    ) -> CheckoutResult:
        provider = self._payments.provider_for(method)
        if provider is None:
            raise Invalid("Choose a payment method from the list.", code="invalid_payment_method")
        refusal = await self._payments.refusal_for(provider.name, who.user_id)
        if refusal is not None:
            raise PaymentDeclined(refusal, code="card_needed")
        # the source the buyer names counts only if it showed what is bought; else direct
        attribution = await self._resolver.resolve(source, (ln.product_id for ln in lines))
        await self._refuse_banned(who, attribution.session_id)
        rate = 0
        if attribution.creator_id is not None:
            rate = await self._ledger.rate_for(attribution.creator_id)
        request = CheckoutRequest(
            buyer_id=who.user_id,
            lines=lines,
            idempotency_key=key,
            fingerprint=fingerprint,
            source=Source(attribution.source_type, attribution.source_id),
            payment_method=method,
            address=address,
            creator_id=attribution.creator_id,
            session_id=attribution.session_id,
            media_time=attribution.media_time,
            show_first_name=show_first_name,
            agreed_unit_price_minor=agreed_unit_price_minor,
            coupon_id=coupon_id,
        )
        prepared = PreparedCheckout(
            request=request,
            provider=provider.name,
            confirms_immediately=provider.confirms_immediately,
            commission_rate_bp=rate,
            hold_seconds=self._hold,
            prices_include_tax=self._prices_include_tax,
        )
        outcome = await self._submit(prepared)
        if isinstance(outcome, OrderPlaced):
            if outcome.replayed:
                return CheckoutResult(outcome.order, replayed=True)
            order = await self._payments.begin(outcome.order)
            self._announce(order, show_first_name)
            if self._on_placed is not None:
                self._on_placed(order, agreed_unit_price_minor is not None)
            return CheckoutResult(order, replayed=False)
        if isinstance(outcome, OrderReplay):
            order_found = await self._orders.get(outcome.order_id)
            if order_found is None:  # pragma: no cover - orders are never deleted
                raise NotFound("order not found", code="order_not_found")
            return CheckoutResult(order_found, replayed=True)
        if isinstance(outcome, KeyReused):
            raise _key_reused()
        raise rejection_error(outcome)

    async def _refuse_banned(self, who: Principal, session_id: int | None) -> None:
        """An order credited to a show (bought from its page) is refused to a viewer its
        moderators banned from it; the same product bought elsewhere is not."""
        if session_id is None or self._banned is None:
            return
        if await self._banned(session_id, who.user_id):
            raise Forbidden(BANNED_FROM_SHOW, code="banned")

    def _released(self, released: Released) -> None:
        self._live.update_stock(released.stock_after)
        self._live.update_sales(released.sales_after)

    # -- orders, holds ---------------------------------------------------------------

    async def orders_of(
        self, who: Principal, *, limit: int = 50, before: float | None = None
    ) -> list[dict[str, Any]]:
        """The buyer's own orders, newest first."""
        return await self._orders.list_for_buyer(who.user_id, limit=limit, before=before)

    async def order(self, who: Principal, order_id: str) -> dict[str, Any]:
        """One of the buyer's orders (admins see any)."""
        found = await self._orders.get(order_id)
        if found is None or (found["buyer_id"] != who.user_id and not who.is_admin):
            raise NotFound("We couldn't find that order.", code="order_not_found")
        return found

    async def cancel(self, who: Principal, order_id: str) -> dict[str, Any]:
        """Cancel an unpaid or pay-on-delivery order; its units go back to stock."""
        await self.order(who, order_id)
        released = await self._orders.cancel(order_id, who.user_id, self._clock())
        if released is None:
            raise Conflict("This order can no longer be cancelled.", code="not_cancellable")
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


def _coupon_id(data: dict[str, Any]) -> int | None:
    raw = data.get("coupon_id")
    return None if raw is None else parse_id(raw, "coupon_id")
