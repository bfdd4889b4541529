"""A room event defined outside the room package, registered with one line on the real app,
answered to a real python-socketio client with the transport's usual checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from live_server.platform.errors import DomainError
from live_server.room import ROOM_EVENTS
from live_server.room.events import ack_for
from support import echo_event
from support.room import Room, make_room


@pytest.fixture
async def room(client: Any, make_user: Any) -> AsyncIterator[Room]:
    base_url = str(client.make_url("/")).rstrip("/")
    r = await make_room(client, make_user, base_url)
    yield r
    await r.close()


async def test_a_registered_event_is_answered_like_the_rooms_own(
    app: web.Application, room: Room
) -> None:
    anon = await room.client(None, join=False)
    # before registration the name is unknown, as any other
    before = await anon.call("demo:echo", {"text": "hi"})
    assert before == {"error": {"code": "unknown_event", "message": "unknown event"}}

    app[ROOM_EVENTS].register(echo_event.EVENT)  # the one line a feature needs

    assert await anon.call("demo:echo", {"text": "héllo ✓"}) == {"ok": True, "text": "héllo ✓"}
    # the standard validation and its error acks
    assert await anon.call("demo:echo", {"text": 5}) == {
        "error": {"code": "invalid", "message": "The message must be text.", "field": "text"}
    }
    assert await anon.call("demo:echo", {"text": "x", "extra": 1}) == {
        "error": {"code": "invalid", "message": "Unknown field: extra."}
    }
    assert await anon.call("demo:echo", "not an object") == {
        "error": {"code": "invalid", "message": "the payload must be a JSON object"}
    }
    assert await anon.call("demo:echo", {"text": "a"}, {"text": "b"}) == {
        "error": {"code": "invalid", "message": "send exactly one JSON object"}
    }
    # the room's own events are untouched
    snapshot = await anon.join(room.session_id)
    assert snapshot["session"]["id"] == room.session_id


async def test_a_duplicate_or_malformed_registration_is_refused(app: web.Application) -> None:
    registry = app[ROOM_EVENTS]
    registry.register(echo_event.EVENT)
    with pytest.raises(ValueError, match="registered already"):
        registry.register(echo_event.EVENT)
    core = registry.get("chat:send")
    assert core is not None
    with pytest.raises(ValueError, match="registered already"):
        registry.register(core)
    names = registry.names()
    assert names.count("demo:echo") == 1 and "room:join" in names


async def test_the_sender_gate_runs_before_the_handler(app: web.Application, room: Room) -> None:
    app[ROOM_EVENTS].register(echo_event.WHISPER)
    payload = {"session_id": room.session_id, "text": "psst"}
    viewer = await room.client(room.viewer_token, join=False)
    assert await viewer.call("demo:whisper", payload) == {
        "error": {"code": "not_joined", "message": "join the session's room first"}
    }
    anon = await room.client(None)
    assert await anon.call("demo:whisper", payload) == {
        "error": {"code": "sign_in_required", "message": "sign in first"}
    }
    await viewer.join(room.session_id)
    assert await viewer.call("demo:whisper", payload) == {"ok": True, "text": "psst"}


async def test_the_core_events_gate_answers_in_the_services_own_words(
    app: web.Application, room: Room
) -> None:
    # The gate refuses before the handler; the handler, called past it, must refuse alike.
    registry = app[ROOM_EVENTS]
    anon = await room.client(None, join=False)
    viewer = await room.client(room.viewer_token, join=False)
    sid, pid = room.session_id, room.product_ids[0]
    cases = [
        (anon, "mod:ban", {"session_id": sid, "user_id": room.viewer["id"]}),
        (anon, "pin:add", {"session_id": sid, "product_id": pid}),
        (anon, "mod:log", {"session_id": sid}),
        (viewer, "chat:send", {"session_id": sid, "text": "hi"}),
        (viewer, "reaction:send", {"session_id": sid, "kind": "heart"}),
    ]
    for who, name, payload in cases:
        via_transport = await who.call(name, payload)
        event = registry.get(name)
        assert event is not None
        with pytest.raises(DomainError) as info:
            await event.handler(who.sio.get_sid(), registry.validate(name, payload))
        assert via_transport == ack_for(info.value), name
