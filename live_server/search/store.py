"""Search storage: FTS5 lookups (migration 0045) and the reads that go with them.

Each lookup returns ids in rank order (bm25, title words weighing most); the service
loads the rows through their own features. Visibility is applied here as a first pass
(deleted products and clips, disabled accounts, private shows through the shows' rule in
SQL, `HIDDEN_SESSIONS_SQL`) so that a page is filled with results its reader may see;
the service applies the rule itself again to what it returns.
"""

from __future__ import annotations

from live_server.platform.db import Database
from live_server.shows import HIDDEN_SESSIONS_SQL

_LIVE_FIRST = (
    "CASE s.state WHEN 'live' THEN 0 WHEN 'reconnecting' THEN 0 WHEN 'scheduled' THEN 1 ELSE 2 END"
)
_NOT_HIDDEN = f"s.id NOT IN ({HIDDEN_SESSIONS_SQL})"
#: Someone with something to show: a host, or anyone who has held a show or posted.
_IS_CREATOR = (
    "u.disabled_at IS NULL AND (u.role = 'host'"
    " OR EXISTS (SELECT 1 FROM live_sessions ls WHERE ls.host_id = u.id)"
    " OR EXISTS (SELECT 1 FROM posts p WHERE p.author_id = u.id AND p.deleted_at IS NULL))"
)


def _visible(all_sessions: bool) -> str:
    return "1" if all_sessions else _NOT_HIDDEN


def _marks(ids: list[int]) -> str:
    return ",".join(str(int(i)) for i in ids)


class SearchRepository:
    """Reads the full-text indexes and the tables they index."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def products(self, match: str, limit: int) -> list[int]:
        """Products whose title, description or category match, best first."""
        rows = await self._db.fetchall(
            "SELECT p.id FROM products_fts f JOIN products p ON p.id = f.rowid"
            " WHERE products_fts MATCH :match AND p.deleted_at IS NULL AND p.parent_id IS NULL"
            " ORDER BY bm25(products_fts, 10.0, 2.0, 4.0), p.id DESC LIMIT :limit",
            {"match": match, "limit": limit},
        )
        return [int(r["id"]) for r in rows]

    async def shows(self, match: str, viewer_id: int, all_sessions: bool, limit: int) -> list[int]:
        """Shows whose title or description match: live ones first, then by rank."""
        rows = await self._db.fetchall(
            "SELECT s.id FROM live_sessions_fts f JOIN live_sessions s ON s.id = f.rowid"
            f" WHERE live_sessions_fts MATCH :match AND {_visible(all_sessions)}"
            f" ORDER BY {_LIVE_FIRST}, bm25(live_sessions_fts, 10.0, 2.0), s.id DESC"
            " LIMIT :limit",
            {"match": match, "viewer_id": viewer_id, "limit": limit},
        )
        return [int(r["id"]) for r in rows]

    async def creators(self, match: str, limit: int) -> list[int]:
        """Creators whose display name or username match, best first."""
        rows = await self._db.fetchall(
            "SELECT u.id FROM users_fts f JOIN users u ON u.id = f.rowid"
            f" WHERE users_fts MATCH :match AND {_IS_CREATOR}"
            " ORDER BY bm25(users_fts, 5.0, 3.0), u.id LIMIT :limit",
            {"match": match, "limit": limit},
        )
        return [int(r["id"]) for r in rows]

    async def is_creator(self, user_id: int) -> bool:
        """True when the user has a creator page."""
        value = await self._db.fetchval(
            f"SELECT 1 FROM users u WHERE u.id = :uid AND {_IS_CREATOR}", {"uid": user_id}
        )
        return value is not None

    async def shows_featuring(
        self, product_ids: list[int], viewer_id: int, all_sessions: bool, per_product: int
    ) -> dict[int, list[int]]:
        """For each product, the shows whose line-up holds it: live, upcoming, then replays."""
        if not product_ids:
            return {}
        rows = await self._db.fetchall(
            "SELECT product_id, session_id FROM (SELECT sp.product_id, s.id AS session_id,"
            f"  ROW_NUMBER() OVER (PARTITION BY sp.product_id ORDER BY {_LIVE_FIRST},"
            "   s.starts_at DESC, s.id DESC) AS n"
            "  FROM session_products sp JOIN live_sessions s ON s.id = sp.session_id"
            f"  WHERE sp.product_id IN ({_marks(product_ids)}) AND {_visible(all_sessions)})"
            " WHERE n <= :per ORDER BY product_id, n",
            {"viewer_id": viewer_id, "per": per_product},
        )
        out: dict[int, list[int]] = {}
        for r in rows:
            out.setdefault(int(r["product_id"]), []).append(int(r["session_id"]))
        return out

    async def clips_featuring(
        self, product_ids: list[int], viewer_id: int, all_sessions: bool, per_product: int
    ) -> dict[int, list[int]]:
        """For each product, its newest clips (of shows the reader may see)."""
        if not product_ids:
            return {}
        rows = await self._db.fetchall(
            "SELECT product_id, clip_id FROM (SELECT cp.product_id, c.id AS clip_id,"
            "  ROW_NUMBER() OVER (PARTITION BY cp.product_id ORDER BY c.created_at DESC,"
            "   c.id DESC) AS n"
            "  FROM clip_products cp JOIN clips c ON c.id = cp.clip_id"
            "  JOIN live_sessions s ON s.id = c.session_id"
            f"  WHERE cp.product_id IN ({_marks(product_ids)}) AND c.deleted_at IS NULL"
            f"  AND {_visible(all_sessions)})"
            " WHERE n <= :per ORDER BY product_id, n",
            {"viewer_id": viewer_id, "per": per_product},
        )
        out: dict[int, list[int]] = {}
        for r in rows:
            out.setdefault(int(r["product_id"]), []).append(int(r["clip_id"]))
        return out

    async def clips_by_host(
        self, host_id: int, viewer_id: int, all_sessions: bool, limit: int
    ) -> list[int]:
        """A creator's newest clips (of shows the reader may see)."""
        rows = await self._db.fetchall(
            "SELECT c.id FROM clips c JOIN live_sessions s ON s.id = c.session_id"
            f" WHERE c.host_id = :host AND c.deleted_at IS NULL AND {_visible(all_sessions)}"
            " ORDER BY c.created_at DESC, c.id DESC LIMIT :limit",
            {"host": host_id, "viewer_id": viewer_id, "limit": limit},
        )
        return [int(r["id"]) for r in rows]
