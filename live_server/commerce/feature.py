"""Wiring of commerce: cart, checkout with exact inventory, payments, flash sales, the
live commerce state the room's ticks carry, the creator ledger and analytics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from live_server.accounts import Accounts
from live_server.catalog import Catalog
from live_server.commerce import routes
from live_server.commerce.analytics import routes as analytics_routes
from live_server.commerce.analytics.service import AnalyticsService
from live_server.commerce.analytics.store import AnalyticsRepository, CreatorLookup
from live_server.commerce.cart.service import CartService
from live_server.commerce.cart.store import CartsRepository
from live_server.commerce.checkout.service import SWEEP_EVERY_S, BanCheck, CheckoutService
from live_server.commerce.emails import routes as email_routes
from live_server.commerce.emails.sender import EmailSender, SmtpSettings
from live_server.commerce.emails.service import OrderEmails
from live_server.commerce.emails.store import EmailStore
from live_server.commerce.flash_sales.service import FlashSaleService
from live_server.commerce.flash_sales.store import FlashSalesRepository
from live_server.commerce.fulfilment import routes as fulfilment_routes
from live_server.commerce.fulfilment.service import FulfilmentService
from live_server.commerce.fulfilment.store import FulfilmentStore
from live_server.commerce.keys import (
    ANALYTICS,
    CARDS,
    CART,
    CHECKOUT,
    COMMERCE_SHOWS,
    COMMERCE_TICK,
    EMAILS,
    FLASH_SALES,
    FULFILMENT,
    LEDGER,
    LIVE_COMMERCE,
    PAYMENTS,
)
from live_server.commerce.ledger import AttributionResolver, LedgerService
from live_server.commerce.live.redis_feed import RedisCommerceFeed
from live_server.commerce.live.state import LiveCommerce
from live_server.commerce.live.tick import CommerceTick
from live_server.commerce.payments import card_routes
from live_server.commerce.payments import routes as payments_routes
from live_server.commerce.payments.cards import CardPayments
from live_server.commerce.payments.service import PaymentsService
from live_server.commerce.payments.stripe_provider import StripeProvider, StripeSettings
from live_server.commerce.payments.stripe_store import StripeCustomers
from live_server.commerce.rules.basics import Address
from live_server.commerce.shipping import routes as shipping_routes
from live_server.commerce.shipping.keys import SHIPPING
from live_server.commerce.shipping.service import ShippingService
from live_server.commerce.shipping.store import ShippingStore
from live_server.commerce.stores.orders import OrdersRepository
from live_server.platform.core import Platform
from live_server.shows import MediaClock, Shows

logger = logging.getLogger(__name__)

#: Tells one user's sockets about an event (the room provides it; used for host orders).
NotifyUser = Callable[[int, str, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Commerce:
    """What commerce offers the composition root (the tick goes to the room)."""

    checkout: CheckoutService
    cart: CartService
    payments: PaymentsService
    flash_sales: FlashSaleService
    analytics: AnalyticsService
    ledger: LedgerService
    live: LiveCommerce
    tick: CommerceTick


def setup(
    app: web.Application,
    platform: Platform,
    accounts: Accounts,
    catalog: Catalog,
    shows: Shows,
    clock: MediaClock,
    notify: NotifyUser,
    banned: BanCheck | None = None,
) -> Commerce:
    """Builds commerce, serves its routes and runs its background work. ``banned``: the
    room's ban check (an order from a show's page is refused to a viewer banned from it)."""
    s = platform.settings
    db = platform.db
    orders = OrdersRepository(db)
    carts = CartsRepository(db)
    analytics_repo = AnalyticsRepository(db)
    live = LiveCommerce()
    payments = PaymentsService(orders, webhook_secret=s.webhook_secret or "")
    cards: StripeProvider | None = None
    if s.stripe_secret_key:
        cards = StripeProvider(
            StripeSettings(
                secret_key=s.stripe_secret_key,
                publishable_key=s.stripe_publishable_key or "",
                webhook_secret=s.stripe_webhook_secret or "",
                api_base=s.stripe_api_base,
                js_url=s.stripe_js_url,
                capture=s.stripe_capture,
            ),
            StripeCustomers(db),
        )
        payments.register(cards)
        app.on_cleanup.append(_closer(cards))
    ledger = LedgerService(analytics_repo, round(s.default_commission_rate * 10_000))
    analytics = AnalyticsService(analytics_repo, shows.service)

    async def notify_host(host_id: int, payload: dict[str, Any]) -> None:
        await notify(host_id, "order", payload)

    checkout_latency = platform.metrics.histogram(
        "liveshop_checkout_duration_seconds",
        "Checkouts (one-tap and cart): request to answer, by outcome",
        ("outcome",),
    )

    def observe_checkout(outcome: str, seconds: float) -> None:
        checkout_latency.labels(outcome=outcome).observe(seconds)

    email_store = EmailStore(db)
    sender = None
    if s.smtp_host:
        sender = EmailSender(
            email_store,
            SmtpSettings(
                host=s.smtp_host,
                port=s.smtp_port,
                sender=s.smtp_sender,
                username=s.smtp_username,
                password=s.smtp_password,
                starttls=s.smtp_starttls,
            ),
        )
    base_url = s.public_url or f"http://{s.host}:{s.port}"
    emails = OrderEmails(email_store, sender, accounts.service, catalog.service, base_url)
    checkout = CheckoutService(
        orders=orders,
        carts=carts,
        payments=payments,
        resolver=AttributionResolver(shows.service, clock, CreatorLookup(db)),
        ledger=ledger,
        live=live,
        accounts=accounts.service,
        hold_seconds=s.reservation_hold_s,
        cache_profiles=not s.redis_url,
        host_notifier=notify_host,
        observe_latency=observe_checkout,
        banned=banned,
        on_placed=lambda order, won: emails.order_placed(order, won=won),
        prices_include_tax=s.tax_pricing == "inclusive",
    )

    async def saved_address(user_id: int) -> Address | None:
        saved = await checkout.profile_of(user_id)
        return saved[0] if saved is not None else None

    app[SHIPPING] = ShippingService(
        ShippingStore(db),
        carts,
        db,
        saved_address,
        prices_include_tax=s.tax_pricing == "inclusive",
    )
    commerce = Commerce(
        checkout=checkout,
        cart=CartService(carts, catalog.service, analytics),
        payments=payments,
        flash_sales=FlashSaleService(
            FlashSalesRepository(db),
            shows.service,
            catalog.service,
            live,
            max_discount_percent=s.flash_sale_max_discount_percent,
            default_per_buyer_limit=s.flash_sale_default_per_buyer_limit,
        ),
        analytics=analytics,
        ledger=ledger,
        live=live,
        tick=CommerceTick(live, orders),
    )
    app[CHECKOUT] = commerce.checkout
    app[CART] = commerce.cart
    app[PAYMENTS] = commerce.payments
    card_payments = CardPayments(cards, payments, orders, catalog.service)
    app[CARDS] = card_payments
    app[FULFILMENT] = FulfilmentService(
        store=FulfilmentStore(db),
        orders=orders,
        checkout=checkout,
        cards=card_payments,
        stripe=cards,
        emails=emails,
        live=live,
        cancel_window_s=s.cancel_window_minutes * 60.0,
    )
    # a refund made in Stripe's Dashboard is recorded on its order (charge.refunded)
    payments.on_provider_refund(app[FULFILMENT].provider_refunded)
    app[EMAILS] = emails
    app[FLASH_SALES] = commerce.flash_sales
    app[ANALYTICS] = commerce.analytics
    app[LEDGER] = commerce.ledger
    app[LIVE_COMMERCE] = commerce.live
    app[COMMERCE_TICK] = commerce.tick
    app[COMMERCE_SHOWS] = shows.service

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        # Restores running flash sales, returns expired holds (crash recovery) and keeps
        # sweeping them; flushes analytics events; drains the checkout queue at shut-down.
        await commerce.flash_sales.restore()
        tasks = []
        if platform.redis is not None:
            # several nodes: share units left, sales and recent orders for the room ticks
            feed = RedisCommerceFeed(platform.redis, f"{s.redis_prefix}:commerce")
            live.on_change = feed.send
            tasks.append(asyncio.create_task(feed.run(live.apply), name="commerce-feed"))
        released = await checkout.sweep_expired()
        if released:
            logger.info("start-up: %d expired reservation(s) returned to stock", released)
        tasks += [
            asyncio.create_task(checkout.run_sweeper(SWEEP_EVERY_S), name="hold-sweeper"),
            asyncio.create_task(analytics.run_flusher(), name="commerce-events"),
        ]
        if sender is not None:
            tasks.append(asyncio.create_task(sender.run(), name="order-emails"))
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await checkout.close()
        await emails.drain()

    app.cleanup_ctx.append(lifetime)
    routes.setup(app)
    payments_routes.setup(app)
    card_routes.setup(app)
    email_routes.setup(app)
    shipping_routes.setup(app)
    fulfilment_routes.setup(app)
    analytics_routes.setup(app)
    return commerce


def _closer(provider: StripeProvider) -> Callable[[web.Application], Awaitable[None]]:
    async def close(_app: web.Application) -> None:
        await provider.close()

    return close
