"""The auctions' room events: names, payload schemas, handlers and who may send them."""

from __future__ import annotations

from typing import Any

from live_server.commerce.auctions.rules import (
    BID_KINDS,
    FAILURE_CHOICES,
    MAX_DURATION_S,
    MAX_LOT,
    MAX_PRICE_MINOR,
    MAX_WINDOW_S,
    MIN_DURATION_S,
    MODES,
)
from live_server.commerce.auctions.service import AuctionService
from live_server.commerce.live_room import LiveRoom
from live_server.room import Field, RoomEvent, Sender, id_field
from live_server.room import events as room_events

AUCTION_START = "auction:start"
AUCTION_CANCEL = "auction:cancel"
AUCTION_BID = "auction:bid"
AUCTION_STATE = "auction:state"

_PRICE = Field("int", min=1, max=MAX_PRICE_MINOR)

SCHEMAS: dict[str, dict[str, Field]] = {
    AUCTION_START: {
        "session_id": id_field(),
        "product_id": id_field(),
        "start_price_minor": _PRICE,
        "duration_s": Field("int", min=MIN_DURATION_S, max=MAX_DURATION_S),
        "mode": Field("enum", required=False, choices=MODES),
        "window_s": Field("int", required=False, min=1, max=MAX_WINDOW_S),
        "reset_s": Field("int", required=False, min=1, max=MAX_WINDOW_S),
        "reserve_minor": Field("int", required=False, min=1, max=MAX_PRICE_MINOR),
        "quantity": Field("int", required=False, min=1, max=MAX_LOT),
        "on_payment_failure": Field("enum", required=False, choices=FAILURE_CHOICES),
    },
    AUCTION_CANCEL: {"session_id": id_field(), "auction_id": id_field()},
    # one tap sends the card's next_bid_minor as an "amount"; "max" sets a maximum bid
    AUCTION_BID: {
        "session_id": id_field(),
        "auction_id": id_field(),
        "amount_minor": _PRICE,
        "kind": Field("enum", required=False, choices=BID_KINDS),
    },
    AUCTION_STATE: {"session_id": id_field()},
}


def auction_events(service: AuctionService, room: LiveRoom) -> list[RoomEvent]:
    """The events the auctions feature adds to the room."""

    def _who(sid: str) -> Any:
        who = room.principal(sid)
        if who is None:
            raise room_events.RoomError("sign_in_required", "Sign in first.")
        return who

    async def start(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "auction": await service.start(_who(sid), data["session_id"], data)}

    async def cancel(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        meta = await service.meta(data["auction_id"])
        if meta.session_id != data["session_id"]:
            raise room_events.RoomError("auction_not_found", "That auction isn't in this show.")
        return {"ok": True, "result": await service.cancel(_who(sid), data["auction_id"])}

    return [
        RoomEvent(AUCTION_START, SCHEMAS[AUCTION_START], start, Sender.MODERATOR),
        RoomEvent(AUCTION_CANCEL, SCHEMAS[AUCTION_CANCEL], cancel, Sender.MODERATOR),
        RoomEvent(AUCTION_BID, SCHEMAS[AUCTION_BID], service.bid, Sender.MEMBER | Sender.SIGNED_IN),
        RoomEvent(AUCTION_STATE, SCHEMAS[AUCTION_STATE], service.state_event, Sender.MEMBER),
    ]
