"""The replay page's data: the video, chapters (pins) with their products, chat at media
times, the show's clips, and whether the reader may cut clips by hand."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from live_server.catalog import Product, ProductRepository
from live_server.content.access import ContentAccess
from live_server.content.clips.rules import Clip, Replay
from live_server.content.clips.store import ClipRepository
from live_server.platform.identity import Principal
from live_server.shows import LiveSessionService


@dataclass(frozen=True, slots=True)
class ReplayBundle:
    """What the replay page needs: the video, chapters (pins), chat at media times, clips."""

    session_id: int
    replay: Replay | None
    chapters: list[dict[str, Any]]
    chat: list[dict[str, Any]]
    clips: list[Clip]
    #: The chapters' products by id (a deleted product is simply missing).
    products: dict[int, Product]
    #: The reader is the host, a moderator or an admin: may cut clips by hand.
    can_cut: bool
    #: No processed replay yet, but the show's LL-HLS segments play meanwhile.
    instant_replay: bool = False


#: Whether a finished show's LL-HLS segments are on this node (the LL-HLS tier answers).
InstantReplayCheck = Callable[[int], Awaitable[bool]]


class ReplayService:
    """Reads a finished show's replay bundle, checking the show's visibility."""

    def __init__(
        self,
        clips: ClipRepository,
        sessions: LiveSessionService,
        products: ProductRepository,
        access: ContentAccess,
    ) -> None:
        self._access = access
        self._clips = clips
        self._sessions = sessions
        self._products = products
        self._instant: InstantReplayCheck | None = None

    def offer_instant_replay(self, check: InstantReplayCheck) -> None:
        """The composition root wires the LL-HLS tier in: until a replay is processed, the
        bundle says whether the show's segments can play instead."""
        self._instant = check

    async def bundle(self, who: Principal | None, session_id: int) -> ReplayBundle:
        """A session's replay data (private sessions: host, moderators, admins only)."""
        session = await self._access.session(who, session_id)
        can_moderate = await self._sessions.can_moderate(who, session_id)
        replay = await self._clips.replay(session_id)
        chapters = await self._clips.pin_rows(session_id)
        product_ids = sorted({int(c["product_id"]) for c in chapters})
        instant = replay is None and self._instant is not None and await self._instant(session_id)
        return ReplayBundle(
            session_id,
            None if replay is None else self._access.replay_links(session, replay),
            chapters,
            await self._clips.chat(session_id),
            [
                self._access.clip_links(session, c)
                for c in await self._clips.for_session(session_id)
            ],
            await self._products.by_ids(product_ids),
            can_moderate,
            instant,
        )
