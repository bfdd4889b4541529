"""The search REST shapes, declared once for the OpenAPI document (`platform.openapi`)."""

from __future__ import annotations

import msgspec

from live_server.accounts.models import UserOut
from live_server.catalog.models import ProductOut


class ShowOut(msgspec.Struct):
    """A show as search results and creator pages list it."""

    id: int
    title: str
    state: str
    starts_at: str | None
    went_live_at: str | None
    ended_at: str | None
    cover_url: str | None
    #: Where a viewer opens it: the live page, or the replay once it has ended.
    url: str
    host: UserOut | None


class ClipCardOut(msgspec.Struct):
    """A clip as search results and creator pages list it (opens in the feed)."""

    id: int
    session_id: int
    title: str
    duration_s: float
    poster_url: str
    video_url: str
    url: str


class FoundProductOut(msgspec.Struct):
    """A product found, with the shows and clips that feature it."""

    product: ProductOut
    shows: list[ShowOut]
    clips: list[ClipCardOut]


class SearchOut(msgspec.Struct):
    """GET /api/search: results grouped by kind (a group not asked for is empty)."""

    query: str
    terms: list[str]
    products: list[FoundProductOut]
    shows: list[ShowOut]
    creators: list[UserOut]


class CreatorOut(msgspec.Struct):
    """GET /api/creators/{user_id}: a creator's page."""

    creator: UserOut
    followers: int
    following: bool
    live: list[ShowOut]
    upcoming: list[ShowOut]
    replays: list[ShowOut]
    clips: list[ClipCardOut]
