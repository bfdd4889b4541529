"""What the room services share: their stores, the local membership and common lookups."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from live_server.catalog.rules import Product
from live_server.catalog.store import ProductRepository
from live_server.catalog.variants import options_of
from live_server.platform.audience import audience_key
from live_server.platform.errors import NotFound
from live_server.platform.identity import Principal
from live_server.platform.timefmt import iso
from live_server.room.chat_writer import ChatWriter
from live_server.room.extensions import RoomBroadcaster, TickContributor, VideoWatchers
from live_server.room.live_state import LiveState
from live_server.room.rules.chat import ChatMessage
from live_server.room.rules.moderation import RoomConfig, can_moderate
from live_server.room.rules.presence import Audience, tier_of
from live_server.room.stores.chat import ChatRepository
from live_server.room.stores.moderation import ModerationRepository
from live_server.room.stores.pins import PinRepository
from live_server.room.stores.stats import RoomStatsRepository
from live_server.shows.clock import MediaClock
from live_server.shows.rules import LiveSession
from live_server.shows.service import LiveSessionService

logger = logging.getLogger(__name__)

#: How long the host and moderator ids behind the video count are reused.
STAFF_CACHE_S = 10.0


@dataclass(frozen=True)
class RoomLimits:
    """Tunable limits of the room (from Settings)."""

    chat_max_len: int = 500
    chat_rate: float = 1.0
    chat_burst: float = 3.0
    # All events of one socket, a guard against floods (chat has its own limit above).
    events_rate: float = 30.0
    events_burst: float = 60.0
    tick_hz: float = 5.0
    sessions_per_socket: int = 4


@dataclass
class Member:
    """One socket on this node: who it is and which rooms it joined (id -> is moderator)."""

    sid: str
    principal: Principal | None
    joined: dict[int, bool] = field(default_factory=dict)
    name: str | None = None  # display name, looked up on the first chat message
    tiers: dict[int, str] = field(default_factory=dict)  # room -> the video tier it watches
    device: str | None = None  # an anonymous page's device key (handshake auth.viewer_key)

    @property
    def viewer_key(self) -> str:
        """Identifies a viewer for counting (`platform.audience`): the user, else the
        anonymous device the page named, else the socket alone."""
        key = audience_key(self.principal.user_id if self.principal else None, self.device)
        return key if key is not None else f"a:{self.sid}"


class Membership:
    """Sockets connected to this node and the rooms they are in.

    Viewer counts are kept up to date on every join and leave (a room of thousands is
    never scanned per join): per room, viewer key -> number of its sockets, host and
    moderators left out. Per video tier the same way: per room, viewer key -> its sockets
    per tier, and the number of viewers counted in each tier (`presence.tier_of`).
    """

    def __init__(self) -> None:
        self.members: dict[str, Member] = {}
        self.rooms: dict[int, set[str]] = {}
        self._viewers: dict[int, Counter[str]] = {}
        self._viewer_tiers: dict[int, dict[str, Counter[str]]] = {}
        self._tier_counts: dict[int, Counter[str]] = {}

    def add_member(
        self, sid: str, principal: Principal | None, device: str | None = None
    ) -> Member:
        """Registers a connected socket (`device`: an anonymous page's device key)."""
        member = Member(sid, principal, device=device)
        self.members[sid] = member
        return member

    def join(self, member: Member, session_id: int, is_moderator: bool) -> None:
        """Records that a socket joined a room (joined again: its tier is kept)."""
        tier = member.tiers.get(session_id)
        if session_id in member.joined:
            self.leave(member, session_id)
        member.joined[session_id] = is_moderator
        self.rooms.setdefault(session_id, set()).add(member.sid)
        if not is_moderator:
            self._viewers.setdefault(session_id, Counter())[member.viewer_key] += 1
        if tier is not None:
            self.set_tier(member, session_id, tier)

    def leave(self, member: Member, session_id: int) -> None:
        """Records that a socket left a room."""
        if session_id not in member.joined:
            return
        self.set_tier(member, session_id, None)
        was_moderator = member.joined.pop(session_id)
        sids = self.rooms.get(session_id)
        if sids is not None:
            sids.discard(member.sid)
            if not sids:
                del self.rooms[session_id]
        viewers = self._viewers.get(session_id)
        if not was_moderator and viewers is not None:
            viewers[member.viewer_key] -= 1
            if viewers[member.viewer_key] <= 0:
                del viewers[member.viewer_key]
            if not viewers:
                del self._viewers[session_id]

    def viewer_count(self, session_id: int) -> int:
        """Distinct viewers of a room on this node."""
        return len(self._viewers.get(session_id, ()))

    def viewer_keys(self, session_id: int) -> set[str]:
        """Distinct viewers of a room on this node (its host and moderators not counted)."""
        return set(self._viewers.get(session_id, ()))

    def set_tier(self, member: Member, session_id: int, tier: str | None) -> None:
        """Records the video tier a joined socket watches on (None: it stopped saying)."""
        if session_id not in member.joined:
            return
        old = member.tiers.pop(session_id, None)
        if tier is not None:
            member.tiers[session_id] = tier
        if old == tier or member.joined[session_id]:  # the host and moderators: not counted
            return
        per_viewer = self._viewer_tiers.setdefault(session_id, {})
        sockets = per_viewer.setdefault(member.viewer_key, Counter())
        before = tier_of(sockets)
        if old is not None:
            sockets[old] -= 1
            if sockets[old] <= 0:
                del sockets[old]
        if tier is not None:
            sockets[tier] += 1
        after = tier_of(sockets)
        if not sockets:
            del per_viewer[member.viewer_key]
            if not per_viewer:
                del self._viewer_tiers[session_id]
        if before == after:
            return
        counts = self._tier_counts.setdefault(session_id, Counter())
        if before is not None:
            counts[before] -= 1
        if after is not None:
            counts[after] += 1
        if not +counts:
            del self._tier_counts[session_id]

    def audience(self, session_id: int, video: Collection[str] = ()) -> Audience:
        """Distinct viewers of a room on this node, in all and per tier: its viewer sockets
        and `video`, the audience keys of its WebRTC viewers here (staff left out). A key
        with both counts once; a video connection puts its viewer in the webrtc tier."""
        tiers = self._tier_counts.get(session_id, Counter())
        total, webrtc, hls = self.viewer_count(session_id), tiers["webrtc"], tiers["hls"]
        sockets = self._viewers.get(session_id, Counter())
        per_viewer = self._viewer_tiers.get(session_id, {})
        for key in video:
            if key not in sockets:
                total, webrtc = total + 1, webrtc + 1
                continue
            tier = tier_of(per_viewer.get(key, {}))
            if tier != "webrtc":
                webrtc += 1
                if tier == "hls":
                    hls -= 1
        return Audience(total, webrtc, hls)


def message_payload(message: ChatMessage, client_id: str | None = None) -> dict[str, Any]:
    """The JSON shape of a chat message."""
    data: dict[str, Any] = {
        "id": message.id,
        "session_id": message.session_id,
        "user": {"id": message.user_id, "name": message.author},
        "text": message.text,
        "created_at": iso(message.created_at, "milliseconds"),
        "media_time": message.media_time,
    }
    if client_id is not None:
        data["client_id"] = client_id
    return data


def config_payload(config: RoomConfig) -> dict[str, Any]:
    """Room settings as every viewer sees them (blocked words are for moderators only)."""
    return {
        "slow_mode_seconds": config.slow_mode_seconds,
        "allow_anonymous": config.allow_anonymous,
    }


def card_payload(product: Product, pinned_media_time: float | None) -> dict[str, Any]:
    """A pinned product card with the product's live price and stock."""
    return {
        "product_id": product.id,
        "title": product.title,
        "image": product.images[0] if product.images else None,
        "price_minor": product.price_minor,
        "currency": product.currency,
        "stock": product.available,
        "pinned_media_time": pinned_media_time,
        # a listing with sizes or colours: the viewer picks one (its id is what is bought)
        "options": [
            {"name": name, "values": values}
            for name, values in options_of(v.option_values for v in product.variants)
        ],
        "variants": [
            {
                "product_id": v.id,
                "label": v.option_label,
                "option_values": dict(v.option_values),
                "price_minor": v.price_minor,
                "image": v.images[0] if v.images else None,
                "stock": v.stock,
            }
            for v in product.variants
        ],
    }


def roll_up_variants(card: dict[str, Any]) -> None:
    """A card with variants is sold out when every variant is, and counts their units."""
    variants = card.get("variants") or []
    if not variants:
        return
    left = [v.get("units_left") for v in variants]
    if all(isinstance(n, int) for n in left):
        card["units_left"] = sum(left)
    card["sold_out"] = all(v.get("sold_out") for v in variants)


class RoomContext:
    """Stores, shared state and lookups used by the chat, moderation and ticker services."""

    def __init__(
        self,
        *,
        sessions: LiveSessionService,
        products: ProductRepository,
        chat: ChatRepository,
        pins: PinRepository,
        moderation: ModerationRepository,
        stats: RoomStatsRepository,
        state: LiveState,
        clock: MediaClock,
        broadcaster: RoomBroadcaster,
        limits: RoomLimits | None = None,
        video: VideoWatchers | None = None,
    ) -> None:
        self.sessions = sessions
        self.products = products
        self.chat = chat
        self.pins = pins
        self.moderation = moderation
        self.stats = stats
        self.state = state
        self.clock = clock
        self.broadcaster = broadcaster
        self.limits = limits or RoomLimits()
        self.video = video
        self.membership = Membership()
        self._staff: dict[int, tuple[frozenset[str], float]] = {}
        self.contributors: list[TickContributor] = []
        self.chat_writer = ChatWriter(chat)
        self._chat_floor: int | None = None
        self._media_times: dict[int, tuple[float | None, float]] = {}
        self._media_time_reads: dict[int, asyncio.Task[float | None]] = {}

    async def session(self, session_id: int) -> LiveSession:
        """The session, or NotFound."""
        return await self.sessions.get(session_id)

    async def is_moderator(self, principal: Principal | None, session: LiveSession) -> bool:
        """Host, session moderator or admin (read fresh from the database)."""
        if principal is None:
            return False
        if principal.is_admin or principal.user_id == session.host_id:
            return True
        return can_moderate(
            principal, session.host_id, await self.sessions.moderator_ids(session.id)
        )

    async def video_viewers(self, session_id: int) -> set[str]:
        """Audience keys of the show's WebRTC viewers on this node, its host and moderators
        left out (as their sockets are): one half of "watching" (docs/realtime.md)."""
        keys = self.video.viewer_keys(session_id) if self.video is not None else set()
        if keys:
            keys -= await self._staff_keys(session_id)
        return keys

    async def _staff_keys(self, session_id: int) -> frozenset[str]:
        """`u:` keys of the host and moderators, read at most every few seconds (and again
        at once after ModeratorsChanged, `forget_staff`)."""
        now = time.monotonic()
        cached = self._staff.get(session_id)
        if cached is not None and now - cached[1] < STAFF_CACHE_S:
            return cached[0]
        try:
            session = await self.sessions.get(session_id)
            ids = {session.host_id, *await self.sessions.moderator_ids(session_id)}
        except NotFound:
            ids = set()
        keys = frozenset(f"u:{i}" for i in ids)
        if len(self._staff) > 10_000:
            self._staff.clear()
        self._staff[session_id] = (keys, now)
        return keys

    def forget_staff(self, session_id: int) -> None:
        """The show's moderators changed: read them again on the next count."""
        self._staff.pop(session_id, None)

    async def config(self, session_id: int) -> RoomConfig:
        """The room's settings from shared state, loaded from the database on first use."""
        config = await self.state.get_config(session_id)
        if config is None:
            config = await self.moderation.config(session_id)
            await self.state.set_config(session_id, config)
        return config

    async def pinned_ids(self, session_id: int) -> list[int]:
        """Pinned product ids from shared state, loaded from the database on first use."""
        ids = await self.state.get_pins(session_id)
        if ids is None:
            ids = [p.product_id for p in await self.pins.active(session_id)]
            await self.state.set_pins(session_id, ids)
        return ids

    async def media_time(self, session_id: int) -> float | None:
        """The session's media time (None when it is not live). The one place it is read.

        The clock is asked at most once a second per session; in between, the answer is
        extrapolated with the monotonic clock (media time runs at wall-clock speed), so the
        chat path does not wait for the clock's own lookups.
        """
        now = time.monotonic()
        cached = self._media_times.get(session_id)
        if cached is None:
            return await self._read_media_time(session_id)
        value, at = cached
        if now - at >= 1.0 and session_id not in self._media_time_reads:
            # Stale: refresh in the background rather than make this caller (a chat
            # message on its way to the room) wait for the clock's database read.
            task = asyncio.create_task(self._read_media_time(session_id), name="media-time")
            self._media_time_reads[session_id] = task
            task.add_done_callback(lambda t: self._forget_read(session_id, t))
        return None if value is None else value + (now - at)

    def _forget_read(self, session_id: int, task: asyncio.Task[float | None]) -> None:
        if self._media_time_reads.get(session_id) is task:
            del self._media_time_reads[session_id]

    async def _read_media_time(self, session_id: int) -> float | None:
        try:
            value = await self.clock.media_time(session_id)
        except Exception:  # a broken clock must not stop chat
            logger.exception("session %d: media clock failed", session_id)
            value = None
        self._media_times[session_id] = (value, time.monotonic())
        return value

    def forget_media_time(self, session_id: int) -> None:
        """Drops the cached media time (the session changed state)."""
        self._media_times.pop(session_id, None)
        task = self._media_time_reads.pop(session_id, None)
        if task is not None:
            task.cancel()  # it may hold the old state's answer

    async def next_message_id(self) -> int:
        """A chat message id, unique over nodes (see ChatWriter)."""
        if self._chat_floor is None:
            self._chat_floor = await self.chat.max_id()
        value = await self.state.next_id("chat", self._chat_floor)
        # If the shared counter is ever lost (Redis restarted), it is re-seeded above
        # every id this node handed out.
        self._chat_floor = max(self._chat_floor, value)
        return value

    async def cards(self, session_id: int) -> list[dict[str, Any]]:
        """The pinned cards with live price and stock, plus every contributor's extras."""
        ids = await self.pinned_ids(session_id)
        if not ids:
            return []
        products = await self.products.by_ids(ids)
        pins = {p.product_id: p for p in await self.pins.active(session_id)}
        cards: list[dict[str, Any]] = []
        for pid in ids:
            product = products.get(pid)
            if product is None:
                continue
            pin = pins.get(pid)
            cards.append(card_payload(product, pin.pinned_media_time if pin else None))
        # contributors are asked about each card and each of its variants
        asked = [c["product_id"] for c in cards] + [
            v["product_id"] for c in cards for v in c["variants"]
        ]
        for contributor in self.contributors:
            try:
                extras = await contributor.card_extras(session_id, asked)
            except Exception:
                logger.exception(
                    "session %d: card_extras of %s failed", session_id, contributor.name
                )
                continue
            for card in cards:
                card.update(extras.get(card["product_id"], {}))
                for variant in card["variants"]:
                    variant.update(extras.get(variant["product_id"], {}))
        for card in cards:
            roll_up_variants(card)
        return cards


def stable_json(data: Any) -> str:
    """A canonical JSON string, to tell whether a payload changed since it was last sent."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
