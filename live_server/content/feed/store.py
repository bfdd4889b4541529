"""Feed storage: ranked pages computed inside SQLite, served/seen bookkeeping, signals.

Two stages, one statement. Retrieval: indexed top-N queries by stored popularity
(overall, in each of the viewer's categories, from followed creators) pick a few hundred
unserved candidates. Ranking: the exact score of :func:`live_server.content.feed.rules.score`
over those candidates. The per-viewer sets (followed creators, seen items, items already
served in this scroll) are non-correlated ``IN (SELECT ...)`` subqueries, which SQLite
materialises once per statement. When the candidates run out deep in a scroll, every
remaining item is ranked exactly.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from live_server.content.clips.store import table_exists
from live_server.content.feed.rules import (
    DEFAULT_WEIGHTS,
    JITTER_MODULUS,
    JITTER_MULTIPLIER,
    FeedWeights,
    Profile,
    category_mask,
    engagement_score,
    mask_bits,
    popularity,
    primary_category,
)
from live_server.platform.db import Database
from live_server.shows import HIDDEN_SESSIONS_SQL

CANDIDATES_POPULAR = 100
CANDIDATES_PER_CATEGORY = 30
CANDIDATES_FOLLOWED = 50

RANK_SQL = f"""
SELECT fi.id, fi.kind, fi.ref_id, fi.sponsored,
  fi.likes, fi.comments, fi.views, fi.purchases,
  (CASE WHEN fi.category_mask & :interest_mask THEN :w_interest ELSE 0.0 END)
  + (CASE WHEN fi.creator_id IN (SELECT followee_id FROM follows WHERE follower_id = :uid)
          THEN :w_follow ELSE 0.0 END)
  + (CASE WHEN fi.category_mask & :liked_mask THEN :w_liked ELSE 0.0 END)
  + (CASE WHEN fi.category_mask & :purchased_mask THEN :w_purchased ELSE 0.0 END)
  + :w_fresh / (1.0 + max(0.0, :as_of - fi.created_at) / 3600.0 / :half_life)
  + :w_engagement * fi.engagement
  + (CASE WHEN fi.sponsored THEN :w_sponsored ELSE 0.0 END)
  - (CASE WHEN fi.id IN (SELECT item_id FROM feed_seen WHERE user_id = :uid)
          THEN :w_seen ELSE 0.0 END)
  + :w_jitter
    * (((fi.id * {JITTER_MULTIPLIER} + :seed) % {JITTER_MODULUS}) * 1.0 / {JITTER_MODULUS})
  AS score
FROM feed_items fi
WHERE fi.hidden = 0 AND +fi.created_at <= :as_of
  AND fi.id NOT IN (SELECT item_id FROM feed_served WHERE feed_id = :feed_id)
  {{candidates}}
  {{visibility}}
ORDER BY score DESC, fi.id DESC
LIMIT :limit
"""

# Candidate retrieval: the best unserved items by stored popularity, overall, in each of
# the viewer's categories, and from creators they follow. Each is an indexed top-N.
_UNSERVED = (
    "hidden = 0 AND created_at <= :as_of"
    " AND id NOT IN (SELECT item_id FROM feed_served WHERE feed_id = :feed_id)"
)
CAND_POPULAR = f"SELECT id FROM feed_items WHERE {_UNSERVED} ORDER BY pop DESC LIMIT :n_pop"
CAND_CATEGORY = (
    "SELECT id FROM feed_items WHERE primary_cat = {cat} AND " + _UNSERVED
    + " ORDER BY pop DESC LIMIT :n_cat"
)  # fmt: skip
CAND_FOLLOWED = (
    "SELECT id FROM feed_items WHERE creator_id IN"
    " (SELECT followee_id FROM follows WHERE follower_id = :uid) AND "
    + _UNSERVED + " ORDER BY pop DESC LIMIT :n_follow"
)  # fmt: skip
# Clips of private shows the viewer may not see are never ranked (the shows' visibility rule
# in SQL; `:viewer_id` is the viewer, -1 when anonymous). Few shows are private, so the set
# is small; admins see everything and skip it.
HIDE_PRIVATE_CLIPS = (
    "AND NOT (fi.kind = 'clip' AND fi.ref_id IN"
    f" (SELECT id FROM clips WHERE session_id IN ({HIDDEN_SESSIONS_SQL})))"
)
POP_SQL = (
    "pop = :w_fresh / (1.0 + max(0.0, :now - created_at) / 3600.0 / :half_life)"
    " + :w_engagement * engagement + (CASE WHEN sponsored THEN :w_sponsored ELSE 0.0 END)"
)


def candidate_sql(categories: list[int], followed: bool) -> str:
    """The UNION of candidate queries for a viewer's categories (bit indexes)."""
    parts = [CAND_POPULAR] + [CAND_CATEGORY.format(cat=int(c)) for c in categories]
    if followed:
        parts.append(CAND_FOLLOWED)
    return " UNION ".join(f"SELECT id FROM ({p})" for p in parts)


