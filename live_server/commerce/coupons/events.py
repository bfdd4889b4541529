"""The live coupons' room events: drop (the host), claim (viewers), withdraw."""

from __future__ import annotations

from typing import Any

from live_server.commerce.coupons.rules import MAX_AFTER_MINUTES, MAX_PER_BUYER, MAX_TOTAL
from live_server.commerce.coupons.service import CouponService
from live_server.commerce.live_room import LiveRoom
from live_server.room import Field, RoomEvent, Sender, id_field
from live_server.room import events as room_events

COUPON_DROP = "coupon:drop"
COUPON_CLAIM = "coupon:claim"
COUPON_WITHDRAW = "coupon:withdraw"

SCHEMAS: dict[str, dict[str, Field]] = {
    COUPON_DROP: {
        "session_id": id_field(),
        "kind": Field("enum", choices=("percent", "amount")),
        "value": Field("int", min=1, max=100_000_000),
        "total_limit": Field("int", min=1, max=MAX_TOTAL),
        "per_buyer_limit": Field("int", required=False, min=1, max=MAX_PER_BUYER),
        "after_show_minutes": Field("int", required=False, min=0, max=MAX_AFTER_MINUTES),
        # product ids as decimal strings (the room's list fields hold strings)
        "product_ids": Field("str_list", required=False, min=1, max=19, max_items=50),
    },
    COUPON_CLAIM: {"session_id": id_field(), "coupon_id": id_field()},
    COUPON_WITHDRAW: {"session_id": id_field(), "coupon_id": id_field()},
}


def coupon_events(service: CouponService, room: LiveRoom) -> list[RoomEvent]:
    """The events live coupons add to the room."""

    def _who(sid: str) -> Any:
        who = room.principal(sid)
        if who is None:
            raise room_events.RoomError("sign_in_required", "Sign in first.")
        return who

    async def drop(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        raw = data.get("product_ids")
        if raw is not None:
            if not all(p.isdigit() for p in raw):
                raise room_events.RoomError("invalid", "Pick products from the line-up.")
            data = {**data, "product_ids": [int(p) for p in raw]}
        return {"ok": True, "coupon": await service.drop(_who(sid), data["session_id"], data)}

    async def withdraw(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        row = await service.repo.get(data["coupon_id"])
        if row is None or row["session_id"] != data["session_id"]:
            raise room_events.RoomError("coupon_not_found", "That coupon isn't in this show.")
        return {"ok": True, "coupon": await service.withdraw(_who(sid), data["coupon_id"])}

    return [
        RoomEvent(COUPON_DROP, SCHEMAS[COUPON_DROP], drop, Sender.MODERATOR),
        RoomEvent(
            COUPON_CLAIM, SCHEMAS[COUPON_CLAIM], service.claim, Sender.MEMBER | Sender.SIGNED_IN
        ),
        RoomEvent(COUPON_WITHDRAW, SCHEMAS[COUPON_WITHDRAW], withdraw, Sender.MODERATOR),
    ]
