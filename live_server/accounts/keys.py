"""The accounts feature's typed application keys."""

from __future__ import annotations

from aiohttp import web

from live_server.accounts.admin import AccountAdmin
from live_server.accounts.service import AccountService

ACCOUNTS: web.AppKey[AccountService] = web.AppKey("accounts", AccountService)
ACCOUNT_ADMIN: web.AppKey[AccountAdmin] = web.AppKey("account_admin", AccountAdmin)
