"""The commerce feature's typed application keys."""

from __future__ import annotations

from aiohttp import web

from live_server.commerce.analytics.service import AnalyticsService
from live_server.commerce.cart.service import CartService
from live_server.commerce.checkout.service import CheckoutService
from live_server.commerce.emails.service import OrderEmails
from live_server.commerce.flash_sales.service import FlashSaleService
from live_server.commerce.fulfilment.service import FulfilmentService
from live_server.commerce.ledger import LedgerService
from live_server.commerce.live.state import LiveCommerce
from live_server.commerce.live.tick import CommerceTick
from live_server.commerce.payments.cards import CardPayments
from live_server.commerce.payments.service import PaymentsService
from live_server.shows import LiveSessionService

CHECKOUT: web.AppKey[CheckoutService] = web.AppKey("checkout", CheckoutService)
CART: web.AppKey[CartService] = web.AppKey("cart", CartService)
FLASH_SALES: web.AppKey[FlashSaleService] = web.AppKey("flash_sales", FlashSaleService)
LIVE_COMMERCE: web.AppKey[LiveCommerce] = web.AppKey("live_commerce", LiveCommerce)
COMMERCE_TICK: web.AppKey[CommerceTick] = web.AppKey("commerce_tick", CommerceTick)
PAYMENTS: web.AppKey[PaymentsService] = web.AppKey("payments", PaymentsService)
CARDS: web.AppKey[CardPayments] = web.AppKey("cards", CardPayments)
EMAILS: web.AppKey[OrderEmails] = web.AppKey("order_emails", OrderEmails)
FULFILMENT: web.AppKey[FulfilmentService] = web.AppKey("fulfilment", FulfilmentService)
ANALYTICS: web.AppKey[AnalyticsService] = web.AppKey("analytics", AnalyticsService)
LEDGER: web.AppKey[LedgerService] = web.AppKey("ledger", LedgerService)
#: The shows service as commerce reads it (the live state of a show's line-up).
COMMERCE_SHOWS: web.AppKey[LiveSessionService] = web.AppKey("commerce_shows", LiveSessionService)
