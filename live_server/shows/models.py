"""The shows REST bodies, declared once: the routes validate with them and the OpenAPI
document shows them (`platform.schemas`). The service still judges the values (products
and moderators that exist, the owner, ...)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from live_server.accounts.models import UserOut
from live_server.catalog.models import ProductOut
from live_server.platform.schemas import UNSET, Body, UnsetType
from live_server.shows.rules import (
    MAX_DESCRIPTION,
    MAX_FRONT_ROW,
    MAX_LINEUP,
    MAX_MODERATORS,
    MAX_TITLE,
)

Title = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_TITLE,
        pattern=r"\S",  # the service strips it: spaces alone are empty
        extra={"message": f"Give the show a title of 1-{MAX_TITLE} characters."},
    ),
]
Description = Annotated[str, Meta(max_length=MAX_DESCRIPTION)]
#: Epoch seconds up to the end of year 9999 (what an ISO date-time can say back).
Epoch = Annotated[float, Meta(ge=0, le=253_402_300_799)]
StartsAt = Annotated[
    datetime | Epoch,
    Meta(
        description="ISO 8601 date-time (naive means UTC) or epoch seconds; null: now",
        extra={"message": "Pick a start date and time.", "label": "start time"},
    ),
]
CoverUrl = Annotated[str, Meta(max_length=500)]
FrontRow = Annotated[
    int,
    Meta(
        ge=0,
        le=MAX_FRONT_ROW,
        description="real-time (WebRTC) viewers; everyone after them watches over LL-HLS",
        extra={"message": f"The front row holds 0 to {MAX_FRONT_ROW:,} viewers."},
    ),
]
ProductIds = Annotated[
    list[Annotated[int, Meta(ge=1)]],
    Meta(
        max_length=MAX_LINEUP,
        extra={"message": f"A line-up has at most {MAX_LINEUP} products."},
    ),
]
Usernames = Annotated[
    list[Annotated[str, Meta(max_length=64)]],
    Meta(
        max_length=MAX_MODERATORS,
        extra={"message": f"A show has at most {MAX_MODERATORS} moderators."},
    ),
]


class SessionCreate(Body):
    """POST /api/sessions."""

    title: Title
    description: Description | UnsetType | None = UNSET
    starts_at: StartsAt | UnsetType | None = UNSET
    cover_url: CoverUrl | UnsetType | None = UNSET
    visibility: Literal["public", "private"] | UnsetType = UNSET
    product_ids: ProductIds | UnsetType = UNSET
    moderators: Usernames | UnsetType = UNSET
    front_row: FrontRow | UnsetType | None = UNSET


class SessionUpdate(Body):
    """PATCH /api/sessions/{id}: only the fields sent change."""

    title: Title | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    starts_at: StartsAt | UnsetType | None = UNSET
    cover_url: CoverUrl | UnsetType | None = UNSET
    visibility: Literal["public", "private"] | UnsetType = UNSET
    front_row: FrontRow | UnsetType | None = UNSET


class LineupBody(Body):
    """PUT /api/sessions/{id}/products."""

    product_ids: ProductIds


class ModeratorsBody(Body):
    """PUT /api/sessions/{id}/moderators (`moderators` is the older name of `usernames`)."""

    usernames: Usernames | UnsetType = UNSET
    moderators: Usernames | UnsetType = UNSET


class SessionOut(msgspec.Struct):
    """A session as `session_json` writes it."""

    id: int
    title: str
    description: str
    starts_at: str | None
    cover_url: str | None
    state: str
    visibility: str
    host: UserOut
    products: list[ProductOut]
    moderators: list[UserOut]
    went_live_at: str | None
    ended_at: str | None
    front_row: int | None
    hls_url: str


class SessionPage(msgspec.Struct):
    """A list of sessions."""

    items: list[SessionOut]


class StreamKeyOut(msgspec.Struct):
    """The secret stream key and where to publish with it."""

    stream_key: str
    whip_url: str
