"""Pure rules of the live room: payload validation, chat text, rate limits, moderation."""

from __future__ import annotations

import pytest

from live_server.platform.errors import Conflict, DomainError, Forbidden, Invalid
from live_server.platform.identity import Principal, Role
from live_server.room import events as ev
from live_server.room.rules.chat import (
    Bucket,
    clean_text,
    retry_after,
    slow_mode_wait,
    take_token,
)
from live_server.room.rules.moderation import (
    MAX_PINS,
    check_can_pin,
    clean_blocked_words,
    find_blocked_word,
    require_moderator,
)
from live_server.room.rules.presence import Presence, PresenceThrottle, sum_node_counts
from live_server.room.rules.reactions import ReactionAggregator


def test_validate_accepts_a_good_chat_payload() -> None:
    data = ev.validate(ev.CHAT_SEND, {"session_id": 3, "text": "hi", "client_id": "c1"})
    assert data == {"session_id": 3, "text": "hi", "client_id": "c1"}


@pytest.mark.parametrize(
    ("event", "payload", "code"),
    [
        ("nope", {}, "unknown_event"),
        (ev.CHAT_SEND, "hello", "invalid"),
        (ev.CHAT_SEND, [1, 2], "invalid"),
        (ev.CHAT_SEND, None, "invalid"),
        (ev.CHAT_SEND, {"session_id": "1", "text": "x"}, "invalid"),
        (ev.CHAT_SEND, {"session_id": True, "text": "x"}, "invalid"),
        (ev.CHAT_SEND, {"session_id": 0, "text": "x"}, "invalid"),
        (ev.CHAT_SEND, {"session_id": 2**60, "text": "x"}, "invalid"),
        (ev.CHAT_SEND, {"session_id": 1, "text": 5}, "invalid"),
        (ev.CHAT_SEND, {"session_id": 1}, "invalid"),
        (ev.CHAT_SEND, {"session_id": 1, "text": "x" * 5000}, "too_long"),
        (ev.CHAT_SEND, {"session_id": 1, "text": "x", "admin": True}, "invalid"),
        (ev.CHAT_SEND, {"session_id": 1, "text": "x", "client_id": "y" * 9000}, "too_large"),
        (ev.REACTION_SEND, {"session_id": 1, "kind": "<script>"}, "invalid"),
        (ev.REACTION_SEND, {"session_id": 1, "kind": "heart", "count": 10_000}, "invalid"),
        (ev.MOD_BLOCKED_WORDS, {"session_id": 1, "words": "bad"}, "invalid"),
        (ev.MOD_BLOCKED_WORDS, {"session_id": 1, "words": [1]}, "invalid"),
        (ev.MOD_SETTINGS, {"session_id": 1, "allow_anonymous": 1}, "invalid"),
        (ev.MOD_TIMEOUT, {"session_id": 1, "user_id": 2, "seconds": -5}, "invalid"),
    ],
)
def test_validate_refuses_bad_payloads(event: str, payload: object, code: str) -> None:
    with pytest.raises(DomainError) as info:
        ev.validate(event, payload)
    assert info.value.code == code
    ack = ev.ack_for(info.value)
    assert ack["error"]["code"] == code and ack["error"]["message"]


def test_every_client_event_has_a_schema_with_a_session_id() -> None:
    for name in ev.CLIENT_EVENTS:
        assert "session_id" in ev.SCHEMAS[name], name


def test_clean_text_trims_controls_and_keeps_html_as_text() -> None:
    assert clean_text("  hello\r\n\tworld\u202e\x00 ") == "hello world"
    assert clean_text("<b>bold</b>") == "<b>bold</b>"
    with pytest.raises(DomainError) as info:
        clean_text("\u200b \n ")
    assert info.value.code == "empty"
    with pytest.raises(DomainError) as info:
        clean_text("a" * 11, max_len=10)
    assert info.value.code == "too_long"


