"""The per-node ban list that WHEP, LL-HLS and checkout ask: one read for a burst of
questions, a ban seen at once (forget / ViewerBanned), an unban elsewhere within the TTL."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from live_server.platform.events import ViewerBanned
from live_server.room.ban_list import BanList
from live_server.room.stores.moderation import ModerationRepository


class FakeBans:
    def __init__(self) -> None:
        self.bans: dict[int, set[int]] = {}
        self.reads = 0
        self.gate: asyncio.Event | None = None

    async def banned_users(self, session_id: int) -> list[int]:
        self.reads += 1
        if self.gate is not None:
            await self.gate.wait()
        return sorted(self.bans.get(session_id, set()))


def _list(fake: FakeBans, clock: list[float]) -> BanList:
    return BanList(cast(ModerationRepository, fake), ttl_s=1.0, clock=lambda: clock[0])


async def test_a_burst_of_questions_is_one_read() -> None:
    fake, clock = FakeBans(), [100.0]
    fake.bans[1] = {7}
    fake.gate = asyncio.Event()
    bans = _list(fake, clock)
    asks: list[Any] = [bans.is_banned(1, 7) for _ in range(500)] + [bans.is_banned(1, 8)]
    pending = asyncio.gather(*asks)
    await asyncio.sleep(0)
    fake.gate.set()
    answers = await pending
    assert answers == [True] * 500 + [False]
    assert fake.reads == 1
    assert await bans.is_banned(1, 7) and fake.reads == 1  # reused within the TTL


async def test_a_ban_holds_at_once_and_an_unban_elsewhere_within_the_ttl() -> None:
    fake, clock = FakeBans(), [100.0]
    bans = _list(fake, clock)
    assert not await bans.is_banned(1, 7)
    fake.bans[1] = {7}  # banned on another node: its notice reaches this node's bus
    await bans.on_viewer_banned(ViewerBanned(1, 7))
    assert await bans.is_banned(1, 7)
    fake.bans[1] = set()  # unbanned on another node (no notice)
    assert await bans.is_banned(1, 7)
    clock[0] += 1.01
    assert not await bans.is_banned(1, 7)
    assert fake.reads == 3


async def test_a_failed_read_is_not_kept() -> None:
    class Broken(FakeBans):
        async def banned_users(self, session_id: int) -> list[int]:
            self.reads += 1
            if self.reads == 1:
                raise OSError("disk")
            return [7]

    fake, clock = Broken(), [100.0]
    bans = _list(fake, clock)
    try:
        await bans.is_banned(1, 7)
    except OSError:
        pass
    else:  # pragma: no cover
        raise AssertionError("the read error should reach the caller")
    assert await bans.is_banned(1, 7)
