"""The personalised feed (Inspire-style): ranked pages of clips and posts.

Ranking happens in SQLite (see :mod:`live_server.content.feed.store`); this service builds the
viewer's profile, keeps a scroll's cursor honest (no item twice per scroll), hydrates
the page with products, creators and counters, and keeps the popularity signals fresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from live_server.accounts.rules import User
from live_server.accounts.store import UserRepository
from live_server.catalog.rules import Product
from live_server.catalog.store import ProductRepository
from live_server.content.access import ContentAccess
from live_server.content.clips.rules import Clip
from live_server.content.clips.store import ClipRepository
from live_server.content.feed.rules import CursorError, FeedCursor, FollowingCursor, Profile
from live_server.content.feed.store import FeedRepository, ItemCounters, RankedRow
from live_server.content.posts.rules import Post, TargetKind
from live_server.content.posts.store import PostRepository
from live_server.platform.errors import BadRequest, NotFound
from live_server.platform.identity import Principal

logger = logging.getLogger(__name__)

REFRESH_INTERVAL_S = 30.0
POPULARITY_REFRESH_S = 600.0
CONTENT_TTL_S = 15.0
SCROLL_TTL_S = 1800.0
BUFFER_TTL_S = 120.0
RANK_AHEAD_PAGES = 3


K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """A small in-process cache with expiry and a size bound (oldest entries go first)."""

    def __init__(self, ttl_s: float, max_items: int) -> None:
        self._ttl = ttl_s
        self._max = max_items
        self._data: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get_many(self, keys: list[K]) -> tuple[dict[K, V], list[K]]:
        """(found values, missing keys)."""
        now = time.monotonic()
        found: dict[K, V] = {}
        missing: list[K] = []
        for key in keys:
            hit = self._data.get(key)
            if hit is not None and hit[0] > now:
                found[key] = hit[1]
            else:
                missing.append(key)
        return found, missing

    def put_many(self, values: dict[K, V]) -> None:
        """Store values (refreshing their expiry)."""
        expires = time.monotonic() + self._ttl
        for key, value in values.items():
            self._data[key] = (expires, value)
            self._data.move_to_end(key)
        while len(self._data) > self._max:
            self._data.popitem(last=False)

    def drop(self, keys: list[K]) -> None:
        """Forget some keys."""
        for key in keys:
            self._data.pop(key, None)


async def _cached(
    cache: TtlCache[int, V], ids: list[int], load: Callable[[list[int]], Awaitable[dict[int, V]]]
) -> dict[int, V]:
    found, missing = cache.get_many(ids)
    if missing:
        loaded = await load(missing)
        cache.put_many(loaded)
        found.update(loaded)
    return found


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One hydrated feed item."""

    item_id: int
    kind: TargetKind
    sponsored: bool
    creator: User | None
    products: tuple[Product, ...]
    counters: ItemCounters
    smiled: bool
    following: bool
    clip: Clip | None = None
    post: Post | None = None


@dataclass(frozen=True, slots=True)
class FeedPage:
    """A page and the cursor of the next one (None at the end)."""

    items: list[FeedEntry] = field(default_factory=list)
    next_cursor: str | None = None


