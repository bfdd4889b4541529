"""Feed ranking rules (Inspire-style): interests, follows, likes, purchases, freshness,
engagement, seen items, sponsored labels, and the opaque page cursor.

Pure rules. The storage layer evaluates the same score inside SQLite so that a page of
10,000 candidates is ranked without leaving the database; :func:`score` is the
reference implementation the tests compare it with. Categories are carried as bit
masks over :data:`live_server.accounts.rules.INTERESTS` so that "does this clip
match any of my interests" is one integer AND.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from live_server.accounts.rules import INTERESTS

DEFAULT_PAGE = 10
MAX_PAGE = 50
JITTER_MODULUS = 1009
JITTER_MULTIPLIER = 2654435761
ANONYMOUS_SEED = 7


def category_bit(category: str) -> int:
    """The bit of one category (0 for a category outside the vocabulary)."""
    try:
        return 1 << INTERESTS.index(category)
    except ValueError:
        return 0


def category_mask(categories: Iterable[str]) -> int:
    """OR of the bits of ``categories``."""
    mask = 0
    for category in categories:
        mask |= category_bit(category)
    return mask


def mask_categories(mask: int) -> list[str]:
    """The categories whose bits are set in ``mask``, in vocabulary order."""
    return [name for i, name in enumerate(INTERESTS) if mask & (1 << i)]


@dataclass(frozen=True, slots=True)
class FeedWeights:
    """How much each signal counts. Freshness decays with a half-life in hours."""

    interest: float = 3.0
    follow: float = 2.5
    liked_category: float = 1.0
    purchased_category: float = 1.5
    freshness: float = 2.0
    half_life_h: float = 72.0
    engagement: float = 1.0
    seen_penalty: float = 5.0
    sponsored: float = 0.5
    jitter: float = 0.75


DEFAULT_WEIGHTS = FeedWeights()


@dataclass(frozen=True, slots=True)
class Profile:
    """What ranking knows about a viewer (anonymous viewers have ``user_id`` None)."""

    user_id: int | None
    interest_mask: int = 0
    liked_mask: int = 0
    purchased_mask: int = 0

    @property
    def seed(self) -> int:
        """Per-user salt of the tie-breaking jitter: no two feeds are the same."""
        if self.user_id is None:
            return ANONYMOUS_SEED
        return (self.user_id * 40503 + 977) % 1_000_003


@dataclass(frozen=True, slots=True)
class ItemSignals:
    """The stored features of one feed item."""

    id: int
    category_mask: int
    creator_id: int
    created_at: float
    engagement: float
    sponsored: bool = False


def engagement_score(likes: int, comments: int, views: int, purchases: int) -> float:
    """A bounded popularity figure: log-scaled weighted interactions (0 .. ~3)."""
    raw = likes + 2 * comments + 5 * purchases + 0.05 * views
    return math.log10(1.0 + max(0.0, raw))


def freshness(created_at: float, as_of: float, half_life_h: float) -> float:
    """1.0 for a brand-new item, 0.5 after one half-life (hyperbolic, cheap in SQL)."""
    age_h = max(0.0, as_of - created_at) / 3600.0
    return 1.0 / (1.0 + age_h / half_life_h)


def jitter(seed: int, item_id: int) -> float:
    """A deterministic per-(viewer, item) value in [0, 1)."""
    return ((item_id * JITTER_MULTIPLIER + seed) % JITTER_MODULUS) / JITTER_MODULUS


def score(
    item: ItemSignals,
    profile: Profile,
    *,
    followed: bool,
    seen: bool,
    as_of: float,
    weights: FeedWeights = DEFAULT_WEIGHTS,
) -> float:
    """The rank of ``item`` for ``profile`` at time ``as_of`` (higher first)."""
    value = 0.0
    if item.category_mask & profile.interest_mask:
        value += weights.interest
    if followed:
        value += weights.follow
    if item.category_mask & profile.liked_mask:
        value += weights.liked_category
    if item.category_mask & profile.purchased_mask:
        value += weights.purchased_category
    value += weights.freshness * freshness(item.created_at, as_of, weights.half_life_h)
    value += weights.engagement * item.engagement
    if item.sponsored:
        value += weights.sponsored
    if seen:
        value -= weights.seen_penalty
    value += weights.jitter * jitter(profile.seed, item.id)
    return value


class CursorError(ValueError):
    """A cursor that was not made by us, or not for this viewer."""


@dataclass(frozen=True, slots=True)
class FeedCursor:
    """Where a viewer is in one feed: the feed's id, its clock and the page number.

    ``as_of`` pins freshness for the whole scroll so scores do not drift between
    pages; the feed id names the set of items already served in this scroll.
    """

    feed_id: str
    as_of: float
    page: int
    user_id: int | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(cls, user_id: int | None, as_of: float) -> FeedCursor:
        """A fresh scroll."""
        return cls(secrets.token_hex(8), as_of, 0, user_id)

    def next(self) -> FeedCursor:
        """The cursor of the following page."""
        return FeedCursor(self.feed_id, self.as_of, self.page + 1, self.user_id)

    def encode(self) -> str:
        """Opaque URL-safe text."""
        body = json.dumps(
            {"f": self.feed_id, "t": round(self.as_of, 3), "p": self.page, "u": self.user_id},
            separators=(",", ":"),
        )
        return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, user_id: int | None) -> FeedCursor:
        """Parse a cursor from :meth:`encode`; it must belong to ``user_id``."""
        if not text or len(text) > 200:
            raise CursorError("cursor is malformed")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            data = json.loads(raw)
        except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
            raise CursorError("cursor is malformed") from exc
        if not isinstance(data, dict):
            raise CursorError("cursor is malformed")
        feed_id, as_of, page, owner = data.get("f"), data.get("t"), data.get("p"), data.get("u")
        if not isinstance(feed_id, str) or not 8 <= len(feed_id) <= 32 or not feed_id.isalnum():
            raise CursorError("cursor is malformed")
        if (
            isinstance(as_of, bool)
            or not isinstance(as_of, int | float)
            or not math.isfinite(as_of)
        ):
            raise CursorError("cursor is malformed")
        if isinstance(page, bool) or not isinstance(page, int) or not 0 <= page < 100_000:
            raise CursorError("cursor is malformed")
        if owner is not None and (isinstance(owner, bool) or not isinstance(owner, int)):
            raise CursorError("cursor is malformed")
        if owner != user_id:
            raise CursorError("cursor belongs to another viewer")
        return cls(feed_id, float(as_of), page, owner)


def clamp_limit(raw: str | None) -> int:
    """Parse ``?limit=``; raises ``ValueError`` for junk, clamps to [1, MAX_PAGE]."""
    if raw is None or raw == "":
        return DEFAULT_PAGE
    value = int(raw)
    return max(1, min(MAX_PAGE, value))


def primary_category(mask: int) -> int:
    """Index of the item's first category (lowest set bit), -1 when it has none."""
    if mask <= 0:
        return -1
    return (mask & -mask).bit_length() - 1