def test_token_bucket_bursts_then_refills() -> None:
    bucket: Bucket | None = None
    results = []
    for _ in range(4):
        ok, bucket, wait = take_token(bucket, 100.0, rate=1.0, burst=3.0)
        results.append(ok)
    assert results == [True, True, True, False]
    assert wait == pytest.approx(1.0)
    ok, bucket, _ = take_token(bucket, 100.5, rate=1.0, burst=3.0)
    assert not ok
    ok, bucket, _ = take_token(bucket, 101.0, rate=1.0, burst=3.0)
    assert ok
    # a clock going backwards refills nothing
    ok, _, _ = take_token(Bucket(0.0, 200.0), 150.0, rate=1.0, burst=3.0)
    assert not ok


def test_retry_after_rounds_up_so_waiting_it_is_enough() -> None:
    assert [retry_after(w) for w in (0.0, 0.001, 0.04, 0.1, 0.11, 1.0)] == [
        0.0, 0.1, 0.1, 0.1, 0.2, 1.0,
    ]  # fmt: skip
    # the flood guard's numbers (30 a second, burst 60): a bucket left with 0.9 tokens is
    # 1/300 s short; rounded to the nearest tenth that read "retry after 0.0"
    now = 100.0
    ok, bucket, wait = take_token(Bucket(0.9, now), now, rate=30.0, burst=60.0)
    assert not ok and retry_after(wait) == 0.1
    assert not take_token(bucket, now + wait / 2, rate=30.0, burst=60.0)[0]
    assert take_token(bucket, now + retry_after(wait), rate=30.0, burst=60.0)[0]


def test_slow_mode_wait() -> None:
    assert slow_mode_wait(None, 10.0, 5) == 0.0
    assert slow_mode_wait(10.0, 12.0, 5) == pytest.approx(3.0)
    assert slow_mode_wait(10.0, 16.0, 5) == 0.0
    assert slow_mode_wait(10.0, 11.0, 0) == 0.0


def test_blocked_words_match_whole_words_case_insensitively() -> None:
    words = clean_blocked_words(["Scam", " free  money ", "scam", ""])
    assert words == ("free money", "scam")
    assert find_blocked_word("This is a SCAM!", words) == "scam"
    assert find_blocked_word("get FREE   money", words) is None  # spacing differs
    assert find_blocked_word("get free money now", words) == "free money"
    assert find_blocked_word("scampi is tasty", words) is None
    assert find_blocked_word("no-scam-here", words) == "scam"
    assert find_blocked_word("anything", ()) is None
    with pytest.raises(Invalid):
        clean_blocked_words(["x" * 51])


def test_only_host_moderators_and_admins_moderate() -> None:
    host = Principal(1, "host", Role.HOST)
    mod = Principal(2, "mod", Role.VIEWER)
    viewer = Principal(3, "v", Role.VIEWER)
    admin = Principal(4, "a", Role.ADMIN)
    other_host = Principal(5, "h2", Role.HOST)
    for ok in (host, mod, admin):
        assert require_moderator(ok, 1, {2}) is ok
    for bad in (viewer, other_host, None):
        with pytest.raises(Forbidden):
            require_moderator(bad, 1, {2})


def test_pin_limit_and_lineup() -> None:
    assert check_can_pin([], 1, [1, 2]) is True
    assert check_can_pin([1], 1, [1, 2]) is False
    with pytest.raises(Invalid):
        check_can_pin([], 9, [1, 2])
    full = list(range(1, MAX_PINS + 1))
    with pytest.raises(Conflict):
        check_can_pin(full, 99, [*full, 99])


def test_reactions_aggregate_until_drained() -> None:
    agg = ReactionAggregator()
    for _ in range(100):
        agg.add(7, "heart")
    agg.add(7, "fire", 5)
    agg.add(7, "bogus", 5)
    agg.add(8, "heart", 1000)
    assert agg.drain(7) == {"heart": 100, "fire": 5}
    assert agg.drain(7) == {}
    assert agg.drain(8) == {"heart": 50}


def test_presence_throttle_sends_at_most_once_per_interval_and_only_changes() -> None:
    throttle = PresenceThrottle(1.0)
    assert throttle.offer(Presence(1, 1), 0.0) == Presence(1, 1)
    assert throttle.offer(Presence(2, 2), 0.5) is None
    assert throttle.offer(Presence(2, 2), 1.0) == Presence(2, 2)
    assert throttle.offer(Presence(2, 2), 5.0) is None
    assert sum_node_counts({"a": (3, 100.0), "b": (4, 99.0), "c": (10, 50.0)}, 100.0) == 7
