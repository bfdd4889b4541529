"""Pure analytics math: session summary, per-product funnel, per-minute timeline, CSV cells."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

EVENT_KINDS: Final[tuple[str, ...]] = ("card_view", "card_click", "add_to_cart")

# Anonymous viewers name themselves with the X-Viewer-Key header, which anyone can vary, so
# one address counts as at most this many anonymous viewers of a session at a time (a
# household or an office behind one address); a key silent for the window frees its place.
ANON_KEYS_PER_ADDRESS: Final = 8
ANON_KEY_WINDOW_S: Final = 600.0
_VIEWER_KEY = re.compile(r"[\x21-\x7e]{1,200}")


def parse_viewer_key(raw: str | None) -> str:
    """The X-Viewer-Key header: "" when absent, else 1-200 visible ASCII characters (a page's
    random id); ValueError for anything else, an empty value and undecodable bytes included
    (the OpenAPI document says so, and the fuzz test holds the server to it)."""
    if raw is None:
        return ""
    if not _VIEWER_KEY.fullmatch(raw):
        raise ValueError("X-Viewer-Key must be 1-200 visible ASCII characters")
    return raw


def anonymous_viewer(address: str, viewer_key: str) -> str:
    """The stored identity of an anonymous viewer: a hash of the address and the page's key,
    so whatever a client sends is safe to store and no address is kept."""
    digest = hashlib.sha256(f"{address}\n{viewer_key}".encode("utf-8", "replace"))
    return "a" + digest.hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class MinuteRow:
    """One minute of a session: the room's counters plus ours."""

    minute: int
    viewers: int = 0
    reactions: int = 0
    chat_messages: int = 0
    orders: int = 0
    revenue_minor: int = 0


@dataclass(slots=True)
class ProductFunnel:
    """Card views -> clicks -> add-to-carts -> orders for one product in one session."""

    product_id: int
    title: str = ""
    card_views: int = 0
    card_clicks: int = 0
    add_to_carts: int = 0
    orders: int = 0
    units: int = 0
    revenue_minor: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form with click-through and conversion."""
        return {
            "product_id": self.product_id,
            "title": self.title,
            "card_views": self.card_views,
            "card_clicks": self.card_clicks,
            "add_to_carts": self.add_to_carts,
            "orders": self.orders,
            "units": self.units,
            "revenue_minor": self.revenue_minor,
            "click_through_rate": ratio(self.card_clicks, self.card_views),
        }


@dataclass(slots=True)
class SessionSummary:
    """The numbers a merchant judges a show by."""

    peak_viewers: int = 0
    average_viewers: float = 0.0
    unique_viewers: int = 0
    watch_seconds: float = 0.0
    chat_messages: int = 0
    reactions: int = 0
    card_views: int = 0
    card_clicks: int = 0
    add_to_carts: int = 0
    orders: int = 0
    units: int = 0
    revenue_minor: int = 0
    currency: str = ""
    conversion_rate: float = 0.0
    products: list[ProductFunnel] = field(default_factory=list)
    timeline: list[MinuteRow] = field(default_factory=list)


def ratio(part: int, whole: int) -> float:
    """part / whole rounded to 4 places; 0 when nothing to divide by."""
    return round(part / whole, 4) if whole > 0 else 0.0


def merge_timeline(
    room_minutes: Iterable[Mapping[str, Any]],
    order_minutes: Iterable[Mapping[str, Any]],
) -> list[MinuteRow]:
    """Join the room's per-minute stats with per-minute orders; gaps become zero rows.

    `minute` is epoch seconds at the start of the minute (floor(t / 60) * 60), as the room
    stores it.
    """
    rows: dict[int, dict[str, int]] = {}
    for r in room_minutes:
        m = int(r["minute"])
        slot = rows.setdefault(m, {})
        slot["viewers"] = max(slot.get("viewers", 0), int(r.get("viewers_max") or 0))
        slot["reactions"] = slot.get("reactions", 0) + int(r.get("reactions") or 0)
        slot["chat_messages"] = slot.get("chat_messages", 0) + int(r.get("chat_messages") or 0)
    for r in order_minutes:
        m = int(r["minute"])
        slot = rows.setdefault(m, {})
        slot["orders"] = slot.get("orders", 0) + int(r.get("orders") or 0)
        slot["revenue_minor"] = slot.get("revenue_minor", 0) + int(r.get("revenue_minor") or 0)
    if not rows:
        return []
    first, last = min(rows), max(rows)
    first = max(first, last - 24 * 3600)  # a day of minutes is plenty for one show
    return [MinuteRow(minute=m, **rows.get(m, {})) for m in range(first, last + 1, 60)]


def summarise(
    *,
    timeline: Sequence[MinuteRow],
    watch_seconds: Sequence[float],
    duration_s: float,
    products: Sequence[ProductFunnel],
    orders: int,
    revenue_minor: int,
    currency: str,
) -> SessionSummary:
    """Build the session summary from its parts.

    Average concurrent viewers is total watch time over the show's length (exact for any
    sampling); without a length it falls back to the mean of the per-minute peaks.
    """
    peak = max((row.viewers for row in timeline), default=0)
    total_watch = float(sum(watch_seconds))
    if duration_s > 0:
        average = total_watch / duration_s
    elif timeline:
        average = sum(row.viewers for row in timeline) / len(timeline)
    else:
        average = 0.0
    unique = len(watch_seconds)
    return SessionSummary(
        peak_viewers=peak,
        average_viewers=round(average, 2),
        unique_viewers=unique,
        watch_seconds=round(total_watch, 1),
        chat_messages=sum(row.chat_messages for row in timeline),
        reactions=sum(row.reactions for row in timeline),
        card_views=sum(p.card_views for p in products),
        card_clicks=sum(p.card_clicks for p in products),
        add_to_carts=sum(p.add_to_carts for p in products),
        orders=orders,
        units=sum(p.units for p in products),
        revenue_minor=revenue_minor,
        currency=currency,
        conversion_rate=ratio(orders, unique),
        products=list(products),
        timeline=list(timeline),
    )


def safe_csv_cell(value: object) -> str:
    """A CSV cell that spreadsheets won't run as a formula."""
    text = "" if value is None else str(value)
    if text and text[0] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
