"""Registration, log-in and profile use cases."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from live_server.accounts import rules
from live_server.accounts.credentials import TokenSigner, hash_password, verify_password
from live_server.accounts.rules import User
from live_server.accounts.store import UserRepository
from live_server.accounts.throttle import LoginThrottle
from live_server.platform.errors import Conflict, NotFound, TooManyRequests, Unauthorized
from live_server.platform.identity import Principal, Role

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoginResult:
    user: User
    token: str
    expires_at: float


class AccountService:
    """Creates accounts, checks passwords, issues and verifies tokens."""

    def __init__(self, users: UserRepository, signer: TokenSigner, throttle: LoginThrottle) -> None:
        self._users = users
        self._signer = signer
        self._throttle = throttle

    async def register(
        self,
        username: object,
        password: object,
        display_name: object = None,
        interests: object = None,
        role: Role = Role.VIEWER,
    ) -> LoginResult:
        """Validates and creates a viewer account, then logs it in."""
        name = rules.validate_username(username)
        secret = rules.validate_password(password)
        shown = rules.validate_display_name(display_name, name)
        picked = rules.validate_interests(interests) if interests is not None else ()
        user = await self._users.create(name, shown, await hash_password(secret), role, picked)
        if user is None:
            raise Conflict(f"the username {name!r} is taken", code="username_taken")
        logger.info("registered user %s (id %d)", user.username, user.id)
        return self._login_result(user)

    async def login(self, username: object, password: object, client: str) -> LoginResult:
        """Checks credentials. Wrong passwords back off per account and per client address
        (`throttle.LoginThrottle`); the right one always passes once the wait is over."""
        if not isinstance(username, str) or not isinstance(password, str):
            raise Unauthorized("wrong username or password", code="bad_credentials")
        account = username.lower()[:64]  # usernames are case-insensitive and short
        wait = self._throttle.begin(account, client)
        if wait:
            raise TooManyRequests(
                f"too many failed log-ins; try again in {wait} s",
                retry_after=wait,
                code="login_throttled",
            )
        found = await self._users.password_hash(username)
        ok = await verify_password(password, found[1] if found else None)
        if not ok or found is None:
            self._throttle.failed(account, client)
            logger.info("failed log-in for %r from %s", username[:64], client)
            raise Unauthorized("wrong username or password", code="bad_credentials")
        user = await self._users.get(found[0])
        assert user is not None
        self._throttle.succeeded(account, client)
        return self._login_result(user)

    def _login_result(self, user: User) -> LoginResult:
        token, exp = self._signer.issue(user.id, user.username, user.role)
        return LoginResult(user, token, exp)

    def verify_token(self, token: str) -> Principal | None:
        """The principal behind a bearer token, or None if invalid or expired."""
        return self._signer.verify(token)

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
