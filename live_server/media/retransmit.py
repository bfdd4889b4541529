"""Which of a viewer's NACKed packets to send again (pure; the fast path asks it per packet).

A viewer on a congested link loses many packets and asks for each again every round trip.
Answering every request made it worse: measured with Chromium behind a 400 kbit/s shaper
(`make bench-layers-shaped`), the server resent about 460
packets a second (some 5 Mbit/s) into that link for 15 s, so the lower layer the viewer had
been moved to froze too. Two limits, as libwebrtc's sender keeps its own:

- **once per round trip:** a packet is resent at most once per round-trip time (the
  sender's estimate from the viewer's receiver reports, at least 5 ms; 20 ms until there is
  one); a request repeated sooner is answered by the copy already on its way;
- **a budget:** while the viewer is congested (losing packets) and its bandwidth estimate
  is known (its REMB), retransmissions may use at most ``share`` of it (a token bucket
  holding 100 ms of it, at least two full packets), so media and repairs together stay
  near what the link carries. A clean viewer's repairs are not held: a new viewer's first
  estimate is a guess (Chromium starts near 300 kbit/s), and a budget from it can starve
  the repair of its first keyframe (the likely cause of a CI run in which a browser viewer
  of a simulcast show had no picture within 10 s).

While the viewer moves to another layer urgently (its picture broken, its link overrun:
``fanout.ViewerTrack.move_to``'s hold), nothing is resent (``hold``), and once it has
moved, nothing sent before the move (``forget_before``): the link drains before the new
layer's keyframe, which restarts the picture anyway. Measured with a shaped Chromium
viewer: its NACKs for the old layer had 30-35 packets (about 40 kB, 0.8 s of its
400 kbit/s link) resent ahead of that keyframe, most of them just after the switch.

A NACK for a packet the history no longer holds cannot be answered, and the viewer's
decoder then waits for a keyframe: Chromium asks for one itself only after 3 s without a
decodable frame, which was the 3-3.6 s frozen picture of a shaped viewer. ``gone`` says
when to ask the host for one on the viewer's behalf: for a packet sent lately (within
``RECENT`` sequence numbers of the next one), at most once per ``GONE_INTERVAL_S``.
"""

from __future__ import annotations

SLOTS = 128  # the sender's history holds 128 packets: older ones cannot be resent anyway
MIN_INTERVAL_S = 0.005
UNKNOWN_RTT_S = 0.02
#: the share of the viewer's estimate that retransmissions may use
SHARE = 0.5
MIN_BURST_BYTES = 2 * 1500
#: a NACK for a packet gone from the history asks for a keyframe if the packet was among
#: the last RECENT sent, at most once per GONE_INTERVAL_S
RECENT = 4096
GONE_INTERVAL_S = 1.0
#: after an urgent move, what was sent before it is refused this long (by then the history
#: of 128 packets has moved on; and a 16-bit sequence number comes round again later)
FORGET_S = 5.0


class RetransmitGate:
    """Decides, per NACKed packet, whether to resend it now."""

    def __init__(self, share: float = SHARE) -> None:
        self.share = share
        self._last: list[tuple[int, float]] = [(-1, 0.0)] * SLOTS
        self._rate: float | None = None  # bytes per second, None: no budget
        self._tokens = 0.0
        self._burst = 0.0
        self._at = 0.0
        self.skipped = 0  # requests not answered (counted for stats and tests)
        self._gone_at = -1e9
        self.gone_keyframes = 0  # keyframes asked for because a NACK came too late
        self._held_until: float | None = None
        self._restart: tuple[int, float] | None = None  # see forget_before
        self.held = 0  # requests not answered because of a hold or a restart

    def hold(self, until: float | None) -> None:
        """Resend nothing, and ask for no keyframe, until ``until`` (monotonic s; None:
        from now on again)."""
        self._held_until = until

    def forget_before(self, sequence_number: int, now: float) -> None:
        """The viewer's picture restarts at packet ``sequence_number`` (the new layer's
        keyframe after an urgent move, at ``now``): for ``FORGET_S`` resend nothing older
        and ask for no keyframe for it."""
        self._restart = (sequence_number & 0xFFFF, now + FORGET_S)

    def _before_restart(self, sequence_number: int, now: float) -> bool:
        restart = self._restart
        if restart is None:
            return False
        if now >= restart[1]:
            self._restart = None
            return False
        return 0 < ((restart[0] - sequence_number) & 0xFFFF) <= RECENT

    def _holding(self, now: float) -> bool:
        until = self._held_until
        if until is not None and now >= until:
            self._held_until = until = None
        return until is not None

    def set_estimate(self, bps: float | None) -> None:
        """The viewer's bandwidth estimate (bits/s), None when not known (no budget)."""
        if bps is None or bps <= 0:
            self._rate = None
            return
        rate = bps * self.share / 8
        if self._rate is None:
            self._tokens = max(rate * 0.1, MIN_BURST_BYTES)
        self._rate = rate
        self._burst = max(rate * 0.1, MIN_BURST_BYTES)

    def allow(
        self, sequence_number: int, size: int, now: float, rtt_s: float | None = None
    ) -> bool:
        """Whether to resend packet ``sequence_number`` (``size`` bytes on the wire) now,
        given the round-trip time ``rtt_s`` (None: not known yet); True also records it."""
        if self._holding(now) or self._before_restart(sequence_number, now):
            self.held += 1
            self.skipped += 1
            return False
        slot = sequence_number % SLOTS
        seq, at = self._last[slot]
        interval = UNKNOWN_RTT_S if rtt_s is None else max(MIN_INTERVAL_S, rtt_s)
        if seq == sequence_number and now - at < interval:
            self.skipped += 1
            return False
        if self._rate is not None:
            self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
            self._at = now
            if self._tokens < size:
                self.skipped += 1
                return False
            self._tokens -= size
        self._last[slot] = (sequence_number, now)
        return True

    def gone(self, sequence_number: int, next_sequence_number: int, now: float) -> bool:
        """A NACK for ``sequence_number``, which the history no longer holds (the next one
        to send is ``next_sequence_number``): whether to ask for a keyframe for the viewer
        now (it was sent lately, and none was asked for this way within the interval)."""
        if self._holding(now) or self._before_restart(sequence_number, now):
            return False
        behind = (next_sequence_number - sequence_number) & 0xFFFF
        if not 0 < behind <= RECENT or now - self._gone_at < GONE_INTERVAL_S:
            return False
        self._gone_at = now
        self.gone_keyframes += 1
        return True
