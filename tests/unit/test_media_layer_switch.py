"""A viewer moves between two simulcast layers' hubs at the new layer's keyframe, with its
timestamps going forward (fanout.ViewerTrack.move_to)."""

from __future__ import annotations

import av

from live_server.media.fanout import FanoutHub


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


async def test_a_keyframe_not_newer_than_the_last_frame_waits() -> None:
    high = FanoutHub("video", 90000, lambda: None)
    low = FanoutHub("video", 90000, lambda: None)
    track = high.new_track("v1")
    high.dispatch(pkt(6000), keyframe=True)
    track.move_to(low)
    low.dispatch(pkt(6000), keyframe=True)  # the same picture, already sent from high
    assert track.hub is high
    low.dispatch(pkt(12000), keyframe=True)
    assert track.hub is low


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
