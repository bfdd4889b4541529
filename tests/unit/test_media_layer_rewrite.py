"""A viewer's stream across simulcast layer switches (media/layer_rewrite.py): one run of
sequence numbers, timestamps that follow the wall clock, VP8 picture IDs by one, switches
only at the new layer's keyframe, wraps handled."""

from __future__ import annotations

from live_server.media.layer_rewrite import LayerRewriter, Rewritten


def test_the_first_layer_starts_at_the_viewers_own_origin() -> None:
    rw = LayerRewriter(first_sequence_number=1000, first_timestamp=500)
    rw.switch_to("l")
    # nothing before l's keyframe, nothing of another layer
    assert rw.rewrite("l", 7, 90_000, 0.0, frame_start=True) is None
    assert rw.rewrite("h", 7, 90_000, 0.0, frame_start=True, keyframe=True) is None
    out = rw.rewrite("l", 8, 93_000, 0.03, frame_start=True, keyframe=True, picture_id=40)
    assert out == Rewritten(1000, 500, 40)
    assert rw.rewrite("l", 9, 93_000, 0.03) == Rewritten(1001, 500, None)
    assert rw.rewrite("l", 10, 96_000, 0.06, frame_start=True, picture_id=41) == Rewritten(
        1002, 3500, 41
    )


def test_a_switch_continues_every_number_at_the_new_layers_keyframe() -> None:
    rw = LayerRewriter()
    assert rw.rewrite("l", 100, 1_000, 0.0, frame_start=True, keyframe=True, picture_id=5)
    assert rw.rewrite("l", 101, 4_000, 0.033, frame_start=True, picture_id=6) == Rewritten(
        101, 4_000, 6
    )
    rw.switch_to("h")
    # l keeps flowing until h's keyframe; h's delta frames are not for this viewer
    assert rw.rewrite("h", 60_000, 7_777_000, 0.05, frame_start=True, picture_id=900) is None
    assert rw.rewrite("l", 102, 7_000, 0.066, frame_start=True, picture_id=7) == Rewritten(
        102, 7_000, 7
    )
    out = rw.rewrite("h", 60_001, 7_780_000, 0.1, frame_start=True, keyframe=True, picture_id=901)
    # seq +1; timestamp + 34 ms at 90 kHz (0.1 - 0.066 s); picture ID +1
    assert out == Rewritten(103, 7_000 + 3060, 8)
    assert rw.current == "h" and rw.pending is None and rw.switches == 2
    # the old layer's packets in flight are dropped; the new layer maps with one offset
    assert rw.rewrite("l", 103, 10_000, 0.1) is None
    assert rw.rewrite("h", 60_002, 7_780_000, 0.1) == Rewritten(104, 10_060, None)
    # a retransmitted (older) packet of the layer maps the same way
    assert rw.rewrite("h", 60_001, 7_780_000, 0.2) == Rewritten(103, 10_060, None)


def test_numbers_wrap_and_a_switch_right_after_a_wrap_goes_on_by_one() -> None:
    rw = LayerRewriter(first_sequence_number=65_534, first_timestamp=2**32 - 100)
    rw.rewrite("m", 10, 0, 0.0, frame_start=True, keyframe=True, picture_id=32_767)
    assert rw.rewrite("m", 11, 0, 0.0) == Rewritten(65_535, 2**32 - 100, None)
    assert rw.rewrite("m", 12, 3_000, 0.033, frame_start=True, picture_id=0) == Rewritten(
        0, 2_900, 0
    )
    rw.switch_to("l")
    out = rw.rewrite("l", 40_000, 123, 0.066, frame_start=True, keyframe=True, picture_id=17)
    assert out == Rewritten(1, 2_900 + 2_970, 1)


def test_switching_back_and_to_the_current_layer() -> None:
    rw = LayerRewriter()
    rw.rewrite("h", 1, 0, 0.0, frame_start=True, keyframe=True)
    rw.switch_to("h")  # already there: nothing pending
    assert rw.pending is None
    rw.switch_to("l")
    rw.switch_to("m")  # the latest wish wins
    assert rw.rewrite("l", 500, 0, 0.01, frame_start=True, keyframe=True) is None
    assert rw.rewrite("m", 900, 0, 0.02, frame_start=True, keyframe=True) == Rewritten(
        2, 1800, None
    )
    # a keyframe's later packets (not its first) do not start a switch
    rw.switch_to("h")
    assert rw.rewrite("h", 2, 0, 0.03, keyframe=True) is None
    assert rw.rewrite("h", 3, 3_000, 0.04, frame_start=True, keyframe=True) == Rewritten(
        3, 1800 + 1800, None
    )
