"""Search and creator pages: finding products, shows and creators, and what each leads to.

A product found comes with the shows whose line-up holds it (live, upcoming, replays) and
the clips that feature it; a creator's page lists their live, upcoming and past shows,
their clips, and whether the reader follows them. Every show and clip returned passed
the shows' visibility rule (`LiveSessionService.viewable`, content's `readable`): a
private show is never found by, nor listed to, someone who may not see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from live_server.accounts import Accounts, User
from live_server.catalog import Catalog, Product
from live_server.content import Content
from live_server.content.clips.rules import Clip
from live_server.platform.errors import NotFound
from live_server.platform.identity import Principal
from live_server.search.rules import SearchKind, SearchQuery
from live_server.search.store import SearchRepository
from live_server.shows import LiveSession, SessionState, Shows

#: Shows and clips listed under each product found.
PER_PRODUCT = 3
#: What a creator page lists of each kind.
PAGE_SHOWS = 20
PAGE_CLIPS = 24


@dataclass(frozen=True)
class FoundProduct:
    """A product with the shows and clips that feature it."""

    product: Product
    shows: list[LiveSession]
    clips: list[Clip]


@dataclass(frozen=True)
class SearchResults:
    """Results grouped by kind; `hosts` has the host of every show listed."""

    terms: tuple[str, ...]
    products: list[FoundProduct] = field(default_factory=list)
    shows: list[LiveSession] = field(default_factory=list)
    creators: list[User] = field(default_factory=list)
    hosts: dict[int, User] = field(default_factory=dict)
    #: The products the clips listed are tagged with (a clip without a title is named
    #: after its first product).
    clip_products: dict[int, Product] = field(default_factory=dict)


@dataclass(frozen=True)
class CreatorPage:
    """A creator (or shop) with their shows and clips, for one reader."""

    creator: User
    followers: int
    following: bool
    live: list[LiveSession]
    upcoming: list[LiveSession]
    replays: list[LiveSession]
    clips: list[Clip]
    clip_products: dict[int, Product]


def _ids(who: Principal | None) -> tuple[int, bool]:
    return (who.user_id if who else -1), bool(who and who.is_admin)


class SearchService:
    """Runs searches and builds creator pages."""

    def __init__(
        self,
        store: SearchRepository,
        accounts: Accounts,
        catalog: Catalog,
        shows: Shows,
        content: Content,
    ) -> None:
        self._store = store
        self._users = accounts.users
        self._products = catalog.products
        self._shows = shows
        self._content = content

    async def _sessions(self, who: Principal | None, ids: list[int]) -> list[LiveSession]:
        """The sessions among `ids` that `who` may see, in the order given."""
        visible = await self._shows.service.viewable(who, ids)
        return [visible[i] for i in dict.fromkeys(ids) if i in visible]

    async def search(
        self, who: Principal | None, query: SearchQuery, kind: SearchKind, limit: int
    ) -> SearchResults:
        """Products, shows and creators matching every word of `query`."""
        if query.empty:
            return SearchResults(query.terms)
        viewer, admin = _ids(who)
        match = query.match
        found_products: list[FoundProduct] = []
        if kind.includes(SearchKind.PRODUCTS):
            pids = await self._store.products(match, limit)
            by_id = await self._products.by_ids(pids)
            featuring = await self._store.shows_featuring(pids, viewer, admin, PER_PRODUCT)
            clipped = await self._store.clips_featuring(pids, viewer, admin, PER_PRODUCT)
            for pid in pids:
                if pid not in by_id:
                    continue
                found_products.append(
                    FoundProduct(
                        by_id[pid],
                        await self._sessions(who, featuring.get(pid, [])),
                        await self._content.access.readable_ids(who, clipped.get(pid, [])),
                    )
                )
        shows: list[LiveSession] = []
        if kind.includes(SearchKind.SHOWS):
            shows = await self._sessions(who, await self._store.shows(match, viewer, admin, limit))
        creators: list[User] = []
        if kind.includes(SearchKind.CREATORS):
            uids = await self._store.creators(match, limit)
            users = await self._users.by_ids(uids)
            creators = [users[u] for u in uids if u in users]
        host_ids = {s.host_id for s in shows} | {
            s.host_id for fp in found_products for s in fp.shows
        }
        hosts = await self._users.by_ids(sorted(host_ids))
        tagged = await self._tagged([c for fp in found_products for c in fp.clips])
        return SearchResults(query.terms, found_products, shows, creators, hosts, tagged)

    async def _tagged(self, clips: list[Clip]) -> dict[int, Product]:
        return await self._products.by_ids(sorted({p for c in clips for p in c.product_ids}))

    async def creator_page(self, who: Principal | None, user_id: int) -> CreatorPage:
        """A creator's page; 404 for a user who is not a creator (or does not exist)."""
        creator = await self._users.get(user_id)
        if creator is None or not await self._store.is_creator(user_id):
            raise NotFound("There is no creator page here.", code="creator_not_found")
        viewer, admin = _ids(who)
        hosted = await self._shows.sessions.list_by_host(user_id, limit=200)
        sessions = await self._sessions(who, [s.id for s in hosted])
        live = [s for s in sessions if s.is_live]
        upcoming = sorted(
            (s for s in sessions if s.state is SessionState.SCHEDULED), key=lambda s: s.starts_at
        )[:PAGE_SHOWS]
        replays = sorted(
            (s for s in sessions if s.state is SessionState.ENDED),
            key=lambda s: s.ended_at or s.starts_at,
            reverse=True,
        )[:PAGE_SHOWS]
        clip_ids = await self._store.clips_by_host(user_id, viewer, admin, PAGE_CLIPS)
        following = who is not None and await self._content.social.is_following(
            who.user_id, user_id
        )
        clips = await self._content.access.readable_ids(who, clip_ids)
        return CreatorPage(
            creator,
            await self._content.social.followers(user_id),
            following,
            live,
            upcoming,
            replays,
            clips,
            await self._tagged(clips),
        )
