"""The content REST bodies (clips, posts, comments, the feed), declared once: the routes
validate with them and the OpenAPI document shows them (`platform.schemas`). The services
still judge the values (a window inside the replay, media that are the author's own...)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from live_server.accounts.models import UserOut
from live_server.catalog.models import ProductOut
from live_server.content.posts.rules import (
    MAX_CAPTION_LEN,
    MAX_COMMENT_LEN,
    MAX_MEDIA_PER_POST,
    MAX_PRODUCTS_PER_POST,
)
from live_server.platform.schemas import UNSET, Body, UnsetType

Id = Annotated[int, Meta(ge=1)]
_WINDOW = {"message": "start and end must be numbers of seconds", "code": "invalid_window"}
Seconds = Annotated[float, Meta(ge=0, le=86_400, extra=_WINDOW)]


def _ids(name: str, maximum: int) -> Meta:
    return Meta(
        min_length=1,
        max_length=maximum,
        extra_json_schema={"uniqueItems": True},
        extra={"message": f"{name} must hold 1 to {maximum} positive integer ids"},
    )


class ClipCut(Body):
    """POST /api/sessions/{id}/clips: a window of the replay and the products it shows."""

    start: Seconds
    end: Seconds
    product_ids: Annotated[list[Id], _ids("product_ids", 10)]
    #: Shown in the replay's clip list and the feed; the service keeps its first 120 chars.
    title: str | None = None


class PostCreate(Body):
    """POST /api/posts."""

    media_ids: Annotated[list[Id], _ids("media_ids", MAX_MEDIA_PER_POST)]
    product_ids: Annotated[list[Id], _ids("product_ids", MAX_PRODUCTS_PER_POST)]
    caption: Annotated[str, Meta(max_length=MAX_CAPTION_LEN)] | None = None
    sponsored: bool = False


class CommentBody(Body):
    """POST /api/clips/{id}/comments and /api/posts/{id}/comments."""

    text: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=MAX_COMMENT_LEN,
            pattern=r"\S",  # trimmed by the service: spaces alone are no comment
            extra={
                "code": "invalid_comment",
                "message": f"comment text is required: 1-{MAX_COMMENT_LEN} characters",
            },
        ),
    ]


class SeenBody(Body):
    """POST /api/feed/seen."""

    item_id: Annotated[int, Meta(ge=1, extra={"message": "item_id must be a positive integer"})]


class SponsoredBody(Body):
    """PUT /api/feed/items/{id}/sponsored."""

    sponsored: Annotated[bool, Meta(extra={"message": "sponsored must be true or false"})]


class ClipOut(msgspec.Struct):
    """A clip as `clip_json` writes it."""

    id: int
    session_id: int
    host_id: int
    source: str
    title: str
    start_s: float
    end_s: float
    duration_s: float
    video_url: str
    poster_url: str
    width: int
    height: int
    product_id: int | None  # the product it was made for; product_ids[0]
    product_ids: list[int]
    created_at: str


class ClipPage(msgspec.Struct):
    """A session's clips."""

    items: list[ClipOut]


class Counts(msgspec.Struct):
    """A feed entry's counters."""

    smiles: int
    comments: int
    views: int
    purchases: int


class EntryClip(msgspec.Struct):
    """The clip part of a feed entry."""

    session_id: int
    title: str
    source: str
    video_url: str
    poster_url: str
    duration_s: float
    start_s: float
    width: int
    height: int


class PostMediaOut(msgspec.Struct):
    """One photo or video of a post."""

    id: int
    kind: str
    url: str
    poster_url: str | None
    width: int
    height: int
    duration_s: float | None


class EntryPost(msgspec.Struct):
    """The post part of a feed entry."""

    caption: str
    media: list[PostMediaOut]


class FeedEntryOut(msgspec.Struct):
    """A clip or a post as the feed shows it (`entry_json`)."""

    item_id: int
    type: str
    sponsored: bool
    creator: UserOut | None
    following: bool
    smiled: bool
    counts: Counts
    products: list[ProductOut]
    id: int | UnsetType = UNSET
    created_at: str | UnsetType = UNSET
    clip: EntryClip | UnsetType = UNSET
    post: EntryPost | UnsetType = UNSET


class FeedPage(msgspec.Struct):
    """A page of the feed and the cursor of the next one."""

    items: list[FeedEntryOut]
    next_cursor: str | None


class EntryPage(msgspec.Struct):
    """A list of feed entries (a creator's posts)."""

    items: list[FeedEntryOut]


class CommentAuthor(msgspec.Struct):
    """Who wrote a comment."""

    id: int
    display_name: str


class CommentOut(msgspec.Struct):
    """A comment with its author's display name."""

    id: int
    user: CommentAuthor
    text: str
    created_at: str


class CommentPage(msgspec.Struct):
    """Comments, newest first."""

    items: list[CommentOut]


class SmileOut(msgspec.Struct):
    """The smile count after a smile or its withdrawal."""

    smiles: int
    smiled: bool


class FollowOut(msgspec.Struct):
    """The follower count after a follow or an unfollow."""

    followers: int
    following: bool


class SponsoredOut(msgspec.Struct):
    """A feed item's sponsored label."""

    item_id: int
    sponsored: bool
