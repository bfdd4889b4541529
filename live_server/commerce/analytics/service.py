"""Session analytics: card views and clicks, add-to-carts, orders, audience; CSV export.

Card views/clicks arrive from every viewer's page, so they are buffered in memory and
written in one statement per flush instead of one transaction per event. Anyone may send
them, so only line-up products count and one address counts as a few anonymous viewers at
most (`ANON_KEYS_PER_ADDRESS`), whatever viewer keys it claims.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import time
from collections.abc import Callable
from typing import Any, Final

from live_server.commerce.analytics.rules import (
    ANON_KEY_WINDOW_S,
    ANON_KEYS_PER_ADDRESS,
    ProductFunnel,
    SessionSummary,
    anonymous_viewer,
    merge_timeline,
    parse_viewer_key,
    safe_csv_cell,
    summarise,
)
from live_server.commerce.analytics.store import AnalyticsRepository
from live_server.platform.errors import BadRequest, Forbidden, Invalid
from live_server.platform.identity import Principal
from live_server.platform.timefmt import iso
from live_server.shows.service import LiveSessionService

logger = logging.getLogger(__name__)

FLUSH_EVERY_S: Final = 1.0
MAX_BUFFER: Final = 5_000
DEDUPE_S: Final = 10.0  # the same viewer's same event on the same card counts once per 10 s
LINEUP_CACHE_S: Final = 5.0  # a line-up changes rarely; a pinned card's views come in bursts


class AnalyticsService:
    """Records commerce events and builds a session's report (live or final)."""

    def __init__(
        self,
        repo: AnalyticsRepository,
        sessions: LiveSessionService,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._repo = repo
        self._sessions = sessions
        self._clock = clock
        self._buffer: list[tuple[int, int, str, str, float]] = []
        self._seen: dict[tuple[int, int, str, str], float] = {}
        # (session, address) -> anonymous identities seen from it, with when last seen
        self._anonymous: dict[tuple[int, str], dict[str, float]] = {}
        self._lineups: dict[int, tuple[frozenset[int], float]] = {}

    # -- events -----------------------------------------------------------------------

    def note(self, session_id: int, product_id: int, kind: str, viewer_key: str) -> bool:
        """Buffer one event; False when it was a duplicate or the buffer is full."""
        now = self._clock()
        key = (session_id, product_id, kind, viewer_key)
        last = self._seen.get(key)
        if last is not None and now - last < DEDUPE_S:
            return False
        if len(self._buffer) >= MAX_BUFFER:
            return False
        self._seen[key] = now
        self._buffer.append((session_id, product_id, kind, viewer_key, now))
        return True

    async def record(
        self,
        who: Principal | None,
        session_id: int,
        data: dict[str, Any],
        viewer_key: str | None,
        address: str,
    ) -> bool:
        """A card view or click reported by a viewer's page (`viewer_key` is its
        X-Viewer-Key header, `address` the client's); False when it was not counted."""
        kind = data.get("kind")
        if kind not in ("card_view", "card_click"):
            raise Invalid("kind must be card_view or card_click", code="invalid_kind")
        product_id = data.get("product_id")
        if isinstance(product_id, bool) or not isinstance(product_id, int) or product_id < 1:
            raise Invalid("product_id must be an integer", code="invalid_product_id")
        try:
            key = parse_viewer_key(viewer_key)
        except ValueError as exc:
            raise BadRequest(str(exc), code="invalid_viewer_key") from None
        if product_id not in await self._lineup(session_id):
            raise Invalid("That product is not in this show's line-up.", code="not_in_lineup")
        if who is not None:
            return self.note(session_id, product_id, str(kind), f"u{who.user_id}")
        viewer = anonymous_viewer(address, key)
        if not self._admit_anonymous(session_id, address, viewer):
            return False
        return self.note(session_id, product_id, str(kind), viewer)

    async def _lineup(self, session_id: int) -> frozenset[int]:
        """The session's line-up (404 for no such session), cached for a few seconds."""
        now = time.monotonic()
        cached = self._lineups.get(session_id)
        if cached is not None and now - cached[1] < LINEUP_CACHE_S:
            return cached[0]
        await self._sessions.get(session_id)
        lineup = frozenset(await self._sessions.product_ids(session_id))
        if len(self._lineups) > 10_000:
            self._lineups.clear()
        self._lineups[session_id] = (lineup, now)
        return lineup

    def _admit_anonymous(self, session_id: int, address: str, viewer: str) -> bool:
        """Whether an anonymous viewer's events count: at most ANON_KEYS_PER_ADDRESS viewers
        of a session per address at a time, so minting viewer keys does not add viewers."""
        now = self._clock()
        slot = (session_id, address)
        known = self._anonymous.get(slot, {})
        if viewer not in known:
            fresh = {v: t for v, t in known.items() if now - t < ANON_KEY_WINDOW_S}
            if len(fresh) >= ANON_KEYS_PER_ADDRESS:
                self._anonymous[slot] = fresh
                return False
            known = fresh
        known[viewer] = now
        self._anonymous[slot] = known
        return True

    async def flush(self) -> int:
        """Write the buffered events; returns how many were written (a row the database
        refuses is logged and dropped alone, never with the rest of the buffer)."""
        rows, self._buffer = self._buffer, []
        written = await self._repo.add_events(rows) if rows else 0
        now = self._clock()
        cutoff = now - DEDUPE_S
        if len(self._seen) > 20_000:
            self._seen = {k: t for k, t in self._seen.items() if t >= cutoff}
        if len(self._anonymous) > 20_000:
            self._anonymous = {
                slot: known
                for slot, known in self._anonymous.items()
                if any(now - t < ANON_KEY_WINDOW_S for t in known.values())
            }
        return written

    async def run_flusher(self) -> None:
        """Flush every second until cancelled (then once more)."""
        try:
            while True:
                await asyncio.sleep(FLUSH_EVERY_S)
                try:
                    await self.flush()
                except Exception:
                    logger.exception("writing commerce events failed")
        finally:
            try:
                await self.flush()
            except Exception:
                logger.exception("final flush of commerce events failed")

    # -- reports ----------------------------------------------------------------------

    async def _check(self, who: Principal, session_id: int) -> None:
        if not await self._sessions.can_moderate(who, session_id):
            raise Forbidden("Only the show's host and moderators can see its numbers.")

    async def report(self, who: Principal, session_id: int) -> dict[str, Any]:
        """The session's numbers, per product funnel and per-minute timeline."""
        await self._check(who, session_id)
        await self.flush()
        summary = await self._summary(session_id)
        session = await self._sessions.get(session_id)
        return {
            "session_id": session_id,
            "state": session.state.value,
            "final": session.state.value == "ended",
            "generated_at": self._clock(),
            "summary": {
                "peak_viewers": summary.peak_viewers,
                "average_viewers": summary.average_viewers,
                "unique_viewers": summary.unique_viewers,
                "watch_seconds": summary.watch_seconds,
                "chat_messages": summary.chat_messages,
                "reactions": summary.reactions,
                "card_views": summary.card_views,
                "card_clicks": summary.card_clicks,
                "add_to_carts": summary.add_to_carts,
                "orders": summary.orders,
                "units": summary.units,
                "revenue_minor": summary.revenue_minor,
                "currency": summary.currency,
                "conversion_rate": summary.conversion_rate,
            },
            "products": [p.as_dict() for p in summary.products],
            "recent_orders": [
                {
                    "id": r["id"],
                    "created_at": iso(r["created_at"], "auto"),
                    "status": r["status"],
                    "total_minor": r["total_minor"],
                    "currency": r["currency"],
                    "units": r["units"],
                    "titles": r["titles"],
                }
                for r in await self._repo.recent_orders(session_id)
            ],
            "timeline": [
                {
                    "minute": row.minute,
                    "viewers": row.viewers,
                    "reactions": row.reactions,
                    "chat_messages": row.chat_messages,
                    "orders": row.orders,
                    "revenue_minor": row.revenue_minor,
                }
                for row in summary.timeline
            ],
        }

    async def _summary(self, session_id: int) -> SessionSummary:
        session = await self._sessions.get(session_id)
        room_minutes = await self._repo.room_minutes(session_id)
        order_minutes: dict[int, dict[str, int]] = {}
        for row in await self._repo.order_times(session_id):
            minute = int(float(row["created_at"]) // 60) * 60
            slot = order_minutes.setdefault(
                minute, {"minute": minute, "orders": 0, "revenue_minor": 0}
            )
            slot["orders"] += 1
            slot["revenue_minor"] += int(row["total_minor"])
        timeline = merge_timeline(room_minutes, list(order_minutes.values()))
        funnels: dict[int, ProductFunnel] = {}
        for row in await self._repo.product_events(session_id):
            pid = int(row["product_id"])
            funnel = funnels.setdefault(pid, ProductFunnel(pid))
            if row["kind"] == "card_view":
                funnel.card_views = int(row["n"])
            elif row["kind"] == "card_click":
                funnel.card_clicks = int(row["n"])
            elif row["kind"] == "add_to_cart":
                funnel.add_to_carts = int(row["n"])
        for row in await self._repo.product_orders(session_id):
            pid = int(row["product_id"])
            funnel = funnels.setdefault(pid, ProductFunnel(pid))
            funnel.title = str(row["title"])
            funnel.orders = int(row["orders"])
            funnel.units = int(row["units"])
            funnel.revenue_minor = int(row["revenue_minor"])
        missing = [pid for pid, f in funnels.items() if not f.title]
        for pid, title in (await self._repo.product_titles(missing)).items():
            funnels[pid].title = title
        totals = await self._repo.order_totals(session_id)
        started = session.went_live_at
        duration = 0.0
        if started is not None:
            duration = max(0.0, (session.ended_at or self._clock()) - started)
        summary = summarise(
            timeline=timeline,
            watch_seconds=await self._repo.watch_seconds(session_id),
            duration_s=duration,
            products=sorted(funnels.values(), key=lambda f: (-f.revenue_minor, f.product_id)),
            orders=int(totals.get("orders") or 0),
            revenue_minor=int(totals.get("revenue_minor") or 0),
            currency=str(totals.get("currency") or ""),
        )
        chat = await self._repo.chat_count(session_id)
        if chat is not None:
            summary.chat_messages = chat
        return summary

    async def csv_export(self, who: Principal, session_id: int, table: str) -> str:
        """`products`, `timeline` or `orders` of a session as CSV text."""
        await self._check(who, session_id)
        if table not in ("products", "timeline", "orders"):
            raise Invalid("table must be products, timeline or orders", code="invalid_table")
        await self.flush()
        out = io.StringIO()
        writer = csv.writer(out)
        if table == "orders":
            columns = [
                "order_id",
                "created_at",
                "status",
                "media_time",
                "source_type",
                "product_id",
                "title",
                "quantity",
                "unit_price_minor",
                "currency",
                "flash_sale_id",
            ]
            writer.writerow(columns)
            for row in await self._repo.session_orders(session_id):
                # dates as ISO 8601 UTC, like every date LiveShop writes (not epoch floats)
                row["created_at"] = iso(row["created_at"], "seconds")
                writer.writerow([safe_csv_cell(row[c]) for c in columns])
            return out.getvalue()
        summary = await self._summary(session_id)
        if table == "products":
            columns = [
                "product_id",
                "title",
                "card_views",
                "card_clicks",
                "add_to_carts",
                "orders",
                "units",
                "revenue_minor",
                "click_through_rate",
            ]
            writer.writerow(columns)
            for funnel in summary.products:
                data = funnel.as_dict()
                writer.writerow([safe_csv_cell(data[c]) for c in columns])
        else:
            writer.writerow(
                ["minute_utc", "viewers", "reactions", "chat_messages", "orders", "revenue_minor"]
            )
            for minute in summary.timeline:
                writer.writerow(
                    [
                        iso(minute.minute, "seconds"),
                        minute.viewers,
                        minute.reactions,
                        minute.chat_messages,
                        minute.orders,
                        minute.revenue_minor,
                    ]
                )
        return out.getvalue()
