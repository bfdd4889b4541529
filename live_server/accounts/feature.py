"""Wiring of the accounts feature: users, passwords, tokens, log-in throttling."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from live_server.accounts import routes
from live_server.accounts.credentials import TokenSigner, load_or_create_secret
from live_server.accounts.keys import ACCOUNTS
from live_server.accounts.service import AccountService
from live_server.accounts.store import UserRepository
from live_server.accounts.throttle import LoginThrottle
from live_server.platform.core import TOKEN_VERIFIER, Platform


@dataclass(frozen=True)
class Accounts:
    """What the accounts feature offers the features built on it."""

    service: AccountService
    users: UserRepository


def build(platform: Platform) -> Accounts:
    """The accounts services (no routes): for the app and for command-line tools."""
    s = platform.settings
    users = UserRepository(platform.db)
    signer = TokenSigner(load_or_create_secret(s.secret, s.data_dir), s.token_ttl_s)
    throttle = LoginThrottle(
        s.login_max_failures, s.login_window_s, s.login_backoff_base_s, s.login_backoff_max_s
    )
    service = AccountService(users, signer, throttle)
    return Accounts(service=service, users=users)


def setup(app: web.Application, platform: Platform) -> Accounts:
    """Builds accounts, serves its routes and verifies every request's bearer token."""
    accounts = build(platform)
    app[ACCOUNTS] = accounts.service
    app[TOKEN_VERIFIER] = accounts.service.verify_token
    routes.setup(app)
    return accounts
