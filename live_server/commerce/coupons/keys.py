"""The live coupons' typed application key."""

from __future__ import annotations

from aiohttp import web

from live_server.commerce.coupons.service import CouponService

COUPONS: web.AppKey[CouponService] = web.AppKey("coupons", CouponService)
