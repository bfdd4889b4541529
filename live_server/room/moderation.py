"""Moderation and pins: what a session's host, its moderators and admins may do in the room.

Every action checks the actor's right on that session first (anyone else gets
'forbidden' and nothing changes), is written to SQLite and to the shared live state (so
every node enforces it at once), lands in the moderation log and is announced.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from live_server.platform.errors import Forbidden, NotFound, Unauthorized
from live_server.platform.identity import Principal
from live_server.platform.timefmt import iso
from live_server.room import events as ev
from live_server.room.ban_list import BanList
from live_server.room.ban_notices import BANNED_FROM_VIDEO, BanNotices
from live_server.room.context import RoomContext, config_payload
from live_server.room.extensions import moderators_room, session_room, user_room
from live_server.room.rules.moderation import (
    Action,
    LogEntry,
    check_can_pin,
    check_slow_mode,
    check_timeout_seconds,
    clean_blocked_words,
)
from live_server.room.ticker import RoomTicker
from live_server.shows.rules import LiveSession

logger = logging.getLogger(__name__)

#: what a banned viewer reads when the show's video is refused to them


class RoomModeration:
    """Moderator actions of the live room."""

    def __init__(
        self, ctx: RoomContext, ticker: RoomTicker, notices: BanNotices | None = None
    ) -> None:
        self.ctx = ctx
        self.ticker = ticker
        #: tells every node's media plane (and anything else on the bus) about a ban
        self.notices = notices
        #: what WHEP, LL-HLS and checkout ask (read from SQLite at most once a second)
        self.bans = BanList(ctx.moderation)
        if notices is not None:
            notices.on_ban(self.bans.on_viewer_banned)

    async def _actor(self, sid: str, session_id: int) -> tuple[Principal, LiveSession]:
        member = self.ctx.membership.members.get(sid)
        principal = member.principal if member else None
        if principal is None:
            raise Unauthorized("sign in first", code="sign_in_required")
        session = await self.ctx.sessions.require_visible(principal, session_id)
        if not await self.ctx.is_moderator(principal, session):
            raise Forbidden("only the host and this session's moderators may do that")
        return principal, session

    async def _protected(self, session: LiveSession, user_id: int) -> None:
        """Refuses actions against anyone who may moderate the session: its host, its
        moderators and admins (who outrank every moderator)."""
        if await self.ctx.sessions.user_can_moderate(session.id, user_id):
            raise Forbidden("the host, moderators and admins cannot be timed out or banned")

    async def _log(
        self,
        session_id: int,
        actor: Principal,
        action: Action,
        *,
        user_id: int | None = None,
        message_id: int | None = None,
        product_id: int | None = None,
        detail: str = "",
    ) -> dict[str, Any]:
        entry = await self.ctx.moderation.log(
            session_id,
            actor.user_id,
            action,
            target_user_id=user_id,
            target_message_id=message_id,
            target_product_id=product_id,
            detail=detail,
        )
        payload = log_payload(entry)
        await self.ctx.broadcaster.emit(ev.MOD_LOG_ENTRY, payload, room=moderators_room(session_id))
        logger.info(
            "session %d: %s by user %d (target user %s, message %s)",
            session_id,
            action.value,
            actor.user_id,
            user_id,
            message_id,
        )
        return payload

    # -- messages and users ---------------------------------------------------------------
    async def delete_message(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """Removes a message for everyone; the text stays in the database for the audit."""
        session_id: int = data["session_id"]
        actor, _ = await self._actor(sid, session_id)
        await self.ctx.chat_writer.flush()
        message = await self.ctx.chat.get(data["message_id"])
        if message is None or message.session_id != session_id:
            raise NotFound("no such message in this session", code="message_not_found")
        if await self.ctx.chat.mark_deleted(message.id, actor.user_id):
            await self.ctx.broadcaster.emit(
                ev.CHAT_REMOVED,
                {"session_id": session_id, "message_id": message.id},
                room=session_room(session_id),
            )
            await self._log(
                session_id,
                actor,
                Action.DELETE,
                user_id=message.user_id,
                message_id=message.id,
                detail=message.text[:200],
            )
        return {"ok": True}

    async def timeout(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """Stops a user from chatting for N seconds."""
        session_id: int = data["session_id"]
        actor, session = await self._actor(sid, session_id)
        user_id: int = data["user_id"]
        await self._protected(session, user_id)
        seconds = check_timeout_seconds(data["seconds"])
        now = time.time()
        until = now + seconds
        await self.ctx.moderation.set_timeout(session_id, user_id, until)
        await self.ctx.state.set_timeout(session_id, user_id, until, now)
        await self.ctx.broadcaster.emit(
            ev.ROOM_TIMEOUT,
            {"session_id": session_id, "seconds": seconds, "until": until},
            room=user_room(user_id),
        )
        reason = data.get("reason") or ""
        await self._log(
            session_id, actor, Action.TIMEOUT, user_id=user_id, detail=f"{seconds} s {reason}"
        )
        return {"ok": True, "until": until}

    async def ban(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """Bans a user from the session: disconnected everywhere, cannot rejoin or post."""
        session_id: int = data["session_id"]
        actor, session = await self._actor(sid, session_id)
        user_id: int = data["user_id"]
        await self._protected(session, user_id)
        reason = (data.get("reason") or "").strip()
        await self.ctx.moderation.ban(session_id, user_id, actor.user_id, reason)
        self.bans.forget(session_id)
        await self.ctx.state.set_banned(session_id, user_id, True)
        await self.ctx.broadcaster.emit(
            ev.ROOM_BANNED, {"session_id": session_id, "reason": reason}, room=user_room(user_id)
        )
        for target_sid in await self.ctx.state.user_sockets(session_id, user_id):
            await self.ctx.broadcaster.disconnect(target_sid)
        if self.notices is not None:  # their video goes too, on whichever node serves it
            await self.notices.announce(session_id, user_id)
        await self._log(session_id, actor, Action.BAN, user_id=user_id, detail=reason)
        return {"ok": True}

    async def unban(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """Lifts a ban."""
        session_id: int = data["session_id"]
        actor, _ = await self._actor(sid, session_id)
        user_id: int = data["user_id"]
        if await self.ctx.moderation.unban(session_id, user_id):
            self.bans.forget(session_id)
            await self.ctx.state.set_banned(session_id, user_id, False)
            await self._log(session_id, actor, Action.UNBAN, user_id=user_id)
        return {"ok": True}

    # -- what a ban refuses beyond the room ------------------------------------------------
    async def is_banned(self, session_id: int, user_id: int) -> bool:
        """Whether the user is banned from the session (the durable copy every node reads,
        through this node's short-lived ban list: checkout asks on every order)."""
        return await self.bans.is_banned(session_id, user_id)

    async def refuse_banned(self, session_id: int, who: Principal | None) -> None:
        """Raises 403 ``banned`` when a signed-in viewer is banned from the session: what
        the LL-HLS grant asks before a show's stream is handed out. An anonymous viewer
        cannot be told apart, so is not refused here."""
        await self.refuse_banned_user(session_id, who.user_id if who is not None else None)

    async def refuse_banned_user(self, session_id: int, user_id: int | None) -> None:
        """The same for a user known by id (WHEP: the token's user, or the one a redirect's
        watch ticket names)."""
        if user_id is not None and await self.is_banned(session_id, user_id):
            raise Forbidden(BANNED_FROM_VIDEO, code="banned")

    # -- room settings --------------------------------------------------------------------
    async def update_settings(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """Slow mode and whether anonymous viewers may watch."""
        session_id: int = data["session_id"]
        actor, _ = await self._actor(sid, session_id)
        config = await self.ctx.config(session_id)
        new = config
        if "slow_mode_seconds" in data:
            new = dataclasses.replace(
                new, slow_mode_seconds=check_slow_mode(data["slow_mode_seconds"])
            )
        if "allow_anonymous" in data:
            new = dataclasses.replace(new, allow_anonymous=data["allow_anonymous"])
        if new != config:
            await self.ctx.moderation.save_settings(
                session_id, new.slow_mode_seconds, new.allow_anonymous
            )
            await self.ctx.state.set_config(session_id, new)
            payload = {"session_id": session_id, **config_payload(new)}
            await self.ctx.broadcaster.emit(
                ev.ROOM_SETTINGS, payload, room=session_room(session_id)
            )
            if new.slow_mode_seconds != config.slow_mode_seconds:
                await self._log(
                    session_id, actor, Action.SLOW_MODE, detail=f"{new.slow_mode_seconds} s"
                )
            if new.allow_anonymous != config.allow_anonymous:
                await self._log(
                    session_id, actor, Action.ALLOW_ANONYMOUS, detail=str(new.allow_anonymous)
                )
        return {"ok": True, "settings": config_payload(new)}

    async def blocked_words(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """Reads the blocked-words list, or replaces it when `words` is given."""
        session_id: int = data["session_id"]
        actor, _ = await self._actor(sid, session_id)
        config = await self.ctx.config(session_id)
        if "words" in data:
            words = clean_blocked_words(data["words"])
            if words != config.blocked_words:
                await self.ctx.moderation.set_blocked_words(session_id, words)
                config = dataclasses.replace(config, blocked_words=words)
                await self.ctx.state.set_config(session_id, config)
                await self._log(
                    session_id, actor, Action.BLOCKED_WORDS, detail=f"{len(words)} words"
                )
        return {"ok": True, "words": list(config.blocked_words)}

    async def log(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """The newest moderation log entries, newest first."""
        session_id: int = data["session_id"]
        await self._actor(sid, session_id)
        entries = await self.ctx.moderation.entries(session_id, data.get("limit", 100))
        return {"ok": True, "entries": [log_payload(e) for e in entries]}

    # -- pins -----------------------------------------------------------------------------
    async def pin(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """Pins a product of the line-up (at most three at once), stamped with media time."""
        session_id: int = data["session_id"]
        product_id: int = data["product_id"]
        actor, _ = await self._actor(sid, session_id)
        lineup = await self.ctx.sessions.product_ids(session_id)
        active = await self.ctx.pinned_ids(session_id)
        if check_can_pin(active, product_id, lineup):
            media_time = await self.ctx.media_time(session_id) or 0.0
            pin = await self.ctx.pins.pin(session_id, product_id, actor.user_id, media_time)
            if pin is not None:
                ids = [p.product_id for p in await self.ctx.pins.active(session_id)]
                await self.ctx.state.set_pins(session_id, ids)
                self.ticker.poke()
                await self._log(session_id, actor, Action.PIN, product_id=product_id)
        return {"ok": True, "pinned": await self.ctx.pinned_ids(session_id)}

    async def unpin(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """Takes a pinned product down, stamped with media time."""
        session_id: int = data["session_id"]
        product_id: int = data["product_id"]
        actor, _ = await self._actor(sid, session_id)
        media_time = await self.ctx.media_time(session_id) or 0.0
        pin = await self.ctx.pins.unpin(session_id, product_id, actor.user_id, media_time)
        if pin is not None:
            ids = [p.product_id for p in await self.ctx.pins.active(session_id)]
            await self.ctx.state.set_pins(session_id, ids)
            self.ticker.poke()
            await self._log(session_id, actor, Action.UNPIN, product_id=product_id)
        return {"ok": True, "pinned": await self.ctx.pinned_ids(session_id)}


def log_payload(entry: LogEntry) -> dict[str, Any]:
    """The JSON shape of a moderation log entry: who did it, to whom and about which
    product, by name (the console links them), with the ids kept for clients."""
    user = None
    if entry.target_user_id is not None:
        user = {"id": entry.target_user_id, "name": entry.target_user or "a deleted account"}
    product = None
    if entry.target_product_id is not None:
        product = {"id": entry.target_product_id, "title": entry.target_product or "a product"}
    return {
        "id": entry.id,
        "session_id": entry.session_id,
        "action": entry.action.value,
        "actor": {"id": entry.actor_id, "name": entry.actor},
        "target_user_id": entry.target_user_id,
        "target_user": user,
        "target_message_id": entry.target_message_id,
        "product": product,
        "detail": entry.detail,
        "created_at": iso(entry.created_at, "milliseconds"),
    }