class FeedService:
    """Ranks, paginates and hydrates the feed; records what viewers watched."""

    def __init__(
        self,
        feed: FeedRepository,
        clips: ClipRepository,
        posts: PostRepository,
        products: ProductRepository,
        users: UserRepository,
        access: ContentAccess,
    ) -> None:
        self._access = access
        self._feed = feed
        self._clips = clips
        self._posts = posts
        self._products = products
        self._users = users
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        # Content rarely changes and deleted items leave the ranking at once, so the page's
        # clips, posts, products and creators may be a few seconds old. A scroll keeps the
        # profile it started with: its pages rank consistently.
        self._clip_cache: TtlCache[int, Clip] = TtlCache(CONTENT_TTL_S, 20_000)
        self._post_cache: TtlCache[int, Post] = TtlCache(CONTENT_TTL_S, 20_000)
        self._product_cache: TtlCache[int, Product] = TtlCache(CONTENT_TTL_S, 20_000)
        self._user_cache: TtlCache[int, User] = TtlCache(CONTENT_TTL_S, 20_000)
        self._scroll_profiles: TtlCache[str, Profile] = TtlCache(SCROLL_TTL_S, 50_000)
        self._scroll_buffers: TtlCache[str, list[RankedRow]] = TtlCache(BUFFER_TTL_S, 50_000)
        self._pop_refreshed = 0.0

    # -- pages ----------------------------------------------------------------------------

    async def page(self, who: Principal | None, cursor: str | None, limit: int) -> FeedPage:
        """The next page of the viewer's scroll (a new scroll when ``cursor`` is empty)."""
        user_id = who.user_id if who else None
        if cursor:
            try:
                cur = FeedCursor.decode(cursor, user_id)
            except CursorError as exc:
                raise BadRequest(str(exc), code="invalid_cursor") from exc
        else:
            cur = FeedCursor.start(user_id, time.time())
        known, _ = self._scroll_profiles.get_many([cur.feed_id])
        profile = known.get(cur.feed_id) or await self._feed.profile(user_id)
        self._scroll_profiles.put_many({cur.feed_id: profile})
        # One ranking serves a few pages: the rest waits in a per-scroll buffer (this
        # process only; another node simply ranks again, minus what was served).
        buffered, _ = self._scroll_buffers.get_many([cur.feed_id])
        ahead = buffered.get(cur.feed_id, [])
        if len(ahead) < limit:
            ahead = await self._feed.rank(
                profile,
                as_of=cur.as_of,
                feed_id=cur.feed_id,
                limit=limit * RANK_AHEAD_PAGES,
                all_sessions=who is not None and who.is_admin,
            )
        ranked, rest = ahead[:limit], ahead[limit:]
        if rest:
            self._scroll_buffers.put_many({cur.feed_id: rest})
        else:
            self._scroll_buffers.drop([cur.feed_id])
        counters = {r.item_id: r.counters for r in ranked if r.counters is not None}
        entries = await self.hydrate(
            [(r.item_id, r.kind, r.ref_id, r.sponsored) for r in ranked], who, counters
        )
        await self._feed.mark_served(cur.feed_id, [r.item_id for r in ranked])
        next_cursor = cur.next().encode() if len(ranked) == limit else None
        return FeedPage(entries, next_cursor)

    async def following_page(self, who: Principal, cursor: str | None, limit: int) -> FeedPage:
        """The Following tab: clips and posts of the creators `who` follows, newest first."""
        after = None
        if cursor:
            try:
                at = FollowingCursor.decode(cursor)
            except CursorError as exc:
                raise BadRequest(
                    "This list can't continue from that point; reload it.", code="invalid_cursor"
                ) from exc
            after = (at.created_at, at.item_id)
        rows = await self._feed.following(who.user_id, after, limit, all_sessions=who.is_admin)
        counters = {r.item_id: r.counters for r in rows if r.counters is not None}
        entries = await self.hydrate(
            [(r.item_id, r.kind, r.ref_id, r.sponsored) for r in rows], who, counters
        )
        last = rows[-1] if len(rows) == limit else None
        next_cursor = FollowingCursor(last.score, last.item_id).encode() if last else None
        return FeedPage(entries, next_cursor)

    async def hydrate(
        self,
        rows: list[tuple[int, str, int, bool]],
        who: Principal | None,
        known: dict[int, ItemCounters] | None = None,
    ) -> list[FeedEntry]:
        """Attach clips/posts, products, creators, counters and the viewer's state."""
        clip_ids = [ref for _, kind, ref, _ in rows if kind == "clip"]
        post_ids = [ref for _, kind, ref, _ in rows if kind == "post"]
        clips = await _cached(self._clip_cache, clip_ids, self._clips.by_ids)
        # The ranking already leaves out clips of private shows the viewer may not see; this
        # is the rule itself, read fresh (a buffered page may predate a visibility change),
        # and it gives a private show's readers signed links.
        clips = {c.id: c for c in await self._access.readable(who, clips.values())}
        posts = await _cached(self._post_cache, post_ids, self._posts.by_ids)
        product_ids = sorted(
            {p for c in clips.values() for p in c.product_ids}
            | {p for po in posts.values() for p in po.product_ids}
        )
        products = await _cached(self._product_cache, product_ids, self._products.by_ids)
        creator_ids = sorted(
            {c.host_id for c in clips.values()} | {p.author_id for p in posts.values()}
        )
        creators = await _cached(self._user_cache, creator_ids, self._users.by_ids)
        counters = known if known is not None else await self._feed.counters([r[0] for r in rows])
        smiled_clips: set[int] = set()
        smiled_posts: set[int] = set()
        following: set[int] = set()
        if who is not None:
            smiled_clips, smiled_posts, following = await self._posts.viewer_state(
                who.user_id, clip_ids, post_ids, creator_ids
            )
        out: list[FeedEntry] = []
        for item_id, kind, ref, sponsored in rows:
            count = counters.get(item_id, ItemCounters(item_id, 0, 0, 0, 0))
            if kind == "clip" and ref in clips:
                clip = clips[ref]
                out.append(
                    FeedEntry(
                        item_id, TargetKind.CLIP, sponsored, creators.get(clip.host_id),
                        tuple(products[p] for p in clip.product_ids if p in products),
                        count, ref in smiled_clips, clip.host_id in following, clip=clip,
                    )
                )  # fmt: skip
            elif kind == "post" and ref in posts:
                post = posts[ref]
                out.append(
                    FeedEntry(
                        item_id, TargetKind.POST, sponsored, creators.get(post.author_id),
                        tuple(products[p] for p in post.product_ids if p in products),
                        count, ref in smiled_posts, post.author_id in following, post=post,
                    )
                )  # fmt: skip
        return out

    async def entry(self, kind: TargetKind, ref_id: int, who: Principal | None) -> FeedEntry:
        """One clip or post as a feed entry (for deep links)."""
        if kind is TargetKind.CLIP:
            await self._access.clip(who, ref_id)  # 404 like a missing clip when hidden
        item_id = await self._feed.item_id(kind.value, ref_id)
        if item_id is None:
            raise NotFound(f"We couldn't find that {kind.value}.", code=f"{kind.value}_not_found")
        counters = await self._feed.counters([item_id])
        sponsored = False
        if kind is TargetKind.POST:
            post = await self._posts.get(ref_id)
            sponsored = bool(post and post.sponsored)
        entries = await self.hydrate([(item_id, kind.value, ref_id, sponsored)], who)
        if not entries or item_id not in counters:
            raise NotFound(f"We couldn't find that {kind.value}.", code=f"{kind.value}_not_found")
        return entries[0]

    # -- signals --------------------------------------------------------------------------

    async def add_clip(self, clip: Clip) -> int:
        """Put a clip in the feed, tagged with its products' categories."""
        products = await self._products.by_ids(list(clip.product_ids))
        categories = sorted({p.category for p in products.values()})
        return await self._feed.upsert_item(
            "clip", clip.id, clip.host_id, categories, clip.created_at
        )

    async def add_post(self, post: Post) -> int:
        """Put a post in the feed."""
        products = await self._products.by_ids(list(post.product_ids))
        categories = sorted({p.category for p in products.values()})
        return await self._feed.upsert_item(
            "post", post.id, post.author_id, categories, post.created_at, sponsored=post.sponsored
        )

    async def remove(self, kind: TargetKind, ref_ids: list[int]) -> None:
        """Take clips or posts out of the feed."""
        await self._feed.hide(kind.value, ref_ids)
        (self._clip_cache if kind is TargetKind.CLIP else self._post_cache).drop(ref_ids)

    async def seen(self, who: Principal | None, item_id: int) -> None:
        """A viewer watched an item: counts a view once per account, and ranks it lower for
        them. Anonymous reports count nothing: nothing about an anonymous client (a key it
        makes up, an address it can change or share) tells one viewer from a thousand
        reports, and views feed the ranking."""
        found = await self._feed.exists(item_id)
        if found is None or not await self._visible_item(who, *found):
            raise NotFound("We couldn't find that item.", code="item_not_found")
        if who is None:
            return
        kind, ref = found
        if await self._feed.mark_seen(who.user_id, item_id):  # the table's key: once each
            await self._feed.bump(kind, ref, "views")

    async def _visible_item(self, who: Principal | None, kind: str, ref_id: int) -> bool:
        """Posts are public; a clip follows its show's visibility."""
        if kind != TargetKind.CLIP.value:
            return True
        try:
            await self._access.clip(who, ref_id)
        except NotFound:
            return False
        return True

    async def counted(self, kind: TargetKind, ref_id: int, column: str, delta: int) -> None:
        """Apply a like/comment change to the item's counters."""
        await self._feed.bump(kind.value, ref_id, column, delta)

    async def set_sponsored(self, who: Principal, item_id: int, sponsored: bool) -> None:
        """Admins label paid placements."""
        from live_server.platform.errors import Forbidden

        if not who.is_admin:
            raise Forbidden("only admins label sponsored items", code="admins_only")
        if not await self._feed.set_sponsored(item_id, sponsored):
            raise NotFound("We couldn't find that item.", code="item_not_found")

    # -- background -----------------------------------------------------------------------

    async def refresh_once(self) -> None:
        """Copy purchase counts into the ranking signals; forget old scrolls."""
        if time.monotonic() - self._pop_refreshed > POPULARITY_REFRESH_S:
            self._pop_refreshed = time.monotonic()
            await self._feed.refresh_popularity()
        changed = await self._feed.refresh_purchases()
        dropped = await self._feed.forget_old_scrolls()
        if changed or dropped:
            logger.info("feed refresh: %d purchase counters, %d old served rows", changed, dropped)

    async def _loop(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), REFRESH_INTERVAL_S)
            if self._stop.is_set():
                break
            try:
                await self.refresh_once()
            except Exception:
                logger.exception("feed refresh failed")

    def start(self) -> None:
        """Start the periodic signal refresh."""
        if self._task is None:
            self._stop = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Stop the periodic refresh."""
        if self._task is not None:
            self._stop.set()
            done, _ = await asyncio.wait({self._task}, timeout=2.0)
            if not done:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
