"""Fan-out rules: start at a keyframe, bounded queues that drop to the next keyframe,
one timeline across publisher reconnects."""

from __future__ import annotations

import asyncio

import av
import pytest

from live_server.media.clock import MediaClock
from live_server.media.fanout import FanoutHub
from live_server.media.keyframes import KeyframeRequester


def pkt(pts: int) -> av.Packet:
    p = av.Packet(b"\x00")
    p.pts = pts
    return p


async def test_viewer_starts_at_a_keyframe_and_asks_for_one() -> None:
    asked: list[int] = []
    hub = FanoutHub("video", 90000, lambda: asked.append(1))
    track = hub.new_track("v1")
    assert asked == [1]
    hub.dispatch(pkt(0), keyframe=False)
    hub.dispatch(pkt(3000), keyframe=False)
    assert track.queued == 0 and track.dropped == 2
    hub.dispatch(pkt(6000), keyframe=True)
    hub.dispatch(pkt(9000), keyframe=False)
    assert track.queued == 2
    assert (await track.recv()).pts == 6000
    assert (await track.recv()).pts == 9000


async def test_slow_viewer_drops_to_next_keyframe_without_holding_back_others() -> None:
    hub = FanoutHub("video", 90000, lambda: None, max_queue=10)
    slow = hub.new_track("slow")
    fast = hub.new_track("fast")
    got: list[int] = []

    async def read_fast() -> None:
        while len(got) < 100:
            got.append(int((await fast.recv()).pts or 0))

    reader = asyncio.ensure_future(read_fast())
    for i in range(100):
        hub.dispatch(pkt(i * 3000), keyframe=(i % 30 == 0))
        await asyncio.sleep(0)
    await asyncio.wait_for(reader, 5)
    assert got == [i * 3000 for i in range(100)]
    # the slow one never read: it is bounded and restarted at a keyframe
    assert slow.queued <= 10
    assert slow.overflows >= 1
    first = await slow.recv()
    assert (first.pts or 0) // 3000 % 30 == 0  # what it holds starts at a keyframe


async def test_stop_wakes_a_pending_recv_and_detaches() -> None:
    from aiortc.mediastreams import MediaStreamError

    hub = FanoutHub("audio", 48000, lambda: None)
    track = hub.new_track("a")
    waiter = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0)
    track.stop()
    with pytest.raises(MediaStreamError):
        await asyncio.wait_for(waiter, 2)
    assert track not in hub.viewers


def test_rebase_keeps_one_increasing_timeline_across_publishers() -> None:
    hub = FanoutHub("video", 90000, lambda: None)
    hub.start_source(0.0)
    out = []
    for pts in (0, 3000, 6000):
        p = pkt(pts)
        hub.rebase(p)
        out.append(p.pts)
    assert out == [0, 3000, 6000]
    hub.start_source(5.0)  # the host reconnected 5 s into the show, RTP restarts at 0
    p = pkt(0)
    hub.rebase(p)
    assert p.pts == 5 * 90000
    hub.start_source(0.01)  # a clock earlier than what was sent never goes backwards
    p = pkt(0)
    hub.rebase(p)
    assert p.pts is not None and p.pts > 5 * 90000


async def test_keyframe_requests_are_throttled_and_coalesced() -> None:
    sent: list[float] = []

    async def send() -> None:
        sent.append(asyncio.get_running_loop().time())

    requester = KeyframeRequester(send, min_interval=0.2)
    for _ in range(50):
        requester.request()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert len(sent) == 1
    deadline = asyncio.get_running_loop().time() + 2
    while len(sent) < 2 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)
    assert len(sent) == 2  # one trailing request for the 49 coalesced ones
    assert sent[1] - sent[0] >= 0.19
    assert requester.requested == 50
    requester.close()


def test_media_clock_runs_from_go_live_and_freezes_at_the_end() -> None:
    now = [100.0]
    clock = MediaClock(lambda: now[0])
    assert clock.media_time(1) is None
    clock.start(1)
    now[0] = 112.5
    clock.start(1)  # idempotent: a reconnect does not restart the timeline
    assert clock.media_time(1) == pytest.approx(12.5)
    clock.stop(1)
    now[0] = 200.0
    assert clock.media_time(1) == pytest.approx(12.5)
    assert not clock.is_running(1)
