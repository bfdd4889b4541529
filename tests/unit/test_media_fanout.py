"""Fan-out rules: start at a keyframe, bounded queues that drop to the next keyframe,
one timeline across publisher reconnects."""

from __future__ import annotations

import asyncio
import fractions

import av
import pytest

from live_server.media.aiortc.fastpath import SENT, WOULD_BLOCK
from live_server.media.clock import MediaClock
from live_server.media.fanout import FanoutHub, ViewerTrack
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


def test_rebase_goes_on_across_the_rtp_timestamp_wrap() -> None:
    """A host's RTP timestamps start at random and pass 2^32 (every 13 h at 90 kHz): the
    timeline goes on by the frame interval; a late frame from before the wrap stays behind
    (read as 13 h ahead, it once stamped every later frame one tick after it, and the
    viewer saw its picture jump 4 s back)."""
    hub = FanoutHub("video", 90000, lambda: None)
    hub.start_source(0.0)
    raw = [0xFFFFFFFF - 6000 + 1, 0xFFFFFFFF - 3000 + 1, 0, 3000, 0xFFFFFFFF - 3000 + 1, 6000]
    out = []
    for pts in raw:
        p = pkt(pts)
        hub.rebase(p)
        out.append(p.pts)
    assert out[:4] == [0, 3000, 6000, 9000]
    assert out[4] == 9001  # the late one: after what was sent, not 13 h ahead
    assert out[5] == 12000  # and the stream goes on where it was
    hub.start_source(10.0)  # a new source: its own first timestamp, wherever it is
    p = pkt(0xFFFFFF00)
    hub.rebase(p)
    assert p.pts == 10 * 90000


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


class FakeFastSender:
    """Stands in for FastRtpSender: records frames, answers with scripted statuses."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.frames: list[tuple[int, int]] = []  # (payload count, rtp timestamp)
        self.statuses = statuses or []
        self.backlog = 0
        self.detached = False

    def batch_state(self) -> None:
        return None  # no send state: the hub sends through send_frame, one viewer at a time

    def send_frame(self, payloads: list[bytes], timestamp: int) -> int:
        self.frames.append((len(payloads), timestamp))
        return self.statuses.pop(0) if self.statuses else SENT

    def detach(self) -> None:
        self.detached = True


def vp8(pts: int, keyframe: bool, size: int = 3000) -> av.Packet:
    p = av.Packet(bytes([0x10 if keyframe else 0x11]) + bytes(size))
    p.pts = pts
    p.time_base = fractions.Fraction(1, 90000)
    return p


async def _started(track: ViewerTrack) -> asyncio.Task[av.Packet]:
    task = asyncio.ensure_future(track.recv())  # what aiortc's sender loop does
    await asyncio.sleep(0)
    return task


async def test_fast_path_flushes_the_queue_then_sends_from_dispatch_packetised_once() -> None:
    hub = FanoutHub("video", 90000, lambda: None)
    hub.codec_name = "VP8"
    fakes = [FakeFastSender(), FakeFastSender()]
    tracks = [hub.new_track("a"), hub.new_track("b")]
    for track, fake in zip(tracks, fakes, strict=True):
        track.use_fast_path(lambda fake=fake: fake)  # type: ignore[misc]
    hub.dispatch(vp8(0, True), keyframe=True)  # queued: senders not started yet
    tasks = [await _started(t) for t in tracks]
    assert all(f.frames == [(3, 0)] for f in fakes)  # flushed on the first recv()
    hub.dispatch(vp8(3000, False), keyframe=False)
    assert all(f.frames == [(3, 0), (3, 3000)] for f in fakes)
    assert all(t.delivered == 2 and t.queued == 0 for t in tracks)
    assert not any(task.done() for task in tasks)  # aiortc's own loop stays parked
    for track in tracks:
        track.stop()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert all(f.detached for f in fakes)


async def test_fast_path_socket_full_drops_to_the_next_keyframe() -> None:
    asked: list[int] = []
    hub = FanoutHub("video", 90000, lambda: asked.append(1))
    hub.codec_name = "VP8"
    fake = FakeFastSender([SENT, WOULD_BLOCK])
    track = hub.new_track("a")
    track.use_fast_path(lambda: fake)  # type: ignore[arg-type,return-value]
    task = await _started(track)
    asked.clear()
    hub.dispatch(vp8(0, True), keyframe=True)
    hub.dispatch(vp8(3000, False), keyframe=False)  # would block
    assert track.overflows == 1 and asked == [1]
    hub.dispatch(vp8(6000, False), keyframe=False)  # not sent: it would not decode
    assert [ts for _, ts in fake.frames] == [0, 3000]
    hub.dispatch(vp8(9000, True), keyframe=True)
    assert [ts for _, ts in fake.frames] == [0, 3000, 9000]
    track.stop()
    await asyncio.gather(task, return_exceptions=True)


async def test_no_fast_sender_keeps_the_queue_for_aiortcs_sender() -> None:
    hub = FanoutHub("video", 90000, lambda: None)
    hub.codec_name = "VP8"
    track = hub.new_track("a")
    track.use_fast_path(lambda: None)
    hub.dispatch(vp8(0, True), keyframe=True)
    assert (await track.recv()).pts == 0
    assert track.fast is None
