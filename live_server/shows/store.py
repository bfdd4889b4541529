"""Live sessions repository: sessions, their product line-up and their moderators."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from live_server.platform.db import Database
from live_server.shows.rules import LiveSession, SessionState, Visibility


def _session(row: sqlite3.Row) -> LiveSession:
    return LiveSession(
        id=row["id"],
        host_id=row["host_id"],
        title=row["title"],
        description=row["description"],
        starts_at=row["starts_at"],
        cover_url=row["cover_url"],
        state=SessionState(row["state"]),
        visibility=Visibility(row["visibility"]),
        stream_key=row["stream_key"],
        created_at=row["created_at"],
        went_live_at=row["went_live_at"],
        ended_at=row["ended_at"],
        front_row=row["front_row"],
    )


_EDITABLE = {"title", "description", "starts_at", "cover_url", "visibility", "front_row"}

#: `rules.may_view` in SQL, for reads that filter inside a query (the feed's ranking): the
#: ids of the sessions the user bound to `:viewer_id` may not view (-1: anonymous). Admins
#: may view every session, so a caller leaves this out for them. A test checks that it
#: agrees with the rule.
HIDDEN_SESSIONS_SQL = (
    "SELECT id FROM live_sessions WHERE visibility = 'private' AND host_id <> :viewer_id"
    " AND id NOT IN (SELECT session_id FROM session_moderators WHERE user_id = :viewer_id)"
)


class SessionRepository:
    """Reads and writes `live_sessions`, `session_products` and `session_moderators`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        host_id: int,
        fields: dict[str, Any],
        stream_key: str,
        product_ids: list[int],
        moderator_ids: list[int],
    ) -> int:
        async with self._db.transaction() as tx:
            cur = await tx.execute(
                "INSERT INTO live_sessions(host_id, title, description, starts_at, cover_url,"
                " visibility, stream_key, created_at, front_row)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    host_id,
                    fields["title"],
                    fields.get("description", ""),
                    fields["starts_at"],
                    fields.get("cover_url"),
                    fields.get("visibility", Visibility.PUBLIC.value),
                    stream_key,
                    time.time(),
                    fields.get("front_row"),
                ),
            )
            session_id = cur.lastrowid
            assert session_id is not None
            await tx.executemany(
                "INSERT INTO session_products(session_id, product_id, position) VALUES (?, ?, ?)",
                [(session_id, pid, pos) for pos, pid in enumerate(product_ids)],
            )
            await tx.executemany(
                "INSERT INTO session_moderators(session_id, user_id) VALUES (?, ?)",
                [(session_id, uid) for uid in moderator_ids],
            )
        return session_id

    async def get(self, session_id: int) -> LiveSession | None:
        row = await self._db.fetchone("SELECT * FROM live_sessions WHERE id = ?", (session_id,))
        return _session(row) if row else None

    async def by_ids(self, session_ids: list[int]) -> dict[int, LiveSession]:
        """The sessions among these ids that exist."""
        if not session_ids:
            return {}
        marks = ",".join("?" * len(session_ids))
        rows = await self._db.fetchall(
            f"SELECT * FROM live_sessions WHERE id IN ({marks})", session_ids
        )
        return {r["id"]: _session(r) for r in rows}

    async def moderated_among(self, user_id: int, session_ids: list[int]) -> set[int]:
        """The sessions among these ids that the user moderates."""
        if not session_ids:
            return set()
        marks = ",".join("?" * len(session_ids))
        rows = await self._db.fetchall(
            f"SELECT session_id FROM session_moderators WHERE user_id = ?"
            f" AND session_id IN ({marks})",
            [user_id, *session_ids],
        )
        return {r[0] for r in rows}

    async def list_by_state(
        self, states: tuple[SessionState, ...], *, newest_first: bool, limit: int
    ) -> list[LiveSession]:
        marks = ",".join("?" * len(states))
        order = "COALESCE(ended_at, starts_at) DESC" if newest_first else "starts_at ASC"
        rows = await self._db.fetchall(
            f"SELECT * FROM live_sessions WHERE state IN ({marks}) AND visibility = 'public'"
            f" ORDER BY {order} LIMIT ?",
            [*(s.value for s in states), limit],
        )
        return [_session(r) for r in rows]

    async def list_by_host(self, host_id: int, limit: int = 100) -> list[LiveSession]:
        rows = await self._db.fetchall(
            "SELECT * FROM live_sessions WHERE host_id = ? ORDER BY starts_at DESC LIMIT ?",
            (host_id, limit),
        )
        return [_session(r) for r in rows]

    async def list_moderated_by(self, user_id: int, limit: int = 100) -> list[LiveSession]:
        rows = await self._db.fetchall(
            "SELECT s.* FROM live_sessions s JOIN session_moderators m ON m.session_id = s.id"
            " WHERE m.user_id = ? ORDER BY s.starts_at DESC LIMIT ?",
            (user_id, limit),
        )
        return [_session(r) for r in rows]

    async def update(self, session_id: int, fields: dict[str, Any]) -> None:
        cols = [c for c in fields if c in _EDITABLE]
        if not cols:
            return
        assignments = ", ".join(f"{c} = ?" for c in cols)
        await self._db.execute(
            f"UPDATE live_sessions SET {assignments} WHERE id = ?",
            [*(fields[c] for c in cols), session_id],
        )

    async def set_state(
        self, session_id: int, expected: SessionState, new: SessionState, now: float
    ) -> bool:
        """Compare-and-set of the state; stamps went_live_at / ended_at. False if it moved."""
        extra = ""
        params: list[Any] = [new.value]
        if new is SessionState.LIVE:
            extra = ", went_live_at = COALESCE(went_live_at, ?)"
            params.append(now)
        elif new is SessionState.ENDED:
            extra = ", ended_at = ?"
            params.append(now)
        async with self._db.transaction() as tx:
            cur = await tx.execute(
                f"UPDATE live_sessions SET state = ?{extra} WHERE id = ? AND state = ?",
                [*params, session_id, expected.value],
            )
        return cur.rowcount == 1

    async def set_stream_key(self, session_id: int, key: str) -> None:
        await self._db.execute(
            "UPDATE live_sessions SET stream_key = ? WHERE id = ?", (key, session_id)
        )

    async def product_ids(self, session_id: int) -> list[int]:
        rows = await self._db.fetchall(
            "SELECT product_id FROM session_products WHERE session_id = ? ORDER BY position",
            (session_id,),
        )
        return [r[0] for r in rows]

    async def set_products(self, session_id: int, product_ids: list[int]) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM session_products WHERE session_id = ?", (session_id,))
            await tx.executemany(
                "INSERT INTO session_products(session_id, product_id, position) VALUES (?, ?, ?)",
                [(session_id, pid, pos) for pos, pid in enumerate(product_ids)],
            )

    async def moderator_ids(self, session_id: int) -> list[int]:
        rows = await self._db.fetchall(
            "SELECT user_id FROM session_moderators WHERE session_id = ? ORDER BY user_id",
            (session_id,),
        )
        return [r[0] for r in rows]

    async def set_moderators(self, session_id: int, user_ids: list[int]) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM session_moderators WHERE session_id = ?", (session_id,))
            await tx.executemany(
                "INSERT INTO session_moderators(session_id, user_id) VALUES (?, ?)",
                [(session_id, uid) for uid in user_ids],
            )

    async def is_moderator(self, session_id: int, user_id: int) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM session_moderators WHERE session_id = ? AND user_id = ?",
            (session_id, user_id),
        )
        return row is not None

    async def ids_in_state(self, states: tuple[SessionState, ...]) -> list[int]:
        marks = ",".join("?" * len(states))
        rows = await self._db.fetchall(
            f"SELECT id FROM live_sessions WHERE state IN ({marks})", [s.value for s in states]
        )
        return [r[0] for r in rows]

    async def by_title(self, host_id: int, title: str) -> LiveSession | None:
        row = await self._db.fetchone(
            "SELECT * FROM live_sessions WHERE host_id = ? AND title = ? ORDER BY id LIMIT 1",
            (host_id, title),
        )
        return _session(row) if row else None
