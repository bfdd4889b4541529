"""The giveaways' room events: start and cancel (host, moderators), enter (viewers)."""

from __future__ import annotations

from typing import Any

from live_server.commerce.giveaways.rules import MAX_DURATION_S, MAX_PRIZE_LEN, MIN_DURATION_S
from live_server.commerce.giveaways.service import GiveawayService
from live_server.commerce.live_room import LiveRoom
from live_server.room import Field, RoomEvent, Sender, id_field
from live_server.room import events as room_events

GIVEAWAY_START = "giveaway:start"
GIVEAWAY_ENTER = "giveaway:enter"
GIVEAWAY_CANCEL = "giveaway:cancel"

SCHEMAS: dict[str, dict[str, Field]] = {
    GIVEAWAY_START: {
        "session_id": id_field(),
        "duration_s": Field("int", min=MIN_DURATION_S, max=MAX_DURATION_S),
        "prize": Field("str", required=False, min=0, max=MAX_PRIZE_LEN),
        "product_id": id_field(required=False),
        "followers_only": Field("bool", required=False),
        "buyers_only": Field("bool", required=False),
    },
    GIVEAWAY_ENTER: {"session_id": id_field(), "giveaway_id": id_field()},
    GIVEAWAY_CANCEL: {"session_id": id_field(), "giveaway_id": id_field()},
}


def giveaway_events(service: GiveawayService, room: LiveRoom) -> list[RoomEvent]:
    """The events giveaways add to the room."""

    def _who(sid: str) -> Any:
        who = room.principal(sid)
        if who is None:
            raise room_events.RoomError("sign_in_required", "Sign in first.")
        return who

    async def start(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "giveaway": await service.start(_who(sid), data["session_id"], data)}

    async def cancel(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        row = await service.repo.get(data["giveaway_id"])
        if row is None or row["session_id"] != data["session_id"]:
            raise room_events.RoomError("giveaway_not_found", "That giveaway isn't in this show.")
        return {"ok": True, "giveaway": await service.cancel(_who(sid), data["giveaway_id"])}

    return [
        RoomEvent(GIVEAWAY_START, SCHEMAS[GIVEAWAY_START], start, Sender.MODERATOR),
        RoomEvent(
            GIVEAWAY_ENTER, SCHEMAS[GIVEAWAY_ENTER], service.enter, Sender.MEMBER | Sender.SIGNED_IN
        ),
        RoomEvent(GIVEAWAY_CANCEL, SCHEMAS[GIVEAWAY_CANCEL], cancel, Sender.MODERATOR),
    ]
