"""The live room's own client events, bound to the room services.

Names and schemas are those of `live_server.room.events`; the senders are what the
transport checks before the handler (see `registry.Sender`). Where a service refuses in its
own words, its check stays inside the service so that the acknowledgement is unchanged.
"""

from __future__ import annotations

from live_server.room import events as ev
from live_server.room.moderation import RoomModeration
from live_server.room.registry import EventHandler, RoomEvent, Sender
from live_server.room.service import RoomService


def core_events(room: RoomService, moderation: RoomModeration) -> list[RoomEvent]:
    """The room's own events: joining, chat, reactions, pins, moderation, presence."""
    handlers: list[tuple[str, EventHandler, Sender]] = [
        # Anonymous sockets may join when the session allows it: that is the service's call.
        (ev.JOIN, room.join, Sender.ANYONE),
        (ev.LEAVE, room.leave, Sender.ANYONE),
        # A signed-in member. Only the join is checked up front: RoomService.send_chat then
        # refuses anonymous members with its own message ("sign in to chat").
        (ev.CHAT_SEND, room.send_chat, Sender.MEMBER),
        (ev.REACTION_SEND, room.react, Sender.MEMBER),
        (ev.PIN_ADD, moderation.pin, Sender.MODERATOR),
        (ev.PIN_REMOVE, moderation.unpin, Sender.MODERATOR),
        (ev.MOD_DELETE, moderation.delete_message, Sender.MODERATOR),
        (ev.MOD_TIMEOUT, moderation.timeout, Sender.MODERATOR),
        (ev.MOD_BAN, moderation.ban, Sender.MODERATOR),
        (ev.MOD_UNBAN, moderation.unban, Sender.MODERATOR),
        (ev.MOD_SETTINGS, moderation.update_settings, Sender.MODERATOR),
        (ev.MOD_BLOCKED_WORDS, moderation.blocked_words, Sender.MODERATOR),
        (ev.MOD_LOG, moderation.log, Sender.MODERATOR),
        (ev.WATCH_TIER, room.watch_tier, Sender.MEMBER),
        (ev.PRESENCE, room.presence, Sender.MEMBER),
    ]
    return [
        RoomEvent(name, ev.SCHEMAS[name], handler, sender) for name, handler, sender in handlers
    ]
