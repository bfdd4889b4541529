"""Posts (Spark-style): what a post may hold, what uploads are accepted, comment rules.

Pure rules. Whether the bytes really decode is checked by the media code; here are the
declared-type, size and shape rules and the user-text rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from live_server.platform.errors import Invalid, TooLarge, Unsupported
from live_server.platform.words import label, sentence

MAX_CAPTION_LEN = 2000
MAX_COMMENT_LEN = 500
MAX_MEDIA_PER_POST = 10
MAX_PRODUCTS_PER_POST = 10
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_VIDEO_BYTES = 100 * 1024 * 1024
MAX_VIDEO_SECONDS = 180.0


class MediaKind(StrEnum):
    """What an uploaded file is."""

    IMAGE = "image"
    VIDEO = "video"


class TargetKind(StrEnum):
    """Things viewers can smile at and comment on."""

    CLIP = "clip"
    POST = "post"


IMAGE_TYPES: dict[str, str] = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
VIDEO_TYPES: dict[str, str] = {
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "video/quicktime": ".mov",
}
# What the decoder must report for each declared type: a PNG body sent as image/jpeg is refused.
IMAGE_FORMATS: dict[str, str] = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


@dataclass(frozen=True, slots=True)
class UploadRule:
    """The accepted kind, file suffix and size limit for a declared content type."""

    kind: MediaKind
    mime: str
    suffix: str
    max_bytes: int


def upload_rule(content_type: str | None) -> UploadRule:
    """The rule for a ``Content-Type``; raises ``Unsupported`` (415) for anything else."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype in IMAGE_TYPES:
        return UploadRule(MediaKind.IMAGE, ctype, IMAGE_TYPES[ctype], MAX_IMAGE_BYTES)
    if ctype in VIDEO_TYPES:
        return UploadRule(MediaKind.VIDEO, ctype, VIDEO_TYPES[ctype], MAX_VIDEO_BYTES)
    accepted = ", ".join([*IMAGE_TYPES, *VIDEO_TYPES])
    raise Unsupported(f"unsupported media type {ctype or '(none)'}; accepted: {accepted}")


def check_size(size: int, rule: UploadRule) -> None:
    """Refuse empty bodies (422) and bodies over the limit (413)."""
    if size <= 0:
        raise Invalid("That file is empty: choose another.", code="empty_upload")
    if size > rule.max_bytes:
        raise TooLarge(
            f"{rule.kind.value.capitalize()} uploads are limited to"
            f" {rule.max_bytes // (1024 * 1024)} MB."
        )


def clean_caption(raw: object) -> str:
    """Trimmed caption; raises ``Invalid`` when not text or too long."""
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise Invalid("The caption must be text.", code="invalid_caption", field="caption")
    text = raw.strip()
    if len(text) > MAX_CAPTION_LEN:
        raise Invalid(
            f"A caption is at most {MAX_CAPTION_LEN:,} characters.",
            code="invalid_caption",
            field="caption",
        )
    return text


def clean_comment(raw: object) -> str:
    """Trimmed, non-empty comment text of bounded length."""
    if not isinstance(raw, str) or not raw.strip():
        raise Invalid("Write a comment first.", code="invalid_comment", field="text")
    text = " ".join(raw.split()) if "\n" not in raw else raw.strip()
    if len(text) > MAX_COMMENT_LEN:
        raise Invalid(
            f"Comments are limited to {MAX_COMMENT_LEN:,} characters.",
            code="invalid_comment",
            field="text",
        )
    return text


def id_list(raw: object, name: str, *, minimum: int, maximum: int) -> list[int]:
    """A list of distinct positive integer ids, order kept."""
    if not isinstance(raw, list):
        words = sentence(f"choose the {label(name)} from the list")
        raise Invalid(words, code=f"invalid_{name}")
    out: list[int] = []
    for item in raw:
        if isinstance(item, bool) or not isinstance(item, int) or item <= 0:
            words = sentence(f"choose the {label(name)} from the list")
            raise Invalid(words, code=f"invalid_{name}")
        if item not in out:
            out.append(item)
    if not minimum <= len(out) <= maximum:
        raise Invalid(
            sentence(f"choose {minimum} to {maximum} {label(name)}"), code=f"invalid_{name}"
        )
    return out


@dataclass(frozen=True, slots=True)
class PostMedia:
    """One validated upload (attached to a post once published)."""

    id: int
    owner_id: int
    post_id: int | None
    kind: MediaKind
    mime: str
    url: str
    poster_url: str | None
    width: int
    height: int
    duration_s: float | None
    size_bytes: int


@dataclass(frozen=True, slots=True)
class Post:
    """A published post with its media (a carousel when several) and product tags."""

    id: int
    author_id: int
    caption: str
    sponsored: bool
    created_at: float
    media: tuple[PostMedia, ...] = ()
    product_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Comment:
    """A viewer's comment on a clip or a post."""

    id: int
    target_kind: TargetKind
    target_id: int
    user_id: int
    text: str
    created_at: float


def parse_target_kind(raw: str) -> TargetKind:
    """``clip`` or ``post``; anything else is a 404-worthy path."""
    try:
        return TargetKind(raw)
    except ValueError as exc:
        raise Invalid(
            "Only clips and posts take comments and likes.", code="invalid_target"
        ) from exc
