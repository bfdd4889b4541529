"""Wiring of the accounts feature: users, passwords, tokens, log-in throttling."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from live_server.accounts import admin_routes, routes
from live_server.accounts.admin import AccountAdmin
from live_server.accounts.credentials import TokenSigner, load_or_create_secret
from live_server.accounts.keys import ACCOUNT_ADMIN, ACCOUNTS
from live_server.accounts.revocation import TokenVersions
from live_server.accounts.service import AccountService
from live_server.accounts.store import UserRepository
from live_server.accounts.throttle import LoginThrottle, SignupThrottle
from live_server.platform.core import TOKEN_VERIFIER, Platform
from live_server.platform.signed_urls import UrlSigner


@dataclass(frozen=True)
class Accounts:
    """What the accounts feature offers the features built on it."""

    service: AccountService
    users: UserRepository
    #: Signs expiring media links with a key derived from the server secret this feature
    #: loads (the `/media/` handler checks them; content hands them to private shows' readers).
    url_signer: UrlSigner


def build(platform: Platform) -> Accounts:
    """The accounts services (no routes): for the app and for command-line tools."""
    s = platform.settings
    users = UserRepository(platform.db)
    secret = load_or_create_secret(s.secret, s.data_dir)
    signer = TokenSigner(secret, s.token_ttl_s)
    throttle = LoginThrottle(
        s.login_max_failures, s.login_window_s, s.login_backoff_base_s, s.login_backoff_max_s
    )
    signups = SignupThrottle(s.signup_burst, s.signup_per_hour)
    versions = TokenVersions(users, s.token_cache_s)
    service = AccountService(users, signer, throttle, signups, versions, platform.events)
    return Accounts(service=service, users=users, url_signer=UrlSigner.from_secret(secret))


def setup(app: web.Application, platform: Platform) -> Accounts:
    """Builds accounts, serves its routes and verifies every request's bearer token."""
    accounts = build(platform)
    app[ACCOUNTS] = accounts.service
    app[ACCOUNT_ADMIN] = AccountAdmin(accounts.users, accounts.service)
    app[TOKEN_VERIFIER] = accounts.service.verify_token
    routes.setup(app)
    admin_routes.setup(app)
    return accounts
