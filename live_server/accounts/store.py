"""Users repository."""

from __future__ import annotations

import json
import sqlite3
import time

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

    async def password_hash(self, username: str) -> tuple[int, str] | None:
        """(user id, stored hash) for a log-in attempt."""
        row = await self._db.fetchone(
            "SELECT id, password_hash FROM users WHERE username = ?", (username,)
        )
        return (row["id"], row["password_hash"]) if row else None

    async def set_interests(self, user_id: int, interests: tuple[str, ...]) -> None:
        await self._db.execute(
            "UPDATE users SET interests = ? WHERE id = ?", (json.dumps(interests), user_id)
        )

    async def set_role(self, user_id: int, role: Role) -> None:
        await self._db.execute("UPDATE users SET role = ? WHERE id = ?", (role.value, user_id))

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        await self._db.execute(
            "UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id)
        )
