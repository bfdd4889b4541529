"""The live video status answers, declared once for the OpenAPI document
(`platform.schemas`)."""

from __future__ import annotations

import msgspec


class MediaTimeOut(msgspec.Struct):
    """A session's state and its media time (seconds since go-live; null when not live)."""

    session_id: int
    state: str
    media_time: float | None


class BroadcastOut(MediaTimeOut):
    """The live video status: also the WHEP viewers and whether a publisher is connected."""

    viewers: int
    publishing: bool
