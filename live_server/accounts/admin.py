"""Administration of accounts: find users, change their global role, disable or enable them.

Only admins may do any of it. An admin never changes their own role or disables their own
account here (that is how the last admin would lock everyone out); the first admin is made
on the command line (`liveshop set-role USERNAME admin`). Every change raises the user's
token version (the trigger of migration 0002), so the user logs in again and the new role
(or the refusal of a disabled account) holds from their next request on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from live_server.accounts.rules import User
from live_server.accounts.service import AccountService
from live_server.accounts.store import UserRepository
from live_server.platform.errors import Forbidden, Invalid, Unauthorized
from live_server.platform.identity import Principal, Role

logger = logging.getLogger(__name__)

MAX_QUERY_LEN = 64


@dataclass(frozen=True)
class AccountRow:
    """A user as the admin screen lists them."""

    user: User
    disabled_at: float | None


def require_admin(who: Principal | None) -> Principal:
    """The principal when it is an admin: 401 anonymous, 403 anyone else."""
    if who is None:
        raise Unauthorized("log in first", code="login_required")
    if not who.is_admin:
        raise Forbidden("only admins can manage accounts", code="admins_only")
    return who


def parse_role(value: str) -> Role:
    """A global role from its name, else a 422 a person can read."""
    try:
        return Role(value)
    except ValueError:
        raise Invalid("choose a role: viewer, host or admin", code="invalid_role") from None


class AccountAdmin:
    """The use cases of the admin screen's users and roles."""

    def __init__(self, users: UserRepository, accounts: AccountService) -> None:
        self._users = users
        self._accounts = accounts

    async def search(
        self, who: Principal | None, query: str, role: str | None, limit: int, offset: int
    ) -> list[AccountRow]:
        """Users whose username or display name contains `query`, newest first."""
        require_admin(who)
        wanted = parse_role(role) if role else None
        rows = await self._users.search(query.strip()[:MAX_QUERY_LEN], wanted, limit, offset)
        return [AccountRow(user, disabled_at) for user, disabled_at in rows]

    async def set_role(self, who: Principal | None, user_id: int, role: Role) -> AccountRow:
        """Makes a user a viewer, a host or an admin (never the admin themself)."""
        admin = require_admin(who)
        if user_id == admin.user_id:
            raise Forbidden("you cannot change your own role", code="own_account")
        before = await self._accounts.get_user(user_id)
        if before.role is not role:
            await self._accounts.set_role(user_id, role)
            logger.info(
                "admin %d made user %d a %s (was %s)", admin.user_id, user_id, role, before.role
            )
        return await self._row(user_id)

    async def set_disabled(self, who: Principal | None, user_id: int, disabled: bool) -> AccountRow:
        """Disables an account (it cannot log in, its tokens stop working) or enables it."""
        admin = require_admin(who)
        if user_id == admin.user_id:
            raise Forbidden("you cannot disable your own account", code="own_account")
        row = await self._row(user_id)
        if (row.disabled_at is not None) != disabled:
            await self._accounts.set_disabled(user_id, disabled)
            logger.info(
                "admin %d %s user %d", admin.user_id, "disabled" if disabled else "enabled", user_id
            )
        return await self._row(user_id)

    async def _row(self, user_id: int) -> AccountRow:
        user = await self._accounts.get_user(user_id)
        return AccountRow(user, await self._users.disabled_at(user_id))
