"""LiveState: the in-process and the Redis implementation behave the same."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import pytest

from live_server.room.live_state import LiveState, MemoryLiveState, RedisLiveState
from live_server.room.rules.moderation import RoomConfig
from live_server.room.rules.presence import Audience

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def state(request: pytest.FixtureRequest) -> AsyncIterator[LiveState]:
    if request.param == "memory":
        yield MemoryLiveState()
        return
    redis_state = RedisLiveState.from_url(REDIS_URL, prefix=f"test-ls-{uuid.uuid4().hex[:8]}")
    try:
        yield redis_state
    finally:
        await redis_state.delete_all()
        await redis_state.close()


async def test_rate_limit_bucket(state: LiveState) -> None:
    waits = [await state.take_token("u1", 1000.0, 1.0, 3.0) for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(1.0)
    assert await state.take_token("u1", 1001.0, 1.0, 3.0) == 0.0
    assert await state.take_token("u2", 1001.0, 1.0, 3.0) == 0.0


async def test_slow_mode_claims(state: LiveState) -> None:
    assert await state.claim_slow_mode(1, 5, 10, 100.0) == 0.0
    assert await state.claim_slow_mode(1, 5, 10, 104.0) == pytest.approx(6.0)
    assert await state.claim_slow_mode(1, 6, 10, 104.0) == 0.0
    assert await state.claim_slow_mode(1, 5, 10, 110.5) == 0.0


async def test_bans_timeouts_config_pins(state: LiveState) -> None:
    assert not await state.is_banned(1, 9)
    await state.set_banned(1, 9, True)
    assert await state.is_banned(1, 9)
    assert not await state.is_banned(2, 9)
    await state.set_banned(1, 9, False)
    assert not await state.is_banned(1, 9)

    now = time.time()
    await state.set_timeout(1, 9, now + 30, now)
    until = await state.timeout_until(1, 9, now)
    assert until == pytest.approx(now + 30)
    assert await state.timeout_until(1, 9, now + 31) is None
    await state.set_timeout(1, 9, now - 1, now)
    assert await state.timeout_until(1, 9, now) is None

    assert await state.get_config(1) is None
    cfg = RoomConfig(slow_mode_seconds=5, allow_anonymous=False, blocked_words=("a", "b c"))
    await state.set_config(1, cfg)
    assert await state.get_config(1) == cfg

    assert await state.get_pins(1) is None
    await state.set_pins(1, [3, 1])
    assert await state.get_pins(1) == [3, 1]
    await state.set_pins(1, [])
    assert await state.get_pins(1) == []


async def test_reactions_and_viewers(state: LiveState) -> None:
    await state.add_reactions(1, {"heart": 3})
    await state.add_reactions(1, {"heart": 2, "fire": 1})
    assert await state.drain_reactions(1) == {"heart": 5, "fire": 1}
    assert await state.drain_reactions(1) == {}
    assert await state.publish_audience(1, Audience(4, 1, 2), 100.0) == Audience(4, 1, 2)
    assert await state.publish_audience(1, Audience(6), 101.0) == Audience(6)
    assert await state.raise_peak(1, 6) == 6
    assert await state.raise_peak(1, 2) == 6
    assert await state.acquire_tick_lease(1, 1.0)
    assert await state.acquire_tick_lease(1, 1.0)


async def test_sockets(state: LiveState) -> None:
    await state.add_socket(1, 2, "a")
    await state.add_socket(1, 2, "b")
    await state.remove_socket(1, 2, "a")
    assert await state.user_sockets(1, 2) == {"b"}
    assert await state.user_sockets(1, 3) == set()


@pytest.mark.redis
async def test_redis_nodes_share_counts_and_one_tick_lease() -> None:
    prefix = f"test-ls-{uuid.uuid4().hex[:8]}"
    a = RedisLiveState.from_url(REDIS_URL, prefix)
    b = RedisLiveState.from_url(REDIS_URL, prefix)
    try:
        await a.publish_audience(7, Audience(3, webrtc=2, hls=1), 100.0)
        assert await b.publish_audience(7, Audience(4, hls=3), 100.5) == Audience(7, 2, 4)
        assert await a.acquire_tick_lease(7, 5.0)
        assert not await b.acquire_tick_lease(7, 5.0)
        await a.add_reactions(7, {"heart": 1})
        await b.add_reactions(7, {"heart": 2, "clap": 1})
        assert await a.drain_reactions(7) == {"heart": 3, "clap": 1}
        # the rate limit is one bucket for both nodes
        for _ in range(3):
            assert await a.take_token("u", 50.0, 1.0, 3.0) == 0.0
        assert await b.take_token("u", 50.0, 1.0, 3.0) > 0
        await a.set_banned(7, 1, True)
        assert await b.is_banned(7, 1)
        # a node silent for longer than the TTL stops counting
        assert await b.publish_audience(7, Audience(4, hls=3), 130.0) == Audience(4, 0, 3)
    finally:
        await a.delete_all()
        await a.close()
        await b.close()
