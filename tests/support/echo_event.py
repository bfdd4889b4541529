"""A trivial room event from outside the room package: what a new live format adds.

`EVENT` ("demo:echo") acks the text back to anyone; `WHISPER` ("demo:whisper") is the same
for signed-in members of the payload's session only, to show the sender gate.
"""

from __future__ import annotations

from typing import Any

from live_server.room import Field, RoomEvent, Sender, id_field


async def echo(sid: str, data: dict[str, Any]) -> dict[str, Any]:
    """Answers with the text it was sent."""
    return {"ok": True, "text": data["text"]}


EVENT = RoomEvent(
    name="demo:echo",
    schema={"text": Field("str", min=1, max=200)},
    handler=echo,
    sender=Sender.ANYONE,
)

WHISPER = RoomEvent(
    name="demo:whisper",
    schema={"session_id": id_field(), "text": Field("str", min=1, max=200)},
    handler=echo,
    sender=Sender.MEMBER | Sender.SIGNED_IN,
)