def mask_bits(mask: int) -> list[int]:
    """Indexes of the set bits of ``mask``."""
    return [i for i in range(mask.bit_length()) if mask & (1 << i)]


def popularity(
    created_at: float,
    as_of: float,
    engagement: float,
    sponsored: bool,
    weights: FeedWeights = DEFAULT_WEIGHTS,
) -> float:
    """The viewer-independent part of :func:`score` (freshness, engagement, sponsored).

    Stored per item and refreshed periodically; candidate retrieval orders by it.
    """
    value = weights.freshness * freshness(created_at, as_of, weights.half_life_h)
    value += weights.engagement * engagement
    if sponsored:
        value += weights.sponsored
    return value


@dataclass(frozen=True, slots=True)
class FollowingCursor:
    """Where a viewer is in the Following tab (newest first): the last item served.

    A keyset cursor: the next page starts strictly after (created_at, item id), so items
    published while the viewer scrolls never shift a page, and none comes twice.
    """

    created_at: float
    item_id: int

    def encode(self) -> str:
        """Opaque URL-safe text."""
        body = json.dumps({"k": "following", "t": self.created_at, "i": self.item_id})
        return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> FollowingCursor:
        """Parse a cursor from :meth:`encode`."""
        if not text or len(text) > 200:
            raise CursorError("cursor is malformed")
        try:
            data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
            raise CursorError("cursor is malformed") from exc
        if not isinstance(data, dict) or data.get("k") != "following":
            raise CursorError("cursor is malformed")
        at, item = data.get("t"), data.get("i")
        if isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at):
            raise CursorError("cursor is malformed")
        if isinstance(item, bool) or not isinstance(item, int) or not 0 < item < 2**63:
            raise CursorError("cursor is malformed")
        return cls(float(at), item)
