"""Which simulcast layer feeds the show (media/simulcast.py): the largest live layer,
switched to only at its keyframe, with a settle time against flapping, and a fall back to
a lower layer when the source stops."""

from __future__ import annotations

import pytest

from live_server.media.simulcast import DROP, FORWARD, Decision, SourceChooser

HD, SD, LD = (1280, 720), (640, 360), (320, 180)


def test_the_first_keyframe_of_a_live_layer_starts_the_show() -> None:
    chooser = SourceChooser(("h", "m", "l"), start_wait_s=0.0)
    # a delta frame cannot start a picture: ask that layer for a keyframe
    assert chooser.on_frame("l", False, None, 0.0) == Decision(forward=False, keyframe_from="l")
    assert chooser.on_frame("l", True, LD, 0.03) == Decision(forward=True, switched=True)
    assert chooser.current == "l"
    assert chooser.on_frame("l", False, None, 0.06) == FORWARD
    assert chooser.on_frame("x", True, HD, 0.06) == DROP  # not a layer of the offer


def test_layers_that_come_up_with_the_show_take_over_at_once() -> None:
    chooser = SourceChooser(("h", "m", "l"), start_wait_s=0.0, settle_s=1.0)
    assert chooser.on_frame("l", True, LD, 0.0).switched  # the first keyframe starts the show
    # m's first frame is not a keyframe: its size is unknown, so it ranks below l
    assert chooser.on_frame("m", False, None, 0.2) == DROP
    # h arrives 0.3 s later, within the show's first second: no settle time
    assert chooser.on_frame("h", True, HD, 0.3) == Decision(forward=True, switched=True)
    assert chooser.current == "h" and chooser.switches == 2
    assert chooser.on_frame("l", False, None, 0.31) == DROP


def test_a_larger_layer_takes_over_at_its_keyframe_once_it_has_settled() -> None:
    chooser = SourceChooser(("h", "m", "l"), start_wait_s=0.0, settle_s=1.0)
    chooser.on_frame("l", True, LD, 0.0)
    t = 0.0
    while t < 3.0:
        t += 0.05
        assert chooser.on_frame("l", False, None, t) == FORWARD
    # h starts later in the show: ranked first at once, but not the target until it settled
    assert chooser.on_frame("h", True, HD, 3.2) == DROP
    assert [s.rid for s in chooser.ranked()] == ["h", "l", "m"]
    t = 3.2
    while t < 4.15:
        t += 0.05
        assert chooser.on_frame("l", False, None, t) == FORWARD
        assert chooser.on_frame("h", False, None, t) == DROP
    # settled (live since 3.2, now 4.25): l keeps flowing and asks h for a keyframe
    t = 4.25
    assert chooser.on_frame("l", False, None, t) == Decision(forward=True, keyframe_from="h")
    assert chooser.on_frame("h", False, None, t) == Decision(forward=False, keyframe_from="h")
    assert chooser.on_frame("h", True, HD, t + 0.01) == Decision(forward=True, switched=True)
    assert chooser.current == "h" and chooser.switches == 2
    # the old source's frames stop going out
    assert chooser.on_frame("l", False, None, t + 0.02) == DROP


def test_a_flapping_layer_never_pulls_the_show_up() -> None:
    chooser = SourceChooser(("h", "l"), start_wait_s=0.0, stale_after_s=0.5, settle_s=1.0)
    chooser.on_frame("l", True, LD, 0.0)
    t = 0.0
    while t < 10:
        t += 0.1
        assert chooser.on_frame("l", False, None, t).forward
        # from 2 s on, h sends a keyframe burst for 0.6 s, then pauses 0.7 s (its live
        # span restarts each time)
        if t > 2 and (t % 1.3) < 0.6:
            decision = chooser.on_frame("h", True, HD, t)
            assert not decision.switched, t
    assert chooser.current == "l" and chooser.switches == 1


def test_when_the_source_stops_a_lower_live_layer_takes_over_at_its_keyframe() -> None:
    chooser = SourceChooser(("h", "m", "l"), start_wait_s=0.0, stale_after_s=1.0, settle_s=0.0)
    chooser.on_frame("h", True, HD, 0.0)
    chooser.on_frame("m", True, SD, 0.0)
    assert chooser.current == "h"
    assert chooser.on_frame("m", False, None, 0.5) == DROP  # h is live: m is not wanted
    # h goes silent; after 1 s it is not live and m (live) becomes the target
    assert chooser.on_frame("m", False, None, 1.2) == Decision(forward=False, keyframe_from="m")
    assert chooser.target(1.2) == "m"
    assert chooser.on_frame("m", True, SD, 1.3) == Decision(forward=True, switched=True)
    # h comes back: it takes over again at its keyframe (settle_s=0 here)
    assert chooser.on_frame("h", True, HD, 2.0) == Decision(forward=True, switched=True)
    assert chooser.current == "h"


def test_layers_rank_by_the_size_their_keyframes_declare() -> None:
    # OBS-style rids in any order: the size decides, unknown sizes rank last (offer order)
    chooser = SourceChooser(("0", "1", "2"), start_wait_s=0.0)
    assert [s.rid for s in chooser.ranked()] == ["0", "1", "2"]
    chooser.on_frame("2", True, HD, 0.0)
    chooser.on_frame("0", True, LD, 0.0)
    assert [s.rid for s in chooser.ranked()] == ["2", "0", "1"]
    # a layer whose encoder scaled it down drops in the ranking at its next keyframe
    chooser.on_frame("2", True, (160, 90), 0.1)
    assert [s.rid for s in chooser.ranked()] == ["0", "2", "1"]
    with pytest.raises(ValueError):
        SourceChooser(())


def test_nothing_is_live_nothing_is_the_target() -> None:
    chooser = SourceChooser(("h",), start_wait_s=0.0, stale_after_s=1.0)
    assert chooser.target(0.0) is None
    chooser.on_frame("h", True, HD, 0.0)
    assert chooser.target(0.5) == "h"
    assert chooser.target(5.0) is None
    layer = chooser.layer("h")
    assert layer is not None and (layer.frames, layer.keyframes, layer.size) == (1, 1, HD)


def test_the_first_source_waits_briefly_for_every_expected_layer() -> None:
    chooser = SourceChooser(("h", "m", "l"), start_wait_s=1.0, expected={"h", "l"})
    # l's keyframe comes first: the show waits for h (m is paused: not waited for)
    assert chooser.on_frame("l", True, LD, 0.0) == DROP
    assert chooser.target(0.01) is None
    assert chooser.on_frame("h", True, HD, 0.02) == Decision(forward=True, switched=True)
    assert chooser.current == "h" and chooser.switches == 1
    # ... and when a layer never comes, the best one there starts the show after the wait
    late = SourceChooser(("h", "l"), start_wait_s=1.0)
    assert late.on_frame("l", True, LD, 0.0) == DROP
    assert late.on_frame("l", False, None, 0.9) == DROP
    assert late.on_frame("l", False, None, 1.0) == Decision(forward=False, keyframe_from="l")
    assert late.on_frame("l", True, LD, 1.05) == Decision(forward=True, switched=True)
    # the top layer arriving first, the others after: it needs a fresh keyframe to start
    first = SourceChooser(("h", "l"), start_wait_s=1.0)
    assert first.on_frame("h", True, HD, 0.0) == DROP
    assert first.on_frame("l", True, LD, 0.01) == DROP
    assert first.on_frame("h", False, None, 0.03) == Decision(forward=False, keyframe_from="h")
    assert first.on_frame("h", True, HD, 0.1) == Decision(forward=True, switched=True)
