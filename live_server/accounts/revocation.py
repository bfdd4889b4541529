"""Token revocation: a token is good only while it carries its user's current token version.

Every account has a `token_version` (migration 0002). A token records the version it was
issued at; raising the stored version revokes every token issued before. Log-out raises it,
and so does a database trigger whenever the role, the password or the disabled state
changes; a disabled account accepts no token at all.

The version is checked on every authenticated request (REST and the Socket.IO connect), so
it is cached for `ttl_s` seconds. A revocation made through this process clears its entry
at once; another process sharing the database (several nodes) notices within `ttl_s`,
which is the longest a revoked token can still be used there. A token newer than the cached
version (a log-in just after a role change) makes the entry be read again at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from live_server.accounts.store import UserRepository

#: Entries kept before the expired ones are swept.
MAX_ENTRIES = 50_000


@dataclass(frozen=True)
class _Entry:
    version: int | None  # None: the account is disabled or gone
    read_at: float


class TokenVersions:
    """The current token version of each user, read from the store and cached briefly."""

    def __init__(self, users: UserRepository, ttl_s: float) -> None:
        self._users = users
        self.ttl_s = ttl_s
        self._cache: dict[int, _Entry] = {}

    async def accepts(self, user_id: int, version: int) -> bool:
        """True when a token of `user_id` carrying `version` is still good."""
        now = time.monotonic()
        entry = self._cache.get(user_id)
        if (
            entry is None
            or now - entry.read_at >= self.ttl_s
            or (entry.version is not None and version > entry.version)
        ):
            entry = _Entry(await self._users.token_version(user_id), now)
            self._remember(user_id, entry, now)
        return entry.version is not None and entry.version == version

    def forget(self, user_id: int) -> None:
        """Drops the cached version (the user's tokens were just revoked on this node)."""
        self._cache.pop(user_id, None)

    def _remember(self, user_id: int, entry: _Entry, now: float) -> None:
        if self.ttl_s <= 0:
            return
        self._cache[user_id] = entry
        if len(self._cache) > MAX_ENTRIES:
            # at most half full afterwards, so that sweeps stay rare (a cleared cache only
            # costs reads again)
            fresh = {k: e for k, e in self._cache.items() if now - e.read_at < self.ttl_s}
            self._cache = fresh if len(fresh) <= MAX_ENTRIES // 2 else {}
