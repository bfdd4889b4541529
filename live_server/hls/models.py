"""The LL-HLS answers declared for the OpenAPI document (`platform.schemas`)."""

from __future__ import annotations

import msgspec


class HlsInfoOut(msgspec.Struct):
    """Where a show's LL-HLS stream is, and how a player maps its position to media time."""

    session_id: int
    state: str
    enabled: bool
    url: str
    #: wall-clock ms at media time 0: EXT-X-PROGRAM-DATE-TIME of media time t is this + 1000 t
    media_epoch_ms: int | None
