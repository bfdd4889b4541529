"""The live room's REST answers, declared once for the OpenAPI document
(`platform.schemas`); the room's Socket.IO payloads are in docs/realtime.md."""

from __future__ import annotations

import msgspec


class ChatAuthor(msgspec.Struct):
    """Who wrote a chat message."""

    id: int
    name: str


class ChatMessageOut(msgspec.Struct):
    """A chat message as `message_payload` writes it."""

    id: int
    session_id: int
    user: ChatAuthor
    text: str
    created_at: str | None
    media_time: float | None


class ChatPage(msgspec.Struct):
    """Visible messages of a session, oldest first."""

    items: list[ChatMessageOut]


class PinOut(msgspec.Struct):
    """A pin with its media times (`unpinned_media_time` is null while it is up)."""

    id: int
    product_id: int
    pinned_by: int
    pinned_media_time: float
    unpinned_media_time: float | None
    created_at: str | None


class PinPage(msgspec.Struct):
    """Every pin of a session."""

    items: list[PinOut]