@dataclass(frozen=True, slots=True)
class ItemCounters:
    """A feed item's public counters."""

    item_id: int
    likes: int
    comments: int
    views: int
    purchases: int


@dataclass(frozen=True, slots=True)
class RankedRow:
    """One ranked feed item (what to hydrate)."""

    item_id: int
    kind: str
    ref_id: int
    sponsored: bool
    score: float
    counters: ItemCounters | None = None


class FeedRepository:
    """The `feed_items`, `feed_seen` and `feed_served` tables, and profile reads."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._has_orders: bool | None = None

    # -- items ----------------------------------------------------------------------------

    async def upsert_item(
        self,
        kind: str,
        ref_id: int,
        creator_id: int,
        categories: list[str],
        created_at: float,
        sponsored: bool = False,
    ) -> int:
        """Add a clip or post to the feed (or refresh its tags); returns the item id."""
        mask = category_mask(categories)
        pop = popularity(created_at, time.time(), 0.0, sponsored)
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO feed_items(kind, ref_id, creator_id, category_mask, created_at,"
                " sponsored, pop, primary_cat) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(kind, ref_id) DO UPDATE SET creator_id = excluded.creator_id,"
                " category_mask = excluded.category_mask, sponsored = excluded.sponsored,"
                " primary_cat = excluded.primary_cat, hidden = 0",
                (kind, ref_id, creator_id, mask, created_at, int(sponsored), pop,
                 primary_category(mask)),
            )  # fmt: skip
            value = await tx.fetchval(
                "SELECT id FROM feed_items WHERE kind = ? AND ref_id = ?", (kind, ref_id)
            )
        return int(value)

    async def hide(self, kind: str, ref_ids: list[int]) -> None:
        """Take deleted clips/posts out of the feed."""
        if not ref_ids:
            return
        marks = ",".join("?" * len(ref_ids))
        await self._db.execute(
            f"UPDATE feed_items SET hidden = 1 WHERE kind = ? AND ref_id IN ({marks})",
            [kind, *ref_ids],
        )

    async def item_id(self, kind: str, ref_id: int) -> int | None:
        """The feed item of a clip/post, if it is in the feed."""
        value = await self._db.fetchval(
            "SELECT id FROM feed_items WHERE kind = ? AND ref_id = ? AND hidden = 0", (kind, ref_id)
        )
        return int(value) if value is not None else None

    async def set_sponsored(self, item_id: int, sponsored: bool) -> bool:
        """Label (or unlabel) an item as sponsored; False when there is no such item."""
        async with self._db.transaction() as tx:
            cur = await tx.execute(
                "UPDATE feed_items SET sponsored = ? WHERE id = ?", (int(sponsored), item_id)
            )
            await tx.execute(
                f"UPDATE feed_items SET {POP_SQL} WHERE id = :id",
                {**self._pop_params(time.time()), "id": item_id},
            )
        return bool(cur.rowcount)

    @staticmethod
    def _pop_params(now: float, weights: FeedWeights = DEFAULT_WEIGHTS) -> dict[str, float]:
        return {
            "now": now,
            "w_fresh": weights.freshness,
            "half_life": weights.half_life_h,
            "w_engagement": weights.engagement,
            "w_sponsored": weights.sponsored,
        }

    async def refresh_popularity(self, now: float | None = None) -> int:
        """Recompute every item's stored popularity (freshness decays with time)."""
        cur = await self._db.execute(
            f"UPDATE feed_items SET {POP_SQL} WHERE hidden = 0",
            self._pop_params(time.time() if now is None else now),
        )
        return int(cur.rowcount or 0)

    async def bump(
        self, kind: str, ref_id: int, column: str, delta: int = 1, *, absolute: int | None = None
    ) -> None:
        """Change one counter and recompute the engagement figure, in one transaction."""
        if column not in ("likes", "comments", "views", "purchases"):
            raise ValueError(column)
        async with self._db.transaction() as tx:
            if absolute is not None:
                await tx.execute(
                    f"UPDATE feed_items SET {column} = ? WHERE kind = ? AND ref_id = ?",
                    (max(0, absolute), kind, ref_id),
                )
            else:
                await tx.execute(
                    f"UPDATE feed_items SET {column} = max(0, {column} + ?)"
                    " WHERE kind = ? AND ref_id = ?",
                    (delta, kind, ref_id),
                )
            row = await tx.fetchone(
                "SELECT id, likes, comments, views, purchases FROM feed_items"
                " WHERE kind = ? AND ref_id = ?",
                (kind, ref_id),
            )
            if row is not None:
                eng = engagement_score(
                    row["likes"], row["comments"], row["views"], row["purchases"]
                )
                await tx.execute(
                    "UPDATE feed_items SET engagement = ? WHERE id = ?", (eng, row["id"])
                )
                await tx.execute(
                    f"UPDATE feed_items SET {POP_SQL} WHERE id = :id",
                    {**self._pop_params(time.time()), "id": row["id"]},
                )

    async def counters(self, item_ids: list[int]) -> dict[int, ItemCounters]:
        """Public counters of some items."""
        if not item_ids:
            return {}
        marks = ",".join("?" * len(item_ids))
        rows = await self._db.fetchall(
            f"SELECT id, likes, comments, views, purchases FROM feed_items WHERE id IN ({marks})",
            item_ids,
        )
        return {
            r["id"]: ItemCounters(r["id"], r["likes"], r["comments"], r["views"], r["purchases"])
            for r in rows
        }

    async def counters_for(self, kind: str, ref_id: int) -> ItemCounters | None:
        """Counters of one clip or post."""
        row = await self._db.fetchone(
            "SELECT id, likes, comments, views, purchases FROM feed_items"
            " WHERE kind = ? AND ref_id = ?",
            (kind, ref_id),
        )
        if row is None:
            return None
        return ItemCounters(
            row["id"], row["likes"], row["comments"], row["views"], row["purchases"]
        )

    # -- ranking --------------------------------------------------------------------------

    async def rank(
        self,
        profile: Profile,
        *,
        as_of: float,
        feed_id: str,
        limit: int,
        weights: FeedWeights = DEFAULT_WEIGHTS,
        all_sessions: bool = False,
    ) -> list[RankedRow]:
        """The next ``limit`` items of scroll ``feed_id`` for ``profile``; clips of private
        shows only for those who may see them (``all_sessions``: an admin)."""
        params = {
            "uid": profile.user_id if profile.user_id is not None else -1,
            "viewer_id": profile.user_id if profile.user_id is not None else -1,
            "interest_mask": profile.interest_mask,
            "liked_mask": profile.liked_mask,
            "purchased_mask": profile.purchased_mask,
            "w_interest": weights.interest,
            "w_follow": weights.follow,
            "w_liked": weights.liked_category,
            "w_purchased": weights.purchased_category,
            "w_fresh": weights.freshness,
            "half_life": weights.half_life_h,
            "w_engagement": weights.engagement,
            "w_sponsored": weights.sponsored,
            "w_seen": weights.seen_penalty,
            "w_jitter": weights.jitter,
            "seed": profile.seed,
            "as_of": as_of,
            "feed_id": feed_id,
            "limit": limit,
        }
        params.update(
            n_pop=max(CANDIDATES_POPULAR, 2 * limit),
            n_cat=max(CANDIDATES_PER_CATEGORY, limit),
            n_follow=max(CANDIDATES_FOLLOWED, limit),
        )
        # Liked categories only boost the score: retrieving by them too would pull in most
        # categories for an active viewer and multiply the candidates.
        categories = mask_bits(profile.interest_mask | profile.purchased_mask)
        cand = candidate_sql(categories, profile.user_id is not None)
        visibility = "" if all_sessions else HIDE_PRIVATE_CLIPS
        rows = await self._db.fetchall(
            RANK_SQL.format(candidates=f"AND fi.id IN ({cand})", visibility=visibility), params
        )
        if len(rows) < limit:
            # The candidates ran out (deep in a scroll): rank every remaining item exactly.
            rows = await self._db.fetchall(
                RANK_SQL.format(candidates="", visibility=visibility), params
            )
        return [
            RankedRow(
                r["id"],
                r["kind"],
                r["ref_id"],
                bool(r["sponsored"]),
                float(r["score"]),
                ItemCounters(r["id"], r["likes"], r["comments"], r["views"], r["purchases"]),
            )
            for r in rows
        ]

    async def following(
        self,
        user_id: int,
        after: tuple[float, int] | None,
        limit: int,
        all_sessions: bool = False,
    ) -> list[RankedRow]:
        """The Following tab: items of creators ``user_id`` follows, newest first, after the
        keyset ``after`` (created_at, item id); ``score`` holds each item's created_at."""
        params: dict[str, object] = {"uid": user_id, "viewer_id": user_id, "limit": limit}
        page = ""
        if after is not None:
            page = "AND (fi.created_at < :t OR (fi.created_at = :t AND fi.id < :i))"
            params.update(t=after[0], i=after[1])
        visibility = "" if all_sessions else HIDE_PRIVATE_CLIPS
        rows = await self._db.fetchall(
            "SELECT fi.id, fi.kind, fi.ref_id, fi.sponsored, fi.created_at,"
            " fi.likes, fi.comments, fi.views, fi.purchases FROM feed_items fi"
            " WHERE fi.hidden = 0 AND fi.creator_id IN"
            " (SELECT followee_id FROM follows WHERE follower_id = :uid)"
            f" {page} {visibility}"
            " ORDER BY fi.created_at DESC, fi.id DESC LIMIT :limit",
            params,
        )
        return [
            RankedRow(
                r["id"],
                r["kind"],
                r["ref_id"],
                bool(r["sponsored"]),
                float(r["created_at"]),
                ItemCounters(r["id"], r["likes"], r["comments"], r["views"], r["purchases"]),
            )
            for r in rows
        ]

    async def mark_served(self, feed_id: str, item_ids: list[int]) -> None:
        """Remember what this scroll has shown; old scrolls are forgotten after a day."""
        if not item_ids:
            return
        now = time.time()
        async with self._db.transaction() as tx:
            await tx.executemany(
                "INSERT OR IGNORE INTO feed_served(feed_id, item_id, served_at) VALUES (?, ?, ?)",
                [(feed_id, i, now) for i in item_ids],
            )

    async def forget_old_scrolls(self, older_than_s: float = 86400.0) -> int:
        """Drop served-lists of scrolls older than ``older_than_s``."""
        cur = await self._db.execute(
            "DELETE FROM feed_served WHERE served_at < ?", (time.time() - older_than_s,)
        )
        return int(cur.rowcount or 0)

    async def mark_seen(self, user_id: int, item_id: int) -> bool:
        """Record that a viewer watched an item; True the first time."""
        cur = await self._db.execute(
            "INSERT OR IGNORE INTO feed_seen(user_id, item_id, seen_at) VALUES (?, ?, ?)",
            (user_id, item_id, time.time()),
        )
        return bool(cur.rowcount)

    async def exists(self, item_id: int) -> tuple[str, int] | None:
        """(kind, ref_id) of a visible item."""
        row = await self._db.fetchone(
            "SELECT kind, ref_id FROM feed_items WHERE id = ? AND hidden = 0", (item_id,)
        )
        return (row["kind"], row["ref_id"]) if row else None

    # -- the viewer's profile -------------------------------------------------------------

    async def profile(self, user_id: int | None) -> Profile:
        """Interests, liked categories and purchased categories of a viewer (one query)."""
        if user_id is None:
            return Profile(None)
        purchased = "NULL"
        if await self._orders_present():
            purchased = (
                "(SELECT group_concat(category) FROM (SELECT DISTINCT p.category AS category"
                " FROM order_items oi JOIN orders o ON o.id = oi.order_id"
                " JOIN products p ON p.id = oi.product_id"
                " WHERE oi.buyer_id = :uid AND o.status IN ('confirmed', 'paid') LIMIT 50))"
            )
        row = await self._db.fetchone(
            "SELECT (SELECT interests FROM users WHERE id = :uid) AS interests,"
            " (SELECT group_concat(m) FROM (SELECT fi.category_mask AS m FROM smiles s"
            "  JOIN feed_items fi ON fi.kind = s.target_kind AND fi.ref_id = s.target_id"
            "  WHERE s.user_id = :uid ORDER BY s.created_at DESC LIMIT 200)) AS liked,"
            f" {purchased} AS purchased",
            {"uid": user_id},
        )
        interests: list[object] = []
        liked_mask = 0
        bought: list[str] = []
        if row is not None:
            try:
                parsed = json.loads(row["interests"]) if row["interests"] else []
                interests = parsed if isinstance(parsed, list) else []
            except ValueError:
                interests = []
            for part in (row["liked"] or "").split(","):
                if part.strip().lstrip("-").isdigit():
                    liked_mask |= int(part)
            bought = [c for c in (row["purchased"] or "").split(",") if c]
        return Profile(
            user_id,
            interest_mask=category_mask(i for i in interests if isinstance(i, str)),
            liked_mask=liked_mask,
            purchased_mask=category_mask(bought),
        )

    async def _orders_present(self) -> bool:
        if not self._has_orders:
            self._has_orders = await table_exists(self._db, "orders") and await table_exists(
                self._db, "order_items"
            )
        return self._has_orders

    async def refresh_purchases(self) -> int:
        """Copy purchase counts of orders attributed to clips/posts into the feed items."""
        if not await self._orders_present():
            return 0
        rows = await self._db.fetchall(
            "SELECT source_type, source_id, COUNT(*) AS n FROM orders"
            " WHERE source_type IN ('clip', 'post') AND status IN ('confirmed', 'paid')"
            " GROUP BY source_type, source_id"
        )
        changed = 0
        for r in rows:
            try:
                ref = int(r["source_id"])
            except (TypeError, ValueError):
                continue
            current = await self.counters_for(r["source_type"], ref)
            if current is not None and current.purchases != r["n"]:
                await self.bump(r["source_type"], ref, "purchases", absolute=int(r["n"]))
                changed += 1
        return changed
