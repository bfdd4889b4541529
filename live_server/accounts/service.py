"""Registration, log-in, log-out, token checks and profile use cases."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from live_server.accounts import rules
from live_server.accounts.credentials import TokenSigner, hash_password, verify_password
from live_server.accounts.revocation import TokenVersions
from live_server.accounts.rules import User
from live_server.accounts.store import UserRepository
from live_server.accounts.throttle import LoginThrottle, SignupThrottle
from live_server.platform.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from live_server.platform.events import EventBus, TokensRevoked
from live_server.platform.identity import Principal, Role

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoginResult:
    user: User
    token: str
    expires_at: float


class AccountService:
    """Creates accounts, checks passwords, issues, verifies and revokes tokens."""

    def __init__(
        self,
        users: UserRepository,
        signer: TokenSigner,
        throttle: LoginThrottle,
        signups: SignupThrottle,
        versions: TokenVersions,
        events: EventBus | None = None,
    ) -> None:
        self._users = users
        self._signer = signer
        self._throttle = throttle
        self._signups = signups
        self._versions = versions
        self._events = events

    async def register(
        self,
        username: object,
        password: object,
        display_name: object = None,
        interests: object = None,
        role: Role = Role.VIEWER,
        *,
        client: str | None = None,
    ) -> LoginResult:
        """Validates and creates a viewer account, then logs it in.

        Sign-ups from one client address are throttled (`SignupThrottle`): each costs a
        scrypt hash. `client` is None for the server's own accounts (demo seeding).
        """
        name = rules.validate_username(username)
        secret = rules.validate_password(password)
        shown = rules.validate_display_name(display_name, name)
        picked = rules.validate_interests(interests) if interests is not None else ()
        if client is not None:
            wait = self._signups.take(client)
            if wait:
                raise TooManyRequests(
                    f"Too many sign-ups from your network: try again in {wait} s.",
                    retry_after=wait,
                    code="signup_throttled",
                )
        user = await self._users.create(name, shown, await hash_password(secret), role, picked)
        if user is None:
            raise Conflict(
                f"The username {name} is taken: try another.",
                code="username_taken",
                field="username",
            )
        logger.info("registered user %s (id %d)", user.username, user.id)
        return self._login_result(user, version=0)  # every account starts at version 0

    async def login(self, username: object, password: object, client: str) -> LoginResult:
        """Checks credentials. Wrong passwords back off per account and per client address
        (`throttle.LoginThrottle`); the right one always passes once the wait is over."""
        if not isinstance(username, str) or not isinstance(password, str):
            raise Unauthorized("Wrong username or password.", code="bad_credentials")
        account = username.lower()[:64]  # usernames are case-insensitive and short
        wait = self._throttle.begin(account, client)
        if wait:
            raise TooManyRequests(
                f"Too many failed log-ins: try again in {wait} s.",
                retry_after=wait,
                code="login_throttled",
            )
        found = await self._users.credentials(username)
        ok = await verify_password(password, found.password_hash if found else None)
        if not ok or found is None:
            self._throttle.failed(account, client)
            logger.info("failed log-in for %r from %s", username[:64], client)
            raise Unauthorized("Wrong username or password.", code="bad_credentials")
        self._throttle.succeeded(account, client)  # the password was right
        if found.disabled:
            raise Forbidden("This account is disabled.", code="account_disabled")
        user = await self._users.get(found.user_id)
        assert user is not None
        return self._login_result(user, found.token_version)

    def _login_result(self, user: User, version: int) -> LoginResult:
        token, exp = self._signer.issue(user.id, user.username, user.role, version=version)
        return LoginResult(user, token, exp)

    async def verify_token(self, token: str) -> Principal | None:
        """The principal behind a bearer token; None if invalid, expired or revoked."""
        claims = self._signer.claims(token)
        if claims is None:
            return None
        principal, version = claims
        if not await self._versions.accepts(principal.user_id, version):
            return None
        return principal

    async def log_out(self, user_id: int) -> None:
        """Logs the user out everywhere: every token issued to them so far is revoked."""
        await self._users.revoke_tokens(user_id)
        await self._revoked(user_id)
        logger.info("user %d logged out (tokens revoked)", user_id)

    async def change_password(
        self, user_id: int, current: object, new: object, client: str
    ) -> LoginResult:
        """Replaces the password once the current one is given; every other token is
        revoked and this client gets a fresh one. Wrong current passwords back off like
        log-ins (a stolen token must not become a way to guess the password)."""
        if not isinstance(current, str):
            raise Forbidden("the current password is wrong", code="wrong_password")
        secret = rules.validate_password(new)
        user = await self.get_user(user_id)
        account = user.username.lower()
        wait = self._throttle.begin(account, client)
        if wait:
            raise TooManyRequests(
                f"Too many wrong passwords: try again in {wait} s.",
                retry_after=wait,
                code="login_throttled",
            )
        found = await self._users.credentials_by_id(user_id)
        if found is None or not await verify_password(current, found.password_hash):
            self._throttle.failed(account, client)
            raise Forbidden("the current password is wrong", code="wrong_password")
        self._throttle.succeeded(account, client)
        # the database trigger raises the token version with the new hash
        await self._users.set_password_hash(user_id, await hash_password(secret))
        await self._revoked(user_id)
        fresh = await self._users.credentials_by_id(user_id)
        assert fresh is not None
        logger.info("user %d changed their password (tokens revoked)", user_id)
        return self._login_result(user, fresh.token_version)

    async def set_role(self, user_id: int, role: Role) -> User:
        """Changes a user's global role; tokens carrying the old role stop working at once."""
        await self.get_user(user_id)
        await self._users.set_role(user_id, role)  # the trigger revokes
        await self._revoked(user_id)
        return await self.get_user(user_id)

    async def set_disabled(self, user_id: int, disabled: bool) -> None:
        """Disables an account (its tokens stop working, it cannot log in) or enables it."""
        await self.get_user(user_id)
        await self._users.set_disabled(user_id, disabled)  # the trigger revokes
        await self._revoked(user_id)

    async def _revoked(self, user_id: int) -> None:
        # this node stops accepting the old tokens at once; its open connections are told
        self._versions.forget(user_id)
        if self._events is not None:
            await self._events.publish(TokensRevoked(user_id))

    async def get_user(self, user_id: int) -> User:
        user = await self._users.get(user_id)
        if user is None:
            raise NotFound("no such user", code="user_not_found")
        return user

    async def set_interests(self, user_id: int, interests: object) -> User:
        picked = rules.validate_interests(interests)
        await self._users.set_interests(user_id, picked)
        return await self.get_user(user_id)

    async def ensure_user(
        self,
        username: str,
        password: str,
        role: Role,
        display_name: str,
        interests: tuple[str, ...] = (),
    ) -> User:
        """Creates the user if missing (used by the demo seeder); returns it either way."""
        existing = await self._users.by_username(username)
        if existing is not None:
            return existing
        user = await self._users.create(
            username, display_name, await hash_password(password), role, interests
        )
        assert user is not None
        return user
