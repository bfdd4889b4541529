"""An in-process event bus so that areas react to each other without importing each other."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

E = TypeVar("E")
Handler = Callable[[Any], Awaitable[None]]


@dataclass(frozen=True)
class SessionStateChanged:
    """A live session moved from `old` to `new` (values of SessionState)."""

    session_id: int
    old: str
    new: str


@dataclass(frozen=True)
class VisibilityChanged:
    """A session became public or private (`visibility`): who may see it changed."""

    session_id: int
    visibility: str


@dataclass(frozen=True)
class RecordingFinished:
    """A session's recording was finalised and stored."""

    session_id: int
    recording_id: int


@dataclass(frozen=True)
class StreamKeyRotated:
    """A session's stream key was replaced: whoever publishes with the old one must go."""

    session_id: int


@dataclass(frozen=True)
class ModeratorsChanged:
    """A session's moderator list was replaced: roles held by connected members may differ."""

    session_id: int


@dataclass(frozen=True)
class TokensRevoked:
    """Every token of a user was revoked (log-out, a password or role change, a disabled
    account): connections admitted with one of them must go."""

    user_id: int


@dataclass(frozen=True)
class ViewerBanned:
    """A user was banned from a session's room: their video and their room connections
    must go on every node (the room publishes it on each node's bus, over Redis too)."""

    session_id: int
    user_id: int


class EventBus:
    """Publish/subscribe by event type. A failing handler is logged, never propagated."""

    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = defaultdict(list)

    def subscribe(self, event_type: type[E], handler: Callable[[E], Awaitable[None]]) -> None:
        self._handlers[event_type].append(handler)

    async def publish(self, event: object) -> None:
        for handler in list(self._handlers.get(type(event), ())):
            try:
                await handler(event)
            except Exception:
                logger.exception("event handler failed for %r", event)
