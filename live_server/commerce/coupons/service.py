"""Live coupons: the host drops one in the room, viewers claim it, checkout redeems it.

Only the show's host (or an admin) sets a discount: it is the merchant's money. Moderators
may withdraw a coupon, which only ever protects the merchant. Claiming is one tap in the
room; the discount is applied by checkout inside its transaction
(`redemption.load_ledger`), exactly once per order and never past the coupon's limits.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Mapping
from typing import Any

from live_server.commerce.auctions.rules import money
from live_server.commerce.coupons.rules import (
    CouponTerms,
    CouponTermsError,
    check_coupon_terms,
    is_valid,
)
from live_server.commerce.coupons.store import CodeTaken, CouponsRepository
from live_server.commerce.live_clock import MediaTimes
from live_server.commerce.live_room import LiveRoom
from live_server.platform.errors import Conflict, Forbidden, Invalid, NotFound
from live_server.platform.identity import Principal
from live_server.room import events as room_events
from live_server.shows import LiveSessionService

logger = logging.getLogger(__name__)

COUPON_DROPPED = "coupon:dropped"
COUPON_WITHDRAWN = "coupon:withdrawn"
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud on camera
TICK_CACHE_S = 1.0


def coupon_text(row: Mapping[str, Any], titles: Mapping[int, str]) -> str:
    """ "10% off everything in this show", "$5 off Red scarf"."""
    off = (
        f"{row['value']}% off"
        if row["kind"] == "percent"
        else (f"{money(int(row['value']), str(row['currency']))} off")
    )
    listed = json.loads(row["product_ids_json"]) if row["product_ids_json"] else None
    if listed is None:
        return f"{off} everything in this show"
    names = [titles.get(int(pid), "an item") for pid in listed]
    return f"{off} {', '.join(names[:3])}" + (" and more" if len(names) > 3 else "")


class CouponService:
    """Dropping, claiming, withdrawing and listing live coupons."""

    def __init__(
        self,
        repo: CouponsRepository,
        sessions: LiveSessionService,
        room: LiveRoom,
        media_times: MediaTimes,
    ) -> None:
        self.repo = repo
        self._sessions = sessions
        self._room = room
        self._media_times = media_times
        self._tick_cache: dict[int, tuple[float, list[dict[str, Any]]]] = {}

    async def _payload(self, row: Mapping[str, Any], *, stats: bool = False) -> dict[str, Any]:
        view = await self._sessions.view(int(row["session_id"]))
        session = await self._sessions.get(int(row["session_id"]))
        titles = {p.id: p.title for p in view.products}
        listed = json.loads(row["product_ids_json"]) if row["product_ids_json"] else None
        now = time.time()
        valid = is_valid(
            withdrawn=row["withdrawn_at"] is not None,
            show_state=session.state.value,
            show_ended_at=session.ended_at,
            after_min=int(row["after_show_minutes"]),
            now=now,
        )
        until = None
        if session.ended_at is not None:
            until = session.ended_at + int(row["after_show_minutes"]) * 60
        payload: dict[str, Any] = {
            "id": row["id"],
            "session_id": row["session_id"],
            "code": row["code"],
            "kind": row["kind"],
            "value": row["value"],
            "currency": row["currency"],
            "product_ids": listed,
            "total_limit": row["total_limit"],
            "per_buyer_limit": row["per_buyer_limit"],
            "left": int(row["total_limit"]) - int(row["redeemed"]),
            "valid": valid,
            "valid_until": until,
            "after_show_minutes": row["after_show_minutes"],
            "text": coupon_text(row, titles),
            "server_time": now,
        }
        if stats:
            payload["claims"] = row["claims"]
            payload["redemptions"] = row["redeemed"]
            payload["discount_minor_total"] = row["discount_total"]
        return payload

    async def drop(self, who: Principal, session_id: int, data: dict[str, Any]) -> dict[str, Any]:
        """Drops a coupon into a live show (its host or an admin)."""
        session = await self._sessions.require_visible(who, session_id)
        if who.user_id != session.host_id and not who.is_admin:
            raise Forbidden("Only the show's host sets a coupon's discount.", code="not_merchant")
        if not session.is_live:
            raise Conflict("Coupons are dropped while the show is live.", code="session_not_live")
        view = await self._sessions.view(session_id)
        lineup = [p.id for p in view.products]
        if not lineup:
            raise Invalid("This show has no products to take a coupon.", code="empty_lineup")
        listed = data.get("product_ids")
        terms = CouponTerms(
            kind=data["kind"],
            value=data["value"],
            total_limit=data["total_limit"],
            per_buyer_limit=data.get("per_buyer_limit", 1),
            product_ids=tuple(listed) if listed else None,
            after_show_minutes=data.get("after_show_minutes", 0),
        )
        try:
            check_coupon_terms(terms, lineup, {p.id: p.price_minor for p in view.products})
        except CouponTermsError as exc:
            raise Invalid(str(exc), code="invalid_coupon", field=exc.field) from None
        now = time.time()
        media_time = await self._media_times.at(session_id, now)
        for _ in range(5):
            code = "LIVE-" + "".join(secrets.choice(_ALPHABET) for _ in range(5))
            try:
                row = await self.repo.create(
                    session_id=session_id,
                    created_by=who.user_id,
                    code=code,
                    terms=terms,
                    currency=view.products[0].currency,
                    now=now,
                    media_time=media_time,
                )
                break
            except CodeTaken:
                continue
        else:  # pragma: no cover - 32^5 codes
            raise Conflict("Couldn't find a free coupon code; try again.", code="code_taken")
        self._tick_cache.pop(session_id, None)
        payload = await self._payload(row)
        await self._room.emit_to_room(session_id, COUPON_DROPPED, payload)
        logger.info("session %d: coupon %s (%s %d)", session_id, code, terms.kind, terms.value)
        return payload

    async def claim(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """`coupon:claim`: one tap; the coupon is then applied when the viewer buys."""
        who = self._room.principal(sid)
        if who is None:
            raise room_events.RoomError("sign_in_required", "Sign in to claim a coupon.")
        row = await self.repo.get(data["coupon_id"])
        if row is None or row["session_id"] != data["session_id"]:
            raise room_events.RoomError("coupon_not_found", "That coupon isn't in this show.")
        refusal = await self._room.moderation_refusal(data["session_id"], who.user_id)
        if refusal is not None:
            raise room_events.RoomError("not_allowed", refusal)
        payload = await self._payload(row)
        if not payload["valid"]:
            raise room_events.RoomError("coupon_expired", "This coupon has expired.")
        if payload["left"] <= 0:
            raise room_events.RoomError(
                "coupon_used_up", f"All {payload['total_limit']:,} coupons have been used."
            )
        now = time.time()
        await self.repo.claim(
            int(row["id"]), who.user_id, now, await self._media_times.at(data["session_id"], now)
        )
        text = f"{payload['code']} is yours: {payload['text']}. It's applied when you buy."
        return {"ok": True, "coupon": payload, "text": text}

    async def withdraw(self, who: Principal, coupon_id: int) -> dict[str, Any]:
        """Stops a coupon now (host, moderators or admins)."""
        row = await self.repo.get(coupon_id)
        if row is None:
            raise NotFound("There's no such coupon.", code="coupon_not_found")
        if not await self._sessions.can_moderate(who, int(row["session_id"])):
            raise Forbidden("Only the host and this show's moderators can withdraw a coupon.")
        await self.repo.withdraw(coupon_id, time.time())
        self._tick_cache.pop(int(row["session_id"]), None)
        payload = await self._payload(await self.repo.get(coupon_id) or row)
        await self._room.emit_to_room(int(row["session_id"]), COUPON_WITHDRAWN, payload)
        return payload

    async def for_session(self, who: Principal | None, session_id: int) -> list[dict[str, Any]]:
        """A show's coupons; its host and moderators also see claims and redemptions."""
        await self._sessions.require_visible(who, session_id)
        stats = await self._sessions.can_moderate(who, session_id)
        return [
            await self._payload(r, stats=stats) for r in await self.repo.for_session(session_id)
        ]

    async def active(self, session_id: int) -> list[dict[str, Any]]:
        """The show's usable coupons for its tick (read at most once a second)."""
        cached = self._tick_cache.get(session_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < TICK_CACHE_S:
            return cached[1]
        rows = await self.repo.for_session(session_id)
        items = [p for p in [await self._payload(r) for r in rows[:10]] if p["valid"]]
        self._tick_cache[session_id] = (now, items)
        return items


class CouponsTick:
    """The room's tick contributor for coupons (section "coupons")."""

    name = "coupons"

    def __init__(self, service: CouponService) -> None:
        self._svc = service

    async def room_tick(self, session_id: int) -> dict[str, Any] | None:
        """The show's usable coupons with how many are left."""
        items = await self._svc.active(session_id)
        return {"items": items} if items else None

    async def card_extras(
        self, session_id: int, product_ids: list[int]
    ) -> dict[int, dict[str, Any]]:
        """Coupons are shown on their own card."""
        return {}
