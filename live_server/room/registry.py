"""The open set of live-room client events: what a feature registers to be heard.

A room event is a name, a payload schema, a handler (socket id, cleaned payload -> ack
body) and who may send it. The room registers its own (`core_events`); a live
format such as auctions adds its module and one line in the composition root:

    registry.extend(RoomExtension("auctions", events=auction_events(svc), contributors=[tick]))

The Socket.IO transport binds every registered event, and any registered later, with the
same flood guard, validation, sender check and error acks. This module knows nothing of
Socket.IO or aiohttp.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from live_server.platform.errors import Unauthorized
from live_server.room.events import Field, RoomError, check_payload
from live_server.room.extensions import TickContributor

if TYPE_CHECKING:
    from live_server.room.context import Member

#: (socket id, cleaned payload) -> the acknowledgement body, e.g. {"ok": True, ...}.
EventHandler = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]

#: "area:action", lower case: keeps clear of Socket.IO's reserved names ("connect", ...)
#: and of the catch-all "*", and groups a feature's events under one prefix.
EVENT_NAME = re.compile(r"[a-z][a-z0-9_]*:[a-z][a-z0-9_]*")


class Sender(enum.Flag):
    """Who may send an event: what the transport checks after validation, before the handler.

    The checks are cheap and local (this node's membership of the socket) and refuse with
    the same acknowledgement the room's own services give, so they can run first:

    - ``ANYONE``: any connected socket, anonymous ones included; nothing is checked.
    - ``MEMBER``: the socket joined the room of the payload's ``session_id``
      (else ``not_joined``).
    - ``SIGNED_IN``: the socket carries a signed-in user (else ``sign_in_required``).
    - ``MODERATOR``: the host, a moderator or an admin of the payload's session. The
      transport refuses anonymous sockets (``sign_in_required``); the role itself needs the
      session from storage and stays the handler's check (``forbidden``).

    Flags combine, e.g. ``MEMBER | SIGNED_IN`` for a bid (checked in that order). The
    handler always has the final word: a sender is the gate in front of it, not its policy.
    """

    ANYONE = 0
    MEMBER = enum.auto()
    SIGNED_IN = enum.auto()
    MODERATOR = enum.auto()


#: Senders whose check reads the payload's session_id (so the schema must require it).
_SESSION_SENDERS = Sender.MEMBER | Sender.MODERATOR


def check_sender(sender: Sender, member: Member | None, data: Mapping[str, Any]) -> None:
    """Raises the refusal a socket gets when it may not send an event of this `sender`.

    `member` is the socket's registration on this node (None if it has none); `data` is the
    validated payload. The refusals are those of RoomService and RoomModeration, word for
    word, so an event keeps its acknowledgement whichever of the two refuses first.
    """
    if not sender:
        return
    if Sender.MEMBER in sender:
        if member is None:
            raise Unauthorized("not connected")
        if data["session_id"] not in member.joined:
            raise RoomError("not_joined", "join the session's room first")
    if (Sender.SIGNED_IN in sender or Sender.MODERATOR in sender) and (
        member is None or member.principal is None
    ):
        raise Unauthorized("sign in first", code="sign_in_required")


@dataclass(frozen=True)
class RoomEvent:
    """One client -> server room event: its name, payload schema, handler and sender."""

    name: str
    schema: Mapping[str, Field]
    handler: EventHandler
    sender: Sender


@dataclass(frozen=True)
class RoomExtension:
    """Everything one feature adds to the live room: client events and tick sections."""

    name: str
    events: Sequence[RoomEvent] = ()
    contributors: Sequence[TickContributor] = ()


class RoomEventRegistry:
    """The room events this node answers, and who wants to hear of new ones.

    Names are unique and final: an event cannot be replaced or removed, so a handler bound
    by the transport is always the registered one. Tick contributors registered through
    `extend` are handed on to the room service once it subscribes (`feed_contributors`).
    """

    def __init__(self) -> None:
        self._events: dict[str, RoomEvent] = {}
        self._subscribers: list[Callable[[RoomEvent], None]] = []
        self._contributors: list[TickContributor] = []
        self._contributor_sinks: list[Callable[[TickContributor], None]] = []

    def register(self, event: RoomEvent) -> None:
        """Adds one event; ValueError for a duplicate or malformed name or a bad schema."""
        self.register_all([event])

    def register_all(self, events: Iterable[RoomEvent]) -> None:
        """Adds several events, all or none: nothing is registered if one is refused."""
        batch = list(events)
        seen: set[str] = set()
        for event in batch:
            _check_event(event)
            if event.name in self._events or event.name in seen:
                raise ValueError(f"room event {event.name!r} is registered already")
            seen.add(event.name)
        for event in batch:
            self._events[event.name] = event
            for subscriber in list(self._subscribers):
                subscriber(event)

    def extend(self, extension: RoomExtension) -> None:
        """Registers a feature's events and tick contributors together.

        The events are checked first (all or none), so a refused extension adds nothing.
        """
        self.register_all(extension.events)
        for contributor in extension.contributors:
            self._contributors.append(contributor)
            for sink in list(self._contributor_sinks):
                sink(contributor)

    def get(self, name: str) -> RoomEvent | None:
        """The registered event of that name, or None."""
        return self._events.get(name)

    def names(self) -> tuple[str, ...]:
        """Every registered event name, in registration order."""
        return tuple(self._events)

    def contributors(self) -> tuple[TickContributor, ...]:
        """Every tick contributor registered through `extend`, in order."""
        return tuple(self._contributors)

    def validate(self, name: str, data: Any) -> dict[str, Any]:
        """Checks a payload for a registered event: the cleaned payload or a DomainError.

        An unknown name is refused with ``unknown_event``, like a name no one registered.
        """
        event = self._events.get(name)
        if event is None:
            raise RoomError("unknown_event", "unknown event")
        return check_payload(event.schema, data)

    def subscribe(self, on_event: Callable[[RoomEvent], None]) -> None:
        """Calls `on_event` for every event registered so far, then for each later one."""
        self._subscribers.append(on_event)
        for event in list(self._events.values()):
            on_event(event)

    def feed_contributors(self, sink: Callable[[TickContributor], None]) -> None:
        """Hands `sink` (e.g. RoomService.add_contributor) every contributor, now and later."""
        self._contributor_sinks.append(sink)
        for contributor in list(self._contributors):
            sink(contributor)


def _check_event(event: RoomEvent) -> None:
    if not EVENT_NAME.fullmatch(event.name):
        raise ValueError(
            f"room event name {event.name!r} must look like 'area:action' (lower case)"
        )
    if event.sender & _SESSION_SENDERS:
        spec = event.schema.get("session_id")
        if spec is None or spec.kind != "int" or not spec.required:
            raise ValueError(
                f"room event {event.name!r}: sender {event.sender} needs a required "
                "integer 'session_id' in its schema"
            )
