"""A viewer moves between two simulcast layers' hubs at the new layer's keyframe, with its
timestamps going forward (fanout.ViewerTrack.move_to)."""

from __future__ import annotations

import av
import pytest

from live_server.media import fanout
from live_server.media.fanout import FanoutHub
from live_server.media.retransmit import RetransmitGate


def pkt(pts: int) -> av.Packet:
    p = av.Packet(b"\x00")
    p.pts = pts
    return p


async def test_viewer_moves_at_the_new_layers_keyframe() -> None:
    asked: list[str] = []
    high = FanoutHub("video", 90000, lambda: asked.append("h"))
    low = FanoutHub("video", 90000, lambda: asked.append("l"))
    track = high.new_track("v1")
    high.dispatch(pkt(0), keyframe=True)
    track.move_to(low)
    assert asked == ["h", "l"] and track.pending is low and low.wanted
    low.dispatch(pkt(3000), keyframe=False)  # not a keyframe: still on the high layer
    high.dispatch(pkt(3000), keyframe=False)
    assert track.hub is high
    low.dispatch(pkt(6000), keyframe=True)
    assert track.hub is low and track.pending is None and track.switches == 1
    high.dispatch(pkt(9000), keyframe=False)  # the old layer's frames no longer reach it
    low.dispatch(pkt(9000), keyframe=False)
    got = [int((await track.recv()).pts or 0) for _ in range(track.queued)]
    assert got == [0, 3000, 6000, 9000]
    assert track not in high.viewers and track in low.viewers


async def test_timestamps_continue_across_layers_whose_timelines_differ() -> None:
    high = FanoutHub("video", 90000, lambda: None)
    low = FanoutHub("video", 90000, lambda: None)
    track = high.new_track("v1")
    for pts in (600000, 603000):
        high.rebase(pkt(pts))
    high.start_source(10.0)
    frame = pkt(5)
    high.rebase(frame)  # the high layer's timeline: 900000
    high.dispatch(frame, keyframe=True)
    low.start_source(9.0)
    frame = pkt(7)
    low.rebase(frame)  # the low layer's: 810000, a second behind
    track.move_to(low)
    low.dispatch(frame, keyframe=True)
    assert track.hub is low
    got = [int((await track.recv()).pts or 0) for _ in range(track.queued)]
    # the viewer's stream goes on from 900000 by about the time that passed, not back
    assert got[0] == 900000 and 900000 < got[1] < 900000 + 9000
    frame = pkt(3007)
    low.rebase(frame)
    low.dispatch(frame, keyframe=False)
    assert int((await track.recv()).pts or 0) == got[1] + 3000


async def test_moving_back_cancels_and_stop_forgets() -> None:
    high = FanoutHub("video", 90000, lambda: None)
    low = FanoutHub("video", 90000, lambda: None)
    track = high.new_track("v1")
    track.move_to(low)
    track.move_to(high)
    assert track.pending is None and not low.wanted
    track.move_to(low)
    track.stop()
    assert not low.wanted and not high.wanted


async def test_a_hold_stops_the_old_layer_at_once_and_ends_at_the_switch() -> None:
    high = FanoutHub("video", 90000, lambda: None)
    low = FanoutHub("video", 90000, lambda: None)
    track = high.new_track("v1")
    high.dispatch(pkt(0), keyframe=True)
    track.move_to(low, hold=True)
    track.move_to(low)  # asked again, as every chooser tick does: the hold stays
    high.dispatch(pkt(3000), keyframe=False)  # held: the viewer's link drains meanwhile
    high.dispatch(pkt(6000), keyframe=False)
    assert track.held == 2
    low.dispatch(pkt(9000), keyframe=True)
    low.dispatch(pkt(12000), keyframe=False)
    got = [int((await track.recv()).pts or 0) for _ in range(track.queued)]
    assert got == [0, 9000, 12000]
    # moving back cancels a hold at once
    track.move_to(high, hold=True)
    track.move_to(low)
    low.dispatch(pkt(15000), keyframe=False)
    assert track.held == 2 and track.queued == 1


async def test_a_hold_ends_when_the_new_layers_keyframe_is_late(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [100.0]
    monkeypatch.setattr(fanout.time, "monotonic", lambda: now[0])
    high = FanoutHub("video", 90000, lambda: None)
    low = FanoutHub("video", 90000, lambda: None)
    track = high.new_track("v1")
    high.dispatch(pkt(0), keyframe=True)
    track.move_to(low, hold=True)
    now[0] += fanout.HOLD_MAX_S - 0.1
    high.dispatch(pkt(3000), keyframe=False)
    now[0] += 0.2  # past the hold: the old layer again, and the move still stands
    high.dispatch(pkt(6000), keyframe=False)
    assert track.held == 1 and track.pending is low
    got = [int((await track.recv()).pts or 0) for _ in range(track.queued)]
    assert got == [0, 6000]


class GatedSender:
    """The parts of a fast sender a move touches: its retransmission gate and shifts."""

    def __init__(self) -> None:
        self.gate = RetransmitGate()
        self.shifts: list[int] = []

    def shift_timestamps(self, ticks: int) -> None:
        self.shifts.append(ticks)

    def shift_picture_ids(self, step: int) -> None:
        pass

    def restart_at_keyframe(self) -> None:
        self.gate.forget_before(100, fanout.time.monotonic())  # its next packet: 100


async def test_a_hold_also_holds_the_old_layers_retransmissions_until_the_switch() -> None:
    high = FanoutHub("video", 90000, lambda: None)
    low = FanoutHub("video", 90000, lambda: None)
    track = high.new_track("v1")
    high.dispatch(pkt(0), keyframe=True)
    sender = GatedSender()
    track.fast = sender  # type: ignore[assignment]
    track.move_to(low, hold=True)
    now = fanout.time.monotonic()
    assert not sender.gate.allow(7, 1200, now)  # a NACK for the old layer: not now
    low.dispatch(pkt(3000), keyframe=True)
    assert track.hub is low
    # after the switch: what was sent before it is never resent, the new layer's is
    assert not sender.gate.allow(99, 1200, now)
    assert sender.gate.allow(100, 1200, now) and sender.gate.allow(101, 1200, now)
    assert sender.gate.held == 2
    # a move without a hold holds nothing
    track.move_to(high)
    assert sender.gate.allow(102, 1200, now) and sender.gate.held == 2
