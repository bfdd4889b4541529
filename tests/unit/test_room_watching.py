""" "Watching" (docs/realtime.md): room sockets and WebRTC viewers, each person or device
once, in the most real-time tier; the audience key rule of platform.audience."""

from __future__ import annotations

from live_server.platform.audience import audience_key, device_key, user_of
from live_server.platform.identity import Principal, Role
from live_server.room.context import Membership
from live_server.room.rules.presence import Audience


def _user(user_id: int) -> Principal:
    return Principal(user_id=user_id, username=f"u{user_id}", role=Role.VIEWER)


def test_one_key_per_person_or_device() -> None:
    assert audience_key(7, "device-1") == "u:7"  # an account wins over the device
    device = audience_key(None, "device-1")
    assert device is not None and device.startswith("d:") and len(device) == 26
    assert audience_key(None, "device-1") == device and audience_key(None, "other") != device
    assert audience_key(None, None) is None
    assert device_key("abc-123") == "abc-123"
    for bad in ("", "x" * 201, "with space", "é", 42, None, {"k": 1}):
        assert device_key(bad) is None
    assert user_of("u:7") == 7 and user_of(device) is None and user_of("u:x") is None


def test_sockets_and_video_count_once_in_the_most_real_time_tier() -> None:
    m = Membership()
    ana = m.add_member("s1", _user(1))  # signed in: socket + video
    bob = m.add_member("s2", _user(2))  # says hls on his socket, then also opens video
    tab1 = m.add_member("s3", None, device="dev-c")  # one anonymous device, two tabs
    tab2 = m.add_member("s4", None, device="dev-c")
    lone = m.add_member("s5", None)  # names no device: counts alone
    mod = m.add_member("s6", _user(9))
    for member in (ana, bob, tab1, tab2, lone):
        m.join(member, 42, is_moderator=False)
    m.join(mod, 42, is_moderator=True)
    m.set_tier(bob, 42, "hls")
    m.set_tier(tab1, 42, "hls")
    assert m.audience(42) == Audience(4, webrtc=0, hls=2)
    device_c = audience_key(None, "dev-c")
    assert device_c is not None and m.viewer_keys(42) == {"u:1", "u:2", device_c, "a:s5"}

    # ana's and bob's video: still 4 viewers, both now real-time (bob leaves hls)
    assert m.audience(42, {"u:1", "u:2"}) == Audience(4, webrtc=2, hls=1)
    # someone watching on video only adds one, in the real-time tier
    assert m.audience(42, {"u:1", "u:2", "w:abc"}) == Audience(5, webrtc=3, hls=1)
    # the anonymous device's video is the same viewer as its tabs
    assert m.audience(42, {device_c}) == Audience(4, webrtc=1, hls=1)
    # everyone's sockets gone, video stays: those are still watching
    for member in (ana, bob, tab1, tab2, lone):
        m.leave(member, 42)
    assert m.audience(42, {"u:1"}) == Audience(1, webrtc=1, hls=0)
