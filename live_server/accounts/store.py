"""Users repository."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass

from live_server.accounts.rules import User
from live_server.platform.db import Database
from live_server.platform.identity import Role


def _user(row: sqlite3.Row) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        role=Role(row["role"]),
        interests=tuple(json.loads(row["interests"])),
        created_at=row["created_at"],
    )


@dataclass(frozen=True)
class Credentials:
    """What a log-in attempt is judged against (never leaves the accounts feature)."""

    user_id: int
    password_hash: str
    token_version: int
    disabled: bool


class UserRepository:
    """Reads and writes the `users` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        username: str,
        display_name: str,
        password_hash: str,
        role: Role = Role.VIEWER,
        interests: tuple[str, ...] = (),
    ) -> User | None:
        """Inserts a user; None when the username is taken (case-insensitively)."""
        try:
            async with self._db.transaction() as tx:
                cur = await tx.execute(
                    "INSERT INTO users(username, display_name, password_hash, role, interests,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        username,
                        display_name,
                        password_hash,
                        role.value,
                        json.dumps(interests),
                        time.time(),
                    ),
                )
                user_id = cur.lastrowid
        except sqlite3.IntegrityError:
            return None
        assert user_id is not None
        return await self.get(user_id)

    async def get(self, user_id: int) -> User | None:
        row = await self._db.fetchone("SELECT * FROM users WHERE id = ?", (user_id,))
        return _user(row) if row else None

    async def by_username(self, username: str) -> User | None:
        row = await self._db.fetchone("SELECT * FROM users WHERE username = ?", (username,))
        return _user(row) if row else None

    async def by_usernames(self, usernames: list[str]) -> list[User]:
        if not usernames:
            return []
        marks = ",".join("?" * len(usernames))
        rows = await self._db.fetchall(
            f"SELECT * FROM users WHERE username IN ({marks})", usernames
        )
        return [_user(r) for r in rows]

    async def by_ids(self, ids: list[int]) -> dict[int, User]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = await self._db.fetchall(f"SELECT * FROM users WHERE id IN ({marks})", ids)
        return {r["id"]: _user(r) for r in rows}

    async def credentials(self, username: str) -> Credentials | None:
        """The stored hash, token version and state of an account, for a log-in attempt."""
        return await self._credentials("username = ?", username)

    async def credentials_by_id(self, user_id: int) -> Credentials | None:
        """The same by id (a password change checks the current password)."""
        return await self._credentials("id = ?", user_id)

    async def _credentials(self, where: str, key: object) -> Credentials | None:
        row = await self._db.fetchone(
            f"SELECT id, password_hash, token_version, disabled_at FROM users WHERE {where}",
            (key,),
        )
        if row is None:
            return None
        return Credentials(
            row["id"], row["password_hash"], row["token_version"], row["disabled_at"] is not None
        )

    async def token_version(self, user_id: int) -> int | None:
        """The version a user's tokens must carry; None for a disabled or missing account."""
        row = await self._db.fetchone(
            "SELECT token_version FROM users WHERE id = ? AND disabled_at IS NULL", (user_id,)
        )
        return int(row["token_version"]) if row else None

    async def revoke_tokens(self, user_id: int) -> None:
        """Raises the user's token version: every token issued so far stops working."""
        await self._db.execute(
            "UPDATE users SET token_version = token_version + 1 WHERE id = ?", (user_id,)
        )

    async def set_disabled(self, user_id: int, disabled: bool) -> None:
        """Disables (or enables again) an account; the trigger of migration 0002 revokes."""
        await self._db.execute(
            "UPDATE users SET disabled_at = ? WHERE id = ?",
            (time.time() if disabled else None, user_id),
        )

    async def search(
        self, query: str, role: Role | None, limit: int, offset: int
    ) -> list[tuple[User, float | None]]:
        """Users whose username or display name contains `query` (any case), with the time
        each was disabled (None: active), newest first."""
        like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where = "(username LIKE ? ESCAPE '\\' OR display_name LIKE ? ESCAPE '\\')"
        args: list[object] = [like, like]
        if role is not None:
            where += " AND role = ?"
            args.append(role.value)
        rows = await self._db.fetchall(
            f"SELECT * FROM users WHERE {where} ORDER BY id DESC LIMIT ? OFFSET ?",
            [*args, limit, offset],
        )
        return [(_user(r), r["disabled_at"]) for r in rows]

    async def disabled_at(self, user_id: int) -> float | None:
        """When the account was disabled, or None while it is active (or missing)."""
        value = await self._db.fetchval("SELECT disabled_at FROM users WHERE id = ?", (user_id,))
        return float(value) if value is not None else None

    async def set_interests(self, user_id: int, interests: tuple[str, ...]) -> None:
        await self._db.execute(
            "UPDATE users SET interests = ? WHERE id = ?", (json.dumps(interests), user_id)
        )

    async def set_role(self, user_id: int, role: Role) -> None:
        """Changes a global role; the trigger of migration 0002 revokes the user's tokens."""
        await self._db.execute("UPDATE users SET role = ? WHERE id = ?", (role.value, user_id))

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        """Replaces the password hash; the trigger of migration 0002 revokes the tokens."""
        await self._db.execute(
            "UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id)
        )
