"""Presence per video tier: the rule, the membership's counts and the `room:watch_tier` event."""

from __future__ import annotations

from typing import Any

import pytest

from live_server.platform.errors import DomainError
from live_server.platform.identity import Principal, Role
from live_server.room import events as ev
from live_server.room.context import Membership
from live_server.room.core_events import core_events
from live_server.room.registry import RoomEventRegistry, Sender
from live_server.room.rules.presence import (
    TIERS,
    Audience,
    Presence,
    PresenceThrottle,
    sum_node_audiences,
    tier_of,
)


def _user(user_id: int) -> Principal:
    return Principal(user_id=user_id, username=f"u{user_id}", role=Role.VIEWER)


def test_a_viewer_counts_in_its_most_real_time_tier() -> None:
    assert TIERS == ("webrtc", "hls")
    assert tier_of({}) is None
    assert tier_of({"hls": 2}) == "hls"
    assert tier_of({"hls": 1, "webrtc": 1}) == "webrtc"
    assert tier_of({"webrtc": 0, "hls": 1}) == "hls"


def test_node_audiences_add_up_and_silent_nodes_drop_out() -> None:
    nodes = {
        "a": (Audience(5, webrtc=3, hls=2), 100.0),
        "b": (Audience(4, webrtc=0, hls=4), 99.0),
        "c": (Audience(50, webrtc=50), 80.0),  # silent for 20 s: its viewers are gone
    }
    assert sum_node_audiences(nodes, 100.0) == Audience(9, webrtc=3, hls=6)
    assert sum_node_audiences({}, 100.0) == Audience()


def test_presence_payload_carries_the_tiers_and_a_tier_change_is_news() -> None:
    assert Presence(3, 7, webrtc=1, hls=2).as_payload() == {
        "viewers": 3,
        "peak": 7,
        "tiers": {"webrtc": 1, "hls": 2},
    }
    throttle = PresenceThrottle(1.0)
    assert throttle.offer(Presence(2, 2, webrtc=2), 0.0) is not None
    # same viewers, one moved to standard latency: sent at the next interval
    assert throttle.offer(Presence(2, 2, webrtc=1, hls=1), 0.5) is None
    assert throttle.offer(Presence(2, 2, webrtc=1, hls=1), 1.0) == Presence(2, 2, 1, 1)


def test_membership_counts_viewers_per_tier_as_they_switch_and_leave() -> None:
    m = Membership()
    ana = m.add_member("s1", _user(1))
    ana_tab = m.add_member("s2", _user(1))  # the same user in a second tab
    bob = m.add_member("s3", _user(2))
    anon = m.add_member("s4", None)
    for member in (ana, ana_tab, bob, anon):
        m.join(member, 9, is_moderator=False)
    assert m.audience(9) == Audience(3, 0, 0)  # nobody said a tier yet

    m.set_tier(ana, 9, "hls")
    m.set_tier(ana_tab, 9, "hls")
    m.set_tier(bob, 9, "webrtc")
    m.set_tier(anon, 9, "hls")
    assert m.audience(9) == Audience(3, webrtc=1, hls=2)
    # one of ana's tabs gets real-time video: ana counts once, in the real-time tier
    m.set_tier(ana_tab, 9, "webrtc")
    assert m.audience(9) == Audience(3, webrtc=2, hls=1)
    m.set_tier(ana_tab, 9, "webrtc")  # said again: nothing changes
    assert m.audience(9) == Audience(3, webrtc=2, hls=1)
    m.leave(ana_tab, 9)
    assert m.audience(9) == Audience(3, webrtc=1, hls=2)
    assert ana_tab.tiers == {}
    m.leave(ana, 9)
    m.leave(anon, 9)
    assert m.audience(9) == Audience(1, webrtc=1, hls=0)
    m.leave(bob, 9)
    assert m.audience(9) == Audience()
    # nothing is left behind for a room that emptied
    assert not m._viewer_tiers and not m._tier_counts


def test_hosts_and_moderators_are_in_no_tier_and_a_role_change_keeps_the_tier() -> None:
    m = Membership()
    host = m.add_member("h", _user(1))
    viewer = m.add_member("v", _user(2))
    m.join(host, 4, is_moderator=True)
    m.join(viewer, 4, is_moderator=False)
    m.set_tier(host, 4, "webrtc")  # the studio's own preview
    m.set_tier(viewer, 4, "hls")
    assert m.audience(4) == Audience(1, webrtc=0, hls=1)
    # the viewer becomes a moderator (a join with the new role), then a viewer again
    m.join(viewer, 4, is_moderator=True)
    assert m.audience(4) == Audience(0, 0, 0) and viewer.tiers == {4: "hls"}
    m.join(viewer, 4, is_moderator=False)
    assert m.audience(4) == Audience(1, webrtc=0, hls=1)
    # a socket that has not joined the room says nothing
    stranger = m.add_member("x", _user(3))
    m.set_tier(stranger, 4, "webrtc")
    assert m.audience(4) == Audience(1, webrtc=0, hls=1) and stranger.tiers == {}


def test_rooms_are_counted_apart() -> None:
    m = Membership()
    ana = m.add_member("s1", _user(1))
    m.join(ana, 1, is_moderator=False)
    m.join(ana, 2, is_moderator=False)
    m.set_tier(ana, 1, "webrtc")
    m.set_tier(ana, 2, "hls")
    assert m.audience(1) == Audience(1, webrtc=1, hls=0)
    assert m.audience(2) == Audience(1, webrtc=0, hls=1)


@pytest.mark.parametrize(
    "payload",
    [
        {"session_id": 1, "tier": "dash"},
        {"session_id": 1, "tier": "HLS"},
        {"session_id": 1},
        {"session_id": 1, "tier": "hls", "extra": 1},
        {"tier": "hls"},
        {"session_id": 0, "tier": "hls"},
    ],
)
def test_watch_tier_payloads_are_validated(payload: dict[str, Any]) -> None:
    with pytest.raises(DomainError):
        ev.validate(ev.WATCH_TIER, payload)


def test_watch_tier_and_presence_are_member_events_of_the_room() -> None:
    assert ev.validate(ev.WATCH_TIER, {"session_id": 3, "tier": "hls"}) == {
        "session_id": 3,
        "tier": "hls",
    }

    class Handlers:
        def __getattr__(self, name: str) -> Any:
            async def handler(sid: str, data: dict[str, Any]) -> dict[str, Any]:
                return {"ok": True, "handled": name}

            return handler

    registry = RoomEventRegistry()
    registry.register_all(core_events(Handlers(), Handlers()))  # type: ignore[arg-type]
    for name in (ev.WATCH_TIER, ev.PRESENCE):
        event = registry.get(name)
        assert event is not None and event.sender == Sender.MEMBER
    assert registry.validate(ev.PRESENCE, {"session_id": 3}) == {"session_id": 3}
