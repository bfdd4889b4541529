"""Room service pieces that need no server: the chat write-behind, the media-time cache and
the incremental viewer counts."""

from __future__ import annotations

import asyncio

import pytest

from live_server.platform.identity import Principal, Role
from live_server.room.chat_writer import ChatWriter
from live_server.room.context import Membership, RoomContext
from live_server.room.rules.chat import ChatMessage


def _msg(i: int) -> ChatMessage:
    return ChatMessage(i, 1, 2, "ana", f"m{i}", 100.0 + i, None)


class FlakyRepo:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.stored: list[int] = []

    async def add_many(self, messages: list[ChatMessage]) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("database is locked")
        self.stored += [m.id for m in messages]


async def test_chat_writer_batches_and_keeps_messages_across_a_failure() -> None:
    repo = FlakyRepo(failures=1)
    writer = ChatWriter(repo, delay=0.01)  # type: ignore[arg-type]
    for i in range(1, 4):
        writer.add(_msg(i))
    with pytest.raises(RuntimeError):
        await writer.flush()
    assert repo.stored == []
    writer.add(_msg(4))
    await writer.flush()
    assert repo.stored == [1, 2, 3, 4]
    writer.add(_msg(5))
    for _ in range(100):  # the timer flushes on its own
        if repo.stored[-1:] == [5]:
            break
        await asyncio.sleep(0.01)
    assert repo.stored == [1, 2, 3, 4, 5]
    await writer.close()


class CountingClock:
    def __init__(self) -> None:
        self.calls = 0

    async def media_time(self, session_id: int) -> float | None:
        self.calls += 1
        return 50.0 if session_id == 1 else None


async def test_media_time_is_read_once_a_second_and_extrapolated() -> None:
    clock = CountingClock()
    ctx = RoomContext(clock=clock, **{k: None for k in _CTX_ARGS})  # type: ignore[arg-type]
    first = await ctx.media_time(1)
    second = await ctx.media_time(1)
    assert first == 50.0 and second is not None and 50.0 <= second < 50.5
    assert clock.calls == 1
    assert await ctx.media_time(2) is None and await ctx.media_time(2) is None
    assert clock.calls == 2
    ctx.forget_media_time(1)
    await ctx.media_time(1)
    assert clock.calls == 3


class SlowClock:
    """A clock whose reads wait until released (a busy database)."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()

    async def media_time(self, session_id: int) -> float | None:
        self.calls += 1
        if self.calls > 1:
            await self.release.wait()
        return 100.0 * self.calls


async def test_a_stale_media_time_is_refreshed_without_making_the_caller_wait() -> None:
    clock = SlowClock()
    ctx = RoomContext(clock=clock, **{k: None for k in _CTX_ARGS})  # type: ignore[arg-type]
    assert await ctx.media_time(1) == 100.0
    value, at = ctx._media_times[1]
    ctx._media_times[1] = (value, at - 2.0)  # two seconds old
    stale = await asyncio.wait_for(ctx.media_time(1), 0.5)  # the slow read is not awaited
    assert stale is not None and 102.0 <= stale < 103.0
    await asyncio.wait_for(ctx.media_time(1), 0.5)
    assert clock.calls == 2  # one background read at a time
    clock.release.set()
    for _ in range(100):
        if ctx._media_times[1][0] == 200.0:
            break
        await asyncio.sleep(0.01)
    fresh = await ctx.media_time(1)
    assert fresh is not None and 200.0 <= fresh < 200.5


_CTX_ARGS: tuple[str, ...] = (
    "sessions",
    "products",
    "chat",
    "pins",
    "moderation",
    "stats",
    "state",
    "broadcaster",
)


def test_membership_counts_distinct_viewers_without_moderators() -> None:
    m = Membership()
    ana = Principal(1, "ana", Role.VIEWER)
    a1 = m.add_member("s1", ana)
    a2 = m.add_member("s2", ana)  # a second tab
    anon = m.add_member("s3", None)
    mod = m.add_member("s4", Principal(2, "mod", Role.VIEWER))
    for member, is_mod in ((a1, False), (a2, False), (anon, False), (mod, True)):
        m.join(member, 7, is_mod)
    assert m.viewer_count(7) == 2
    assert m.viewer_keys(7) == {"u:1", "a:s3"}
    m.join(a1, 7, False)  # joining twice changes nothing
    assert m.viewer_count(7) == 2
    m.leave(a1, 7)
    assert m.viewer_count(7) == 2  # the other tab is still there
    m.leave(a2, 7)
    m.leave(anon, 7)
    assert m.viewer_count(7) == 0
    assert 7 in m.rooms  # the moderator is still in the room
    m.leave(mod, 7)
    assert 7 not in m.rooms
