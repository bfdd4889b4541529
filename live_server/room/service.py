"""The live room: connecting, joining, the join snapshot, chat and reactions.

Moderation and pins are in `room_moderation`, the periodic tick in `room_ticker`. This
service never talks Socket.IO: it is handed a socket id and a validated payload and
returns the acknowledgement body; it reaches sockets through a `RoomBroadcaster`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from live_server.platform.errors import Forbidden, Unauthorized
from live_server.platform.events import (
    EventBus,
    ModeratorsChanged,
    SessionStateChanged,
    TokensRevoked,
    VisibilityChanged,
)
from live_server.platform.identity import Principal
from live_server.platform.timefmt import iso
from live_server.room import events as ev
from live_server.room.context import (
    Member,
    RoomContext,
    config_payload,
    message_payload,
)
from live_server.room.events import RoomError
from live_server.room.extensions import (
    TickContributor,
    moderators_room,
    session_room,
    user_room,
)
from live_server.room.rules.chat import SNAPSHOT_MESSAGES, ChatMessage, clean_text, retry_after
from live_server.room.rules.moderation import can_moderate, find_blocked_word
from live_server.room.rules.reactions import ReactionAggregator
from live_server.room.ticker import RoomTicker
from live_server.shows.rules import SessionState

logger = logging.getLogger(__name__)


class RoomService:
    """Use cases of viewers in a room. One instance per node."""

    def __init__(
        self,
        ctx: RoomContext,
        ticker: RoomTicker,
        aggregator: ReactionAggregator,
        events: EventBus | None = None,
        contributors: list[TickContributor] | None = None,
        observe_chat_latency: Callable[[float], None] | None = None,
        on_blocked_word: Callable[[int, int, str, str], Awaitable[None]] | None = None,
    ) -> None:
        self.ctx = ctx
        # (session, user, word, text) of a refused message, for the admins' flagged chat
        self._on_blocked_word = on_blocked_word
        # seconds from a chat message's arrival to its broadcast being handed on (metrics)
        self._observe_chat_latency = observe_chat_latency
        self.ticker = ticker
        self._aggregator = aggregator
        for contributor in contributors or []:
            self.add_contributor(contributor)
        if events is not None:
            events.subscribe(SessionStateChanged, self.on_session_state_changed)
            events.subscribe(ModeratorsChanged, self.on_moderators_changed)
            events.subscribe(TokensRevoked, self.on_tokens_revoked)
            # who may see a session changed: its room keeps only those who still may
            events.subscribe(VisibilityChanged, self.drop_members_who_lost_access)
            events.subscribe(ModeratorsChanged, self.drop_members_who_lost_access)

    def add_contributor(self, contributor: TickContributor) -> None:
        """Adds a TickContributor (e.g. commerce) to every tick and pinned card."""
        self.ctx.contributors.append(contributor)

    # -- sockets --------------------------------------------------------------------------
    async def connect(
        self, sid: str, principal: Principal | None, device: str | None = None
    ) -> None:
        """Registers a new socket; signed-in sockets get their user's notification room.
        `device`: an anonymous page's device key, so its video connection counts with it."""
        self.ctx.membership.add_member(sid, principal, device)
        if principal is not None:
            await self.ctx.broadcaster.enter(sid, user_room(principal.user_id))

    async def disconnect(self, sid: str) -> None:
        """Forgets a socket and takes it out of every room it joined."""
        member = self.ctx.membership.members.pop(sid, None)
        if member is None:
            return
        for session_id in list(member.joined):
            await self._leave(member, session_id)

    def member(self, sid: str) -> Member:
        """The registered socket, or Unauthorized if it is not connected."""
        member = self.ctx.membership.members.get(sid)
        if member is None:
            raise Unauthorized("not connected")
        return member

    def _joined(self, sid: str, session_id: int) -> Member:
        member = self.member(sid)
        if session_id not in member.joined:
            raise RoomError("not_joined", "join the session's room first")
        return member

    # -- joining --------------------------------------------------------------------------
    async def join(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """Joins a session's room and returns the snapshot a client starts from."""
        member = self.member(sid)
        session_id: int = data["session_id"]
        principal = member.principal
        # first: a private show is refused to outsiders exactly like a missing one
        session = await self.ctx.sessions.require_visible(principal, session_id)
        config = await self.ctx.config(session_id)
        if principal is None and not config.allow_anonymous:
            raise Unauthorized("sign in to watch this session", code="sign_in_required")
        if principal is not None and await self.ctx.moderation.is_banned(
            session_id, principal.user_id
        ):
            raise RoomError("banned", "you are banned from this session")
        if (
            session_id not in member.joined
            and len(member.joined) >= self.ctx.limits.sessions_per_socket
        ):
            raise RoomError("too_many_rooms", "this connection has joined too many rooms")
        is_mod = await self.ctx.is_moderator(principal, session)
        await self.ctx.broadcaster.enter(sid, session_room(session_id))
        if is_mod:
            await self.ctx.broadcaster.enter(sid, moderators_room(session_id))
        if principal is not None:
            await self.ctx.state.add_socket(session_id, principal.user_id, sid)
        self.ctx.membership.join(member, session_id, is_mod)
        presence = await self.ticker.activate(session_id)
        now = time.time()
        timeout_until = (
            await self.ctx.state.timeout_until(session_id, principal.user_id, now)
            if principal is not None
            else None
        )
        await self.ctx.chat_writer.flush()
        messages = await self.ctx.chat.recent(session_id, SNAPSHOT_MESSAGES)
        totals = await self.ctx.stats.reaction_totals(session_id)
        snapshot: dict[str, Any] = {
            "session": {
                "id": session.id,
                "title": session.title,
                "host_id": session.host_id,
                "state": session.state.value,
            },
            "media_time": await self.ctx.media_time(session_id),
            "messages": [message_payload(m) for m in messages],
            "pins": await self.ctx.cards(session_id),
            "reactions": totals,
            "presence": presence.as_payload(),
            "settings": config_payload(config),
            "me": {
                "user_id": principal.user_id if principal else None,
                "name": principal.username if principal else None,
                "is_moderator": is_mod,
                "can_chat": principal is not None,
                "timeout_until": timeout_until,
            },
        }
        if is_mod:
            snapshot["blocked_words"] = list(config.blocked_words)
        logger.debug("session %d: socket %s joined", session_id, sid)
        return {"ok": True, "snapshot": snapshot}

    async def leave(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """Leaves a session's room."""
        member = self.member(sid)
        await self._leave(member, data["session_id"])
        return {"ok": True}

    async def _leave(self, member: Member, session_id: int) -> None:
        if session_id not in member.joined:
            return
        self.ctx.membership.leave(member, session_id)
        if member.principal is not None:
            await self.ctx.state.remove_socket(session_id, member.principal.user_id, member.sid)
        if member.sid in self.ctx.membership.members:  # still connected: leave the rooms
            await self.ctx.broadcaster.leave(member.sid, session_room(session_id))
            await self.ctx.broadcaster.leave(member.sid, moderators_room(session_id))

    # -- chat -----------------------------------------------------------------------------
    async def send_chat(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """Checks, stores and broadcasts one chat message; refusals go to the sender only."""
        started = time.perf_counter()
        session_id: int = data["session_id"]
        member = self._joined(sid, session_id)
        principal = member.principal
        if principal is None:
            raise Unauthorized("sign in to chat", code="sign_in_required")
        state = self.ctx.state
        limits = self.ctx.limits
        now = time.time()
        if await state.is_banned(session_id, principal.user_id):
            raise RoomError("banned", "you are banned from this session")
        text = clean_text(data["text"], limits.chat_max_len)
        exempt = member.joined[session_id] and await self._still_moderates(member, session_id)
        if not exempt:  # moderators and the host skip these checks
            until = await state.timeout_until(session_id, principal.user_id, now)
            if until is not None:
                raise RoomError(
                    "timed_out", "you are timed out", retry_after=retry_after(until - now)
                )
            config = await self.ctx.config(session_id)
            word = find_blocked_word(text, config.blocked_words)
            if word is not None:
                if self._on_blocked_word is not None:
                    await self._on_blocked_word(session_id, principal.user_id, word, text)
                raise RoomError("blocked_word", f"your message contains a blocked word: {word}")
            wait = await state.take_token(
                f"chat:{session_id}:{principal.user_id}", now, limits.chat_rate, limits.chat_burst
            )
            if wait > 0:
                raise RoomError(
                    "rate_limited",
                    "you are sending messages too fast",
                    retry_after=retry_after(wait),
                )
            if config.slow_mode_seconds > 0:
                wait = await state.claim_slow_mode(
                    session_id, principal.user_id, config.slow_mode_seconds, now
                )
                if wait > 0:
                    raise RoomError(
                        "slow_mode",
                        f"slow mode: one message every {config.slow_mode_seconds} s",
                        retry_after=retry_after(wait),
                    )
        if member.name is None:
            member.name = await self.ctx.chat.author_name(principal.user_id)
        message = ChatMessage(
            id=await self.ctx.next_message_id(),
            session_id=session_id,
            user_id=principal.user_id,
            author=member.name,
            text=text,
            created_at=time.time(),
            media_time=await self.ctx.media_time(session_id),
        )
        self.ctx.chat_writer.add(message)
        payload = message_payload(message, data.get("client_id"))
        await self.ctx.broadcaster.emit(ev.CHAT_MESSAGE, payload, room=session_room(session_id))
        self.ticker.count_chat(session_id)
        if self._observe_chat_latency is not None:
            self._observe_chat_latency(time.perf_counter() - started)
        return {"ok": True, "message": payload}

    async def _still_moderates(self, member: Member, session_id: int) -> bool:
        """The role cached at join, read again before it exempts a message: this node hears
        ModeratorsChanged, but not a list changed through another node (Redis setups)."""
        session = await self.ctx.session(session_id)
        if await self.ctx.is_moderator(member.principal, session):
            return True
        await self._set_role(member, session_id, False)
        return False

    async def _set_role(self, member: Member, session_id: int, is_moderator: bool) -> None:
        """Moves a joined member between viewer and moderator: counts, channel, exemptions."""
        if member.joined.get(session_id, is_moderator) == is_moderator:
            return
        self.ctx.membership.join(member, session_id, is_moderator)  # re-counts the viewers
        if is_moderator:
            await self.ctx.broadcaster.enter(member.sid, moderators_room(session_id))
        else:
            await self.ctx.broadcaster.leave(member.sid, moderators_room(session_id))
        logger.info(
            "session %d: socket %s is now a %s",
            session_id,
            member.sid,
            "moderator" if is_moderator else "viewer",
        )

    # -- reactions ------------------------------------------------------------------------
    async def react(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """Counts reaction taps; they go out aggregated with the room's next tick."""
        session_id: int = data["session_id"]
        self._joined(sid, session_id)
        self._aggregator.add(session_id, data["kind"], data.get("count", 1))
        return {"ok": True}

    # -- presence -------------------------------------------------------------------------
    async def watch_tier(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """Records the video tier a member's page plays ("webrtc" or "hls"); presence counts
        it from the next publication (at most a second later)."""
        session_id: int = data["session_id"]
        member = self._joined(sid, session_id)
        self.ctx.membership.set_tier(member, session_id, data["tier"])
        return {"ok": True}

    async def presence(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """The room's current presence, for a member that wants it now rather than with the
        next change (the studio's panel, whose join snapshot is someone else's)."""
        session_id: int = data["session_id"]
        self._joined(sid, session_id)
        presence = await self.ticker.activate(session_id)
        return {"ok": True, "presence": presence.as_payload()}

    # -- reading (REST) -------------------------------------------------------------------
    async def chat_history(
        self, who: Principal | None, session_id: int, after_id: int, limit: int
    ) -> list[dict[str, Any]]:
        """Visible chat of a session, oldest first, for replays and outside clients."""
        await self.ctx.sessions.require_visible(who, session_id)
        await self.ctx.chat_writer.flush()
        messages = await self.ctx.chat.page(session_id, after_id, limit)
        return [message_payload(m) for m in messages]

    async def pin_history(self, who: Principal | None, session_id: int) -> list[dict[str, Any]]:
        """Every pin of a session with its media times (what the clips work cuts from)."""
        await self.ctx.sessions.require_visible(who, session_id)
        return [
            {
                "id": p.id,
                "product_id": p.product_id,
                "pinned_by": p.pinned_by,
                "pinned_media_time": p.pinned_media_time,
                "unpinned_media_time": p.unpinned_media_time,
                "created_at": iso(p.created_at, "milliseconds"),
            }
            for p in await self.ctx.pins.history(session_id)
        ]

    async def audience(self, who: Principal, session_id: int) -> dict[str, Any]:
        """Audience and engagement of a session, for its host, moderators and admins."""
        session = await self.ctx.sessions.require_visible(who, session_id)
        if not await self.ctx.is_moderator(who, session):
            raise Forbidden("only the host and this session's moderators may see its stats")
        stats = self.ctx.stats
        summary = await stats.audience(session_id)
        return {
            "session_id": session_id,
            "peak_viewers": summary.peak_viewers,
            "average_viewers": round(summary.average_viewers, 2),
            "unique_viewers": summary.unique_viewers,
            "watch_seconds": round(summary.watch_seconds, 1),
            "reactions": await stats.reaction_totals(session_id),
            "chat_messages": await self.ctx.chat.count(session_id),
            "minutes": [
                {
                    "minute": iso(m.minute, "milliseconds"),
                    "viewers_max": m.viewers_max,
                    "reactions": m.reactions,
                    "chat_messages": m.chat_messages,
                }
                for m in await stats.minutes(session_id)
            ],
        }

    # -- pushing from other areas ---------------------------------------------------------
    async def emit_to_room(self, session_id: int, event: str, payload: Any) -> None:
        """Sends an event to everyone in a session's room (on every node)."""
        await self.ctx.broadcaster.emit(event, payload, room=session_room(session_id))

    async def emit_to_moderators(self, session_id: int, event: str, payload: Any) -> None:
        """Sends an event to the session's host and moderators only."""
        await self.ctx.broadcaster.emit(event, payload, room=moderators_room(session_id))

    async def emit_to_user(self, user_id: int, event: str, payload: Any) -> None:
        """Sends an event to every socket of one user (e.g. order or clip notifications)."""
        await self.ctx.broadcaster.emit(event, payload, room=user_room(user_id))

    async def on_moderators_changed(self, event: ModeratorsChanged) -> None:
        """Gives this node's members of the room the role the new moderator list gives them,
        without a rejoin (a removed moderator loses the chat exemptions at once)."""
        session_id = event.session_id
        self.ctx.forget_staff(session_id)
        if not self.ctx.membership.rooms.get(session_id):
            return
        session = await self.ctx.session(session_id)
        moderator_ids = await self.ctx.sessions.moderator_ids(session_id)
        for sid in list(self.ctx.membership.rooms.get(session_id, ())):
            member = self.ctx.membership.members.get(sid)
            if member is None or session_id not in member.joined:
                continue  # left while the list was read
            is_mod = can_moderate(member.principal, session.host_id, moderator_ids)
            await self._set_role(member, session_id, is_mod)

    async def on_tokens_revoked(self, event: TokensRevoked) -> None:
        """Disconnects this node's sockets signed in as the user: they were admitted with a
        token that no longer works (a reconnect has to show a current one)."""
        for sid, member in list(self.ctx.membership.members.items()):
            if member.principal is not None and member.principal.user_id == event.user_id:
                await self.ctx.broadcaster.disconnect(sid)

    async def drop_members_who_lost_access(
        self, event: VisibilityChanged | ModeratorsChanged
    ) -> None:
        """The session turned private, or lost a moderator: this node's members of its room
        who may no longer see it leave the room (no more of its events reach them; joining
        again answers what a missing session answers)."""
        session_id = event.session_id
        if not self.ctx.membership.rooms.get(session_id):
            return
        session = await self.ctx.session(session_id)
        for sid in list(self.ctx.membership.rooms.get(session_id, ())):
            member = self.ctx.membership.members.get(sid)
            if member is None or session_id not in member.joined:
                continue
            if not await self.ctx.sessions.can_view(member.principal, session):
                await self._leave(member, session_id)
                logger.info("session %d: socket %s left: may no longer see it", session_id, sid)

    async def on_session_state_changed(self, event: SessionStateChanged) -> None:
        """Broadcasts a session's new state; closes its open pins when it ends."""
        self.ctx.forget_media_time(event.session_id)
        media_time = await self.ctx.media_time(event.session_id)
        if event.new == SessionState.ENDED.value:
            session = await self.ctx.session(event.session_id)
            end_time = media_time
            if end_time is None and session.went_live_at and session.ended_at:
                end_time = max(0.0, session.ended_at - session.went_live_at)
            await self.ctx.pins.unpin_all(event.session_id, end_time or 0.0)
            await self.ctx.state.set_pins(event.session_id, [])
        await self.emit_to_room(
            event.session_id,
            ev.ROOM_STATE,
            {"session_id": event.session_id, "state": event.new, "media_time": media_time},
        )
