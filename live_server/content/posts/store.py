"""Posts, their media and product tags; comments, smiles and follows."""

from __future__ import annotations

import json
import sqlite3
import time

from live_server.content.posts.rules import Comment, MediaKind, Post, PostMedia, TargetKind
from live_server.platform.db import Database


def _media(row: sqlite3.Row) -> PostMedia:
    return PostMedia(
        id=row["id"],
        owner_id=row["owner_id"],
        post_id=row["post_id"],
        kind=MediaKind(row["kind"]),
        mime=row["mime"],
        url=row["url"],
        poster_url=row["poster_url"],
        width=row["width"],
        height=row["height"],
        duration_s=row["duration_s"],
        size_bytes=row["size_bytes"],
    )


def _comment(row: sqlite3.Row) -> Comment:
    return Comment(
        id=row["id"],
        target_kind=TargetKind(row["target_kind"]),
        target_id=row["target_id"],
        user_id=row["user_id"],
        text=row["text"],
        created_at=row["created_at"],
    )


class PostRepository:
    """Reads and writes posts and the social tables (comments, smiles, follows)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- media and posts ------------------------------------------------------------------

    async def add_media(
        self,
        owner_id: int,
        kind: MediaKind,
        mime: str,
        url: str,
        poster_url: str | None,
        width: int,
        height: int,
        duration_s: float | None,
        size_bytes: int,
    ) -> PostMedia:
        """Store an accepted upload, not yet attached to a post."""
        cur = await self._db.execute(
            "INSERT INTO post_media(owner_id, kind, mime, url, poster_url, width, height,"
            " duration_s, size_bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (owner_id, kind.value, mime, url, poster_url, width, height, duration_s, size_bytes,
             time.time()),
        )  # fmt: skip
        row = await self._db.fetchone("SELECT * FROM post_media WHERE id = ?", (cur.lastrowid,))
        assert row is not None
        return _media(row)

    async def create_post(
        self,
        author_id: int,
        caption: str,
        media_ids: list[int],
        product_ids: list[int],
        sponsored: bool,
    ) -> int | None:
        """Publish: the media must be the author's and unattached. None when they are not."""
        now = time.time()
        async with self._db.transaction() as tx:
            marks = ",".join("?" * len(media_ids))
            rows = await tx.fetchall(
                f"SELECT id FROM post_media WHERE id IN ({marks}) AND owner_id = ?"
                " AND post_id IS NULL",
                [*media_ids, author_id],
            )
            if len(rows) != len(media_ids):
                return None
            cur = await tx.execute(
                "INSERT INTO posts(author_id, caption, sponsored, created_at) VALUES (?, ?, ?, ?)",
                (author_id, caption, int(sponsored), now),
            )
            post_id = int(cur.lastrowid or 0)
            await tx.executemany(
                "UPDATE post_media SET post_id = ?, position = ? WHERE id = ?",
                [(post_id, i, mid) for i, mid in enumerate(media_ids)],
            )
            await tx.executemany(
                "INSERT INTO post_products(post_id, product_id, position) VALUES (?, ?, ?)",
                [(post_id, pid, i) for i, pid in enumerate(product_ids)],
            )
        return post_id

    async def by_ids(self, ids: list[int]) -> dict[int, Post]:
        """Published (not deleted) posts with media and products, in one query."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = await self._db.fetchall(
            "SELECT p.*,"
            " (SELECT json_group_array(json_object('id', id, 'owner_id', owner_id,"
            "   'post_id', post_id, 'kind', kind, 'mime', mime, 'url', url,"
            "   'poster_url', poster_url, 'width', width, 'height', height,"
            "   'duration_s', duration_s, 'size_bytes', size_bytes))"
            "  FROM (SELECT * FROM post_media WHERE post_id = p.id ORDER BY position)) AS media,"
            " (SELECT group_concat(product_id) FROM (SELECT product_id FROM post_products"
            "  WHERE post_id = p.id ORDER BY position)) AS product_ids"
            f" FROM posts p WHERE p.id IN ({marks}) AND p.deleted_at IS NULL",
            ids,
        )
        out: dict[int, Post] = {}
        for r in rows:
            media = tuple(
                PostMedia(
                    id=m["id"],
                    owner_id=m["owner_id"],
                    post_id=m["post_id"],
                    kind=MediaKind(m["kind"]),
                    mime=m["mime"],
                    url=m["url"],
                    poster_url=m["poster_url"],
                    width=m["width"],
                    height=m["height"],
                    duration_s=m["duration_s"],
                    size_bytes=m["size_bytes"],
                )
                for m in json.loads(r["media"] or "[]")
            )
            out[r["id"]] = Post(
                id=r["id"],
                author_id=r["author_id"],
                caption=r["caption"],
                sponsored=bool(r["sponsored"]),
                created_at=r["created_at"],
                media=media,
                product_ids=tuple(int(x) for x in (r["product_ids"] or "").split(",") if x),
            )
        return out

    async def get(self, post_id: int) -> Post | None:
        """One post."""
        return (await self.by_ids([post_id])).get(post_id)

    async def by_author(self, author_id: int, limit: int = 50) -> list[Post]:
        """An author's latest posts."""
        rows = await self._db.fetchall(
            "SELECT id FROM posts WHERE author_id = ? AND deleted_at IS NULL"
            " ORDER BY id DESC LIMIT ?",
            (author_id, limit),
        )
        posts = await self.by_ids([r["id"] for r in rows])
        return [posts[r["id"]] for r in rows if r["id"] in posts]

    async def delete_post(self, post_id: int) -> None:
        """Soft-delete a post."""
        await self._db.execute(
            "UPDATE posts SET deleted_at = ? WHERE id = ?", (time.time(), post_id)
        )

    # -- comments -------------------------------------------------------------------------

    async def add_comment(
        self, kind: TargetKind, target_id: int, user_id: int, text: str
    ) -> Comment:
        """Store a comment."""
        cur = await self._db.execute(
            "INSERT INTO comments(target_kind, target_id, user_id, text, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (kind.value, target_id, user_id, text, time.time()),
        )
        row = await self._db.fetchone("SELECT * FROM comments WHERE id = ?", (cur.lastrowid,))
        assert row is not None
        return _comment(row)

    async def comments(
        self, kind: TargetKind, target_id: int, limit: int, before_id: int | None
    ) -> list[Comment]:
        """Newest comments first, keyset-paginated by id."""
        rows = await self._db.fetchall(
            "SELECT * FROM comments WHERE target_kind = ? AND target_id = ? AND deleted_at IS NULL"
            " AND id < ? ORDER BY id DESC LIMIT ?",
            (kind.value, target_id, before_id or 2**62, limit),
        )
        return [_comment(r) for r in rows]

    async def comment(self, comment_id: int) -> Comment | None:
        """One visible comment."""
        row = await self._db.fetchone(
            "SELECT * FROM comments WHERE id = ? AND deleted_at IS NULL", (comment_id,)
        )
        return _comment(row) if row else None

    async def delete_comment(self, comment_id: int) -> None:
        """Soft-delete a comment."""
        await self._db.execute(
            "UPDATE comments SET deleted_at = ? WHERE id = ?", (time.time(), comment_id)
        )

    async def comment_count(self, kind: TargetKind, target_id: int) -> int:
        """Visible comments on a target."""
        value = await self._db.fetchval(
            "SELECT COUNT(*) FROM comments WHERE target_kind = ? AND target_id = ?"
            " AND deleted_at IS NULL",
            (kind.value, target_id),
        )
        return int(value or 0)

    # -- smiles ---------------------------------------------------------------------------

    async def set_smile(
        self, kind: TargetKind, target_id: int, user_id: int, on: bool
    ) -> tuple[int, bool]:
        """Smile or un-smile (idempotent); returns the target's smile count and whether this
        call changed anything. The primary key decides, inside the write transaction, so of
        concurrent identical requests exactly one reports a change (the feed's counter
        follows that answer, not an earlier read that every racing request saw alike)."""
        async with self._db.transaction() as tx:
            if on:
                cur = await tx.execute(
                    "INSERT OR IGNORE INTO smiles(target_kind, target_id, user_id, created_at)"
                    " VALUES (?, ?, ?, ?)",
                    (kind.value, target_id, user_id, time.time()),
                )
            else:
                cur = await tx.execute(
                    "DELETE FROM smiles WHERE target_kind = ? AND target_id = ? AND user_id = ?",
                    (kind.value, target_id, user_id),
                )
            changed = bool(cur.rowcount)
            value = await tx.fetchval(
                "SELECT COUNT(*) FROM smiles WHERE target_kind = ? AND target_id = ?",
                (kind.value, target_id),
            )
        return int(value or 0), changed

    async def smiled(self, user_id: int, kind: TargetKind, target_ids: list[int]) -> set[int]:
        """Which of ``target_ids`` the user smiled at."""
        if not target_ids:
            return set()
        marks = ",".join("?" * len(target_ids))
        rows = await self._db.fetchall(
            f"SELECT target_id FROM smiles WHERE user_id = ? AND target_kind = ?"
            f" AND target_id IN ({marks})",
            [user_id, kind.value, *target_ids],
        )
        return {r["target_id"] for r in rows}

    async def viewer_state(
        self, user_id: int, clip_ids: list[int], post_ids: list[int], creator_ids: list[int]
    ) -> tuple[set[int], set[int], set[int]]:
        """(smiled clips, smiled posts, followed creators) among the given ids, one query."""
        parts: list[str] = []
        params: list[object] = []
        for kind, ids in (("clip", clip_ids), ("post", post_ids)):
            if ids:
                marks = ",".join("?" * len(ids))
                parts.append(
                    f"SELECT '{kind}', target_id FROM smiles WHERE user_id = ?"
                    f" AND target_kind = '{kind}' AND target_id IN ({marks})"
                )
                params += [user_id, *ids]
        if creator_ids:
            marks = ",".join("?" * len(creator_ids))
            parts.append(
                "SELECT 'user', followee_id FROM follows WHERE follower_id = ?"
                f" AND followee_id IN ({marks})"
            )
            params += [user_id, *creator_ids]
        out: dict[str, set[int]] = {"clip": set(), "post": set(), "user": set()}
        if parts:
            for kind, ref in await self._db.fetchall(" UNION ALL ".join(parts), params):
                out[kind].add(int(ref))
        return out["clip"], out["post"], out["user"]

    # -- follows --------------------------------------------------------------------------

    async def set_follow(self, follower_id: int, followee_id: int, on: bool) -> int:
        """Follow or unfollow (idempotent); returns the followee's follower count."""
        async with self._db.transaction() as tx:
            if on:
                await tx.execute(
                    "INSERT OR IGNORE INTO follows(follower_id, followee_id, created_at)"
                    " VALUES (?, ?, ?)",
                    (follower_id, followee_id, time.time()),
                )
            else:
                await tx.execute(
                    "DELETE FROM follows WHERE follower_id = ? AND followee_id = ?",
                    (follower_id, followee_id),
                )
            value = await tx.fetchval(
                "SELECT COUNT(*) FROM follows WHERE followee_id = ?", (followee_id,)
            )
        return int(value or 0)

    async def following(self, follower_id: int, among: list[int]) -> set[int]:
        """Which of ``among`` the user follows."""
        if not among:
            return set()
        marks = ",".join("?" * len(among))
        rows = await self._db.fetchall(
            f"SELECT followee_id FROM follows WHERE follower_id = ? AND followee_id IN ({marks})",
            [follower_id, *among],
        )
        return {r["followee_id"] for r in rows}

    async def follower_count(self, user_id: int) -> int:
        """How many follow ``user_id``."""
        value = await self._db.fetchval(
            "SELECT COUNT(*) FROM follows WHERE followee_id = ?", (user_id,)
        )
        return int(value or 0)
