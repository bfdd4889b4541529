"""The shipping capability's typed application key."""

from __future__ import annotations

from aiohttp import web

from live_server.commerce.shipping.service import ShippingService

SHIPPING: web.AppKey[ShippingService] = web.AppKey("shipping", ShippingService)
