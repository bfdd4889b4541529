"""The open room-event registry: registration rules, validation, subscribers, sender gate."""

from __future__ import annotations

from typing import Any

import pytest

from live_server.platform.errors import DomainError
from live_server.platform.identity import Principal, Role
from live_server.room import events as ev
from live_server.room.context import Member
from live_server.room.events import Field, id_field
from live_server.room.registry import (
    RoomEvent,
    RoomEventRegistry,
    RoomExtension,
    Sender,
    check_sender,
)


async def _ok(sid: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True}


def _event(name: str, sender: Sender = Sender.ANYONE, **schema: Field) -> RoomEvent:
    return RoomEvent(name, schema or {"text": Field("str", max=10)}, _ok, sender)


class _Tick:
    name = "demo"

    async def room_tick(self, session_id: int) -> dict[str, Any] | None:
        return None

    async def card_extras(
        self, session_id: int, product_ids: list[int]
    ) -> dict[int, dict[str, Any]]:
        return {}


@pytest.mark.parametrize("name", ["echo", "Demo:echo", "demo:", ":echo", "demo:echo:x", "*"])
def test_a_name_without_the_prefix_form_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="area:action"):
        RoomEventRegistry().register(_event(name))


def test_a_duplicate_is_refused_and_register_all_is_all_or_nothing() -> None:
    registry = RoomEventRegistry()
    registry.register(_event("demo:a"))
    with pytest.raises(ValueError, match="'demo:a' is registered already"):
        registry.register(_event("demo:a"))
    with pytest.raises(ValueError, match="'demo:b' is registered already"):
        registry.register_all([_event("demo:b"), _event("demo:b")])
    with pytest.raises(ValueError):
        registry.register_all([_event("demo:c"), _event("bad")])
    assert registry.names() == ("demo:a",)


def test_session_senders_need_a_required_session_id() -> None:
    registry = RoomEventRegistry()
    for sender in (Sender.MEMBER, Sender.MODERATOR, Sender.MEMBER | Sender.SIGNED_IN):
        with pytest.raises(ValueError, match="session_id"):
            registry.register(_event("demo:x", sender))
        with pytest.raises(ValueError, match="session_id"):
            registry.register(_event("demo:x", sender, session_id=id_field(required=False)))
    registry.register(_event("demo:signed", Sender.SIGNED_IN))  # needs no session
    registry.register(_event("demo:member", Sender.MEMBER, session_id=id_field()))
    assert registry.names() == ("demo:signed", "demo:member")


def test_validate_uses_the_events_schema_and_refuses_unknown_names() -> None:
    registry = RoomEventRegistry()
    registry.register(_event("demo:a"))
    assert registry.validate("demo:a", {"text": "hi"}) == {"text": "hi"}
    for name, payload, code in [
        ("demo:a", {"text": "x" * 11}, "too_long"),
        ("demo:a", {}, "invalid"),
        ("demo:a", [], "invalid"),
        ("demo:nope", {"text": "hi"}, "unknown_event"),
    ]:
        with pytest.raises(DomainError) as info:
            registry.validate(name, payload)
        assert info.value.code == code
    assert registry.get("demo:a") is not None and registry.get("demo:nope") is None


def test_subscribers_hear_of_every_event_registered_before_and_after() -> None:
    registry = RoomEventRegistry()
    registry.register(_event("demo:a"))
    heard: list[str] = []
    registry.subscribe(lambda event: heard.append(event.name))
    registry.register_all([_event("demo:b"), _event("demo:c")])
    assert heard == ["demo:a", "demo:b", "demo:c"]


def test_an_extension_registers_events_and_contributors_together() -> None:
    registry = RoomEventRegistry()
    early, late = _Tick(), _Tick()
    fed: list[Any] = []
    registry.extend(RoomExtension("demo", events=[_event("demo:a")], contributors=[early]))
    registry.feed_contributors(fed.append)
    registry.extend(RoomExtension("more", contributors=[late]))
    assert fed == [early, late] and registry.contributors() == (early, late)
    # a refused extension adds nothing, contributors included
    with pytest.raises(ValueError):
        registry.extend(RoomExtension("again", events=[_event("demo:a")], contributors=[_Tick()]))
    assert fed == [early, late] and registry.names() == ("demo:a",)


def test_core_events_are_the_rooms_vocabulary() -> None:
    from live_server.room.core_events import core_events

    class Handlers:  # stands in for RoomService / RoomModeration: every method is _ok
        def __getattr__(self, name: str) -> Any:
            return _ok

    events = core_events(Handlers(), Handlers())  # type: ignore[arg-type]
    assert [e.name for e in events] == list(ev.CLIENT_EVENTS)
    assert all(e.handler is _ok for e in events)
    assert all(e.schema is ev.SCHEMAS[e.name] for e in events)
    registry = RoomEventRegistry()
    registry.register_all(events)  # every core schema fits its sender
    senders = {e.name: e.sender for e in events}
    assert senders[ev.JOIN] == senders[ev.LEAVE] == Sender.ANYONE
    assert senders[ev.CHAT_SEND] == senders[ev.REACTION_SEND] == Sender.MEMBER
    assert {senders[n] for n in ev.CLIENT_EVENTS if n.startswith(("pin:", "mod:"))} == {
        Sender.MODERATOR
    }


def _refusal(sender: Sender, member: Member | None, data: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(DomainError) as info:
        check_sender(sender, member, data)
    return ev.ack_for(info.value)


def test_the_sender_gate_refuses_with_the_services_own_acks() -> None:
    user = Principal(user_id=7, username="ana", role=Role.VIEWER)
    anon, signed = Member("s1", None), Member("s2", user)
    data = {"session_id": 3}
    for sender in (Sender.ANYONE, Sender.SIGNED_IN, Sender.MODERATOR):
        if sender is not Sender.ANYONE:
            assert _refusal(sender, anon, data) == {
                "error": {"code": "sign_in_required", "message": "sign in first"}
            }
        check_sender(sender, signed, data)
    assert _refusal(Sender.MODERATOR, None, data)["error"]["code"] == "sign_in_required"
    # what RoomService._joined answers
    assert _refusal(Sender.MEMBER, signed, data) == {
        "error": {"code": "not_joined", "message": "join the session's room first"}
    }
    assert _refusal(Sender.MEMBER, None, data) == {
        "error": {"code": "unauthorized", "message": "not connected"}
    }
    signed.joined[3] = False
    anon.joined[3] = False
    check_sender(Sender.MEMBER, signed, data)
    check_sender(Sender.MEMBER, anon, data)
    assert _refusal(Sender.MEMBER | Sender.SIGNED_IN, anon, data)["error"]["code"] == (
        "sign_in_required"
    )
