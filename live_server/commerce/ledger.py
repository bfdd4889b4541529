"""Attribution of orders to creators, commission rates and the creator ledger."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, Final, TypeVar

from live_server.commerce.analytics.store import AnalyticsRepository, CreatorLookup
from live_server.commerce.rules.attribution import (
    Attribution,
    credited,
    missing_source_message,
    percent,
    validate_rate_bp,
)
from live_server.commerce.rules.basics import Source
from live_server.platform.errors import Forbidden, Invalid, NotFound
from live_server.platform.identity import Principal
from live_server.platform.timefmt import iso
from live_server.shows.clock import MediaClock
from live_server.shows.service import LiveSessionService

logger = logging.getLogger(__name__)

T = TypeVar("T")

_CACHE_S = 5.0
_CLOCK_REUSE_S = 1.0

#: The creator behind a source and the products it showed (line-up or tags).
_SourceFacts = tuple[int | None, frozenset[int]]
DIRECT_ATTRIBUTION: Final = Attribution("direct", None, None)


class AttributionResolver:
    """Turns an order's source into (source, creator, session, media time).

    The buyer names the source, so it is believed only when the source showed what is bought
    (`credited`: the show's line-up, the clip's or the post's tags); otherwise the order is
    direct. The creator and products behind a source change rarely, so they are cached for a
    few seconds: a flash-sale burst of a thousand orders costs one lookup, not a thousand.
    """

    def __init__(
        self,
        sessions: LiveSessionService,
        media_clock: MediaClock | None,
        creators: CreatorLookup,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._media_clock = media_clock
        self._creators = creators
        self._clock = clock
        self._cache: dict[tuple[str, int], tuple[_SourceFacts, float]] = {}
        self._offsets: dict[int, tuple[float | None, float]] = {}
        self._inflight: dict[Hashable, asyncio.Future[Any]] = {}

    async def resolve(self, source: Source, product_ids: Iterable[int]) -> Attribution:
        """Who earns on an order of `product_ids` from `source`: direct (nobody) unless the
        source showed every one of them. A source that does not exist is refused (422
        `invalid_source`): a live show that doesn't exist, a show without a processed
        replay, a clip or post that doesn't exist (or was deleted)."""
        if source.id is None or source.type == "direct":
            return DIRECT_ATTRIBUTION
        creator, shown = await self._facts(source.type, source.id)
        if creator is None:
            raise Invalid(missing_source_message(source.type), code="invalid_source")
        if not credited(product_ids, shown):
            return DIRECT_ATTRIBUTION
        if source.type == "replay":  # the show's own: its analytics, no media time
            return Attribution("replay", source.id, creator, session_id=source.id)
        if source.type != "live":
            return Attribution(source.type, source.id, creator)
        media_time = await self._media_time(source.id)
        return Attribution("live", source.id, creator, session_id=source.id, media_time=media_time)

    async def _media_time(self, session_id: int) -> float | None:
        """The session's media time now. Media time runs at wall speed, so the clock is asked
        once a second and the offset reused in between (a burst costs one lookup)."""
        now = self._clock()
        cached = self._offsets.get(session_id)
        if cached is not None and now - cached[1] < _CLOCK_REUSE_S:
            return None if cached[0] is None else round(cached[0] + now, 3)
        media_time = await self._once(("clock", session_id), lambda: self._ask_clock(session_id))
        if len(self._offsets) > 10_000:
            self._offsets.clear()
        now = self._clock()
        self._offsets[session_id] = (None if media_time is None else media_time - now, now)
        return media_time

    async def _facts(self, kind: str, source_id: int) -> _SourceFacts:
        key = (kind, source_id)
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None and now - cached[1] < _CACHE_S:
            return cached[0]
        facts = await self._once(key, lambda: self._lookup(kind, source_id))
        if len(self._cache) > 10_000:
            self._cache.clear()
        if facts[0] is not None:  # a missing source may appear (a replay made) any moment
            self._cache[key] = (facts, now)
        return facts

    async def _lookup(self, kind: str, source_id: int) -> _SourceFacts:
        """(creator, products shown) of a clip, a post, a replay or a live session."""
        if kind != "live":
            creator = await self._creators.creator_of(kind, source_id)
            if creator is None:  # no such clip, post or replay: refused by resolve
                return None, frozenset()
            return creator, await self._creators.products_of(kind, source_id)
        try:
            host_id = (await self._sessions.get(source_id)).host_id
        except NotFound:
            raise Invalid("That show can no longer be found.", code="invalid_source") from None
        return host_id, await self._creators.with_variants(
            await self._sessions.product_ids(source_id)
        )

    async def _ask_clock(self, session_id: int) -> float | None:
        if self._media_clock is None:
            return None
        try:
            return await self._media_clock.media_time(session_id)
        except Exception:  # the media clock is another area's; never fail a sale on it
            logger.exception("media clock failed for session %d", session_id)
            return None

    async def _once(self, key: Hashable, fetch: Callable[[], Awaitable[T]]) -> T:
        """One lookup at a time per key: a burst of buyers waits for the same answer."""
        pending = self._inflight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(fetch())
            self._inflight[key] = pending
            pending.add_done_callback(lambda _: self._inflight.pop(key, None))
        result: T = await asyncio.shield(pending)
        return result


class LedgerService:
    """Commission rates per creator and the ledger of their attributed sales."""

    def __init__(
        self,
        repo: AnalyticsRepository,
        default_rate_bp: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._repo = repo
        self._default = validate_rate_bp(default_rate_bp)
        self._clock = clock
        self._rates: dict[int, tuple[int, float]] = {}

    async def rate_for(self, creator_id: int) -> int:
        """The creator's commission rate in basis points (cached for a few seconds)."""
        now = time.monotonic()
        cached = self._rates.get(creator_id)
        if cached is not None and now - cached[1] < _CACHE_S:
            return cached[0]
        own = await self._repo.commission_rate(creator_id)
        rate = self._default if own is None else own
        self._rates[creator_id] = (rate, now)
        return rate

    async def set_rate(self, who: Principal, creator_id: int, raw: object) -> dict[str, Any]:
        """Admins set a creator's rate; it applies to orders placed afterwards."""
        if not who.is_admin:
            raise Forbidden("only an admin can set commission rates")
        try:
            rate = validate_rate_bp(raw)
        except ValueError as exc:
            raise Invalid(str(exc), code="invalid_rate_bp") from None
        await self._repo.set_commission_rate(creator_id, rate, who.user_id, self._clock())
        self._rates.pop(creator_id, None)
        logger.info(
            "commission rate of creator %d set to %d bp by %d", creator_id, rate, who.user_id
        )
        return {"creator_id": creator_id, "rate_bp": rate, "rate_percent": percent(rate)}

    async def ledger(
        self, who: Principal, creator_id: int, *, limit: int = 100, before: float | None = None
    ) -> dict[str, Any]:
        """A creator's attributed sales and commission (the creator themself or an admin)."""
        if who.user_id != creator_id and not who.is_admin:
            raise Forbidden("a ledger is visible to its creator and to admins")
        rate = await self.rate_for(creator_id)
        totals: dict[str, dict[str, Any]] = {}
        for row in await self._repo.ledger_totals(creator_id):
            slot = totals.setdefault(
                row["currency"],
                {
                    "currency": row["currency"],
                    "orders": 0,
                    "gross_minor": 0,
                    "commission_minor": 0,
                    "pending_orders": 0,
                    "pending_gross_minor": 0,
                    "pending_commission_minor": 0,
                },
            )
            prefix = "pending_" if row["state"] == "pending" else ""
            slot[prefix + "orders"] += int(row["orders"])
            slot[prefix + "gross_minor"] += int(row["gross_minor"] or 0)
            slot[prefix + "commission_minor"] += int(row["commission_minor"] or 0)
        by_source = [
            {
                "source_type": r["source_type"],
                "currency": r["currency"],
                "orders": int(r["orders"]),
                "gross_minor": int(r["gross_minor"] or 0),
                "commission_minor": int(r["commission_minor"] or 0),
            }
            for r in await self._repo.ledger_by_source(creator_id)
        ]
        entries = [
            {
                "order_id": r["id"],
                "created_at": iso(r["created_at"], "auto"),
                "status": r["status"],
                "source": {"type": r["source_type"], "id": r["source_id"]},
                "session_id": r["session_id"],
                "media_time": r["media_time"],
                "total_minor": r["total_minor"],
                "refunded_minor": r["refunded_minor"],
                "currency": r["currency"],
                "commission_rate_bp": r["commission_rate_bp"],
                "commission_minor": r["commission_minor"],
            }
            for r in await self._repo.ledger_entries(creator_id, limit, before)
        ]
        return {
            "creator_id": creator_id,
            "rate_bp": rate,
            "rate_percent": percent(rate),
            "totals": sorted(totals.values(), key=lambda t: str(t["currency"])),
            "by_source": by_source,
            "entries": entries,
        }
