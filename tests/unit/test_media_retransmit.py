"""The retransmission gate (media/retransmit.py): once per round trip per packet, and within
a share of the viewer's estimate once it is known."""

from __future__ import annotations

from live_server.media.retransmit import FORGET_S, MIN_BURST_BYTES, RECENT, RetransmitGate


def test_a_packet_is_resent_at_most_once_per_round_trip() -> None:
    gate = RetransmitGate()
    assert gate.allow(500, 1200, now=10.0, rtt_s=0.1)
    assert not gate.allow(500, 1200, now=10.05, rtt_s=0.1)  # before the copy could land
    assert gate.allow(501, 1200, now=10.05, rtt_s=0.1)  # another packet is not held back
    assert gate.allow(500, 1200, now=10.11, rtt_s=0.1)
    assert gate.skipped == 1
    # a loopback round trip: a lost retransmission may be asked for again at once
    assert gate.allow(600, 1200, now=20.0, rtt_s=0.0005)
    assert not gate.allow(600, 1200, now=20.004, rtt_s=0.0005)  # 5 ms at least
    assert gate.allow(600, 1200, now=20.006, rtt_s=0.0005)
    # no estimate yet: 20 ms
    assert gate.allow(700, 1200, now=30.0)
    assert not gate.allow(700, 1200, now=30.019)
    assert gate.allow(700, 1200, now=30.021)


def test_without_an_estimate_every_packet_may_be_resent_once() -> None:
    gate = RetransmitGate()
    assert all(gate.allow(seq, 1200, now=1.0) for seq in range(100))
    assert gate.skipped == 0


def test_with_an_estimate_retransmissions_stay_within_its_share() -> None:
    gate = RetransmitGate(share=0.5)
    gate.set_estimate(400_000)  # 25 000 bytes/s of retransmissions at most
    sent = 0
    seq = 0
    for step in range(1000):  # a viewer asking for 20 packets every 10 ms for 10 s
        now = 100.0 + step * 0.01
        for _ in range(20):
            sent += gate.allow(seq % 65536, 1200, now, rtt_s=0.1) * 1200
            seq += 1
    budget = 25_000 * 10  # bytes in 10 s
    assert budget - 1200 <= sent <= budget + MIN_BURST_BYTES + 2500
    assert gate.skipped > 15_000


def test_a_higher_estimate_lets_more_through_and_none_lifts_the_budget() -> None:
    gate = RetransmitGate()
    gate.set_estimate(100_000)
    allowed_low = sum(gate.allow(i, 1000, now=1.0 + i * 0.001) for i in range(1000))
    gate.set_estimate(2_000_000)
    allowed_high = sum(gate.allow(i, 1000, now=2.0 + i * 0.001) for i in range(1000))
    assert allowed_high > 5 * allowed_low
    gate.set_estimate(None)
    assert all(gate.allow(i, 1000, now=3.0) for i in range(200))


def test_a_nack_for_a_packet_gone_from_the_history_asks_for_a_keyframe_once_a_second() -> None:
    gate = RetransmitGate()
    # sent lately (the next one to send is 1000): a keyframe, then none for a second
    assert gate.gone(900, 1000, 10.0)
    assert not gate.gone(901, 1000, 10.5)
    assert gate.gone(902, 1000, 11.0)
    # across the 16-bit wrap it is still one sent lately
    assert gate.gone(65_530, 10, 12.0)
    # never sent (ahead of the next one) or long ago: nothing to ask for
    assert not gate.gone(1000, 1000, 20.0)
    assert not gate.gone(1500, 1000, 21.0)
    assert not gate.gone(1000 - RECENT - 1, 1000, 22.0)
    assert gate.gone_keyframes == 3


def test_a_hold_resends_nothing_and_asks_for_no_keyframe_until_it_ends() -> None:
    gate = RetransmitGate()
    gate.hold(until=5.0)
    assert not gate.allow(1, 1000, now=4.0)
    assert not gate.gone(900, 1000, 4.5)
    assert gate.held == 1 and gate.gone_keyframes == 0
    # at its end it lets go by itself
    assert gate.allow(1, 1000, now=5.0) and gate.gone(900, 1000, 5.0)
    # and a hold taken back early lets go at once
    gate.hold(until=50.0)
    assert not gate.allow(2, 1000, now=6.0)
    gate.hold(None)
    assert gate.allow(2, 1000, now=6.1)
    assert gate.held == 2


def test_after_a_restart_nothing_sent_before_it_is_resent() -> None:
    gate = RetransmitGate()
    gate.forget_before(3, now=1.0)  # the new keyframe is packet 3; across the 16-bit wrap
    assert not gate.allow(2, 1000, now=1.0) and not gate.allow(65_535, 1000, now=1.0)
    assert not gate.gone(65_000, 10, now=1.0)  # and no keyframe asked for those
    assert gate.allow(3, 1000, now=1.0) and gate.allow(4, 1000, now=1.0)
    assert gate.held == 2
    # for a while only: the sequence numbers come round again (every 7 min at 150 a second)
    assert gate.allow(65_534, 1000, now=1.0 + FORGET_S)
