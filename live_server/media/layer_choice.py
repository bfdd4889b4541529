"""Which simulcast layer one viewer should get, from its receiver feedback (pure, no I/O).

Issue 16 part 4: each viewer gets the best layer its network carries. What the server
hears from a viewer: its REMB estimate (the bitrate it thinks it can receive), the loss in
its receiver reports (fraction lost, 0-1), and how much it asks to have resent (NACKed
packets over packets sent). ``ViewerLayerChooser.update`` turns that, with each layer's
current bitrate, into a target layer; the send path then switches at that layer's next
keyframe (``layer_rewrite.LayerRewriter``). ``feedback_meter.FeedbackMeter`` gathers the
viewer's RTCP into that ``Feedback``. Wired in ``viewer_layers.py`` (docs/media.md, "A layer
per viewer").

Rules, with hysteresis so a viewer does not flap:

- A layer *fits* when its bitrate is at most ``headroom`` (85 %) of the REMB estimate
  (no estimate yet: every layer fits).
- The link is *congested* while the smoothed loss is over ``loss_down`` (10 %) or the
  smoothed NACK rate over ``nack_down`` (15 %).
- Down: once the current layer has not fitted, or the link has been congested, for
  ``down_after_s`` (1 s) without a break, move to the best lower layer that fits (the
  lowest if none does). Congestion moves down one layer at a time, unless the last
  receiver report lost ``loss_severe`` (20 %) or more on a congested link: then straight
  to the lowest layer at once, without the wait and whatever the estimate says (on such a
  link the picture is breaking up now, one step down from the top is rarely enough, and
  the estimate lags the loss; the probes climb back).
- Up: once the next better layer has fitted with ``up_margin`` to spare (its bitrate at
  most 70 % of the estimate) and the link has been clean (loss under ``loss_up``, 2 %, NACKs
  under ``nack_up``, 3 %) for ``up_after_s`` without a break, move up one layer. A layer that
  had to be left within ``probe_window_s`` (10 s) of moving up to it doubles the wait
  before the next try (up to ``max_up_after_s``); a calm ``probe_window_s`` resets it.
- A viewer's wish (data saver / "HD" on the player): ``prefer("low")`` pins the smallest
  layer, ``prefer("high")`` the best one whatever the feedback, ``prefer("auto")`` the rules.
- A receiver's own estimate is capped by what it receives (aiortc's and libwebrtc's AIMD
  rate control: at most 1.5 x the incoming rate + 10 kbit/s) and grows about 8 % a second
  towards it. So a REMB between ``capped_low`` (1.3) and ``capped_high`` (1.8) x the current
  layer's bitrate (+ 12 kbit/s) says nothing about the link's room: a clean link may then try
  the next layer up anyway (the probe back-off above still applies). And while the estimate
  is rising (a new value above the one before within ``rising_s``, 1.5 s) the link has not
  hit its limit: a layer above the estimate is then not a reason to go down (loss and NACKs
  still are).
- A padding probe, when the estimate is no guide: a viewer on a lower layer whose REMB is
  well above what it receives but below what the next layer needs holds a value measured
  earlier (a receiver's estimate does not fall while its link is idle, nor rise above 1.5 x
  what arrives): the link may have grown since. After the clean stretch an upswitch would
  wait for, the send path pads the viewer's stream (RTX padding, ``probe_bps``) up to what
  the next layer needs for ``probe_s`` (2 s), climbing to that rate in four steps over
  ``probe_ramp_s`` (1 s), so a link that cannot carry it says so (a falling estimate, lost
  padding) before it is overrun by all of it. The probe fails, and the wait doubles as for
  an upswitch that did not hold, as soon as the media loses packets, the padding's own loss
  (the RTX stream's receiver report) passes ``probe_loss`` (5 %) or the estimate falls
  below ``probe_remb_drop`` (90 %) of where it was; it succeeds, and the viewer moves up,
  once it ran its time with the padding reported clean (or twice its time with no report
  of it) and the estimate grew meanwhile (a receiver's estimate climbs with what arrives
  while its link keeps up); an estimate that has not grown in twice its time fails it.
- A keyframe request (the viewer's PLI) from a viewer that has been losing packets
  (``loss_down``) moves it one layer down at once (``keyframe_asked``): it needs a keyframe
  anyway, and the lower layer's is smaller.
- Both of those moves are ``urgent``: the viewer's picture is broken already, so the send
  path stops the old layer at once instead of at the new layer's keyframe, and the link's
  queue drains before that keyframe rather than dropping it.
- Layers that are not live are skipped; when the current one stops, the best live one that
  fits is chosen at once.
- A choice made at once (a new viewer, or its layer stopped) is *provisional* for
  ``provisional_s`` (5 s): the host's top layer often arrives, or is first ranked, a moment
  after its small ones, and a viewer who joined in that moment must not have to climb up
  through the rules above. While provisional, a live layer that was not above the choice
  when it was made but is now (it went live, or its size ranked it higher) is taken at once
  on a clean link whose estimate says nothing against it (none yet, or capped by what the
  viewer gets); an estimate above that band takes it only if it fits. Any other move ends
  the provisional time.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from live_server.media.feedback_meter import Feedback

Preference = Literal["auto", "low", "high"]


@dataclass(frozen=True)
class LayerRate:
    """A layer the host sends now: its rid, bitrate (bit/s) and whether frames flow."""

    rid: str
    bitrate_bps: float
    live: bool = True


@dataclass(frozen=True)
class Probe:
    """A padding probe under way: for ``rid``, ``extra_bps`` of padding since ``started``."""

    rid: str
    extra_bps: float
    started: float
    remb_before: float
    reports_before: int


@dataclass(frozen=True)
class ChooserConfig:
    """The thresholds and delays of the rules (see the module docstring)."""

    headroom: float = 0.85
    up_margin: float = 0.70
    loss_down: float = 0.10
    loss_severe: float = 0.20  # a receiver report this lossy moves straight to the lowest
    loss_up: float = 0.02
    nack_down: float = 0.15
    nack_up: float = 0.03
    down_after_s: float = 1.0
    up_after_s: float = 4.0
    max_up_after_s: float = 32.0
    probe_window_s: float = 10.0
    capped_low: float = 1.3
    capped_high: float = 1.8
    capped_extra_bps: float = 12_000.0
    rising_s: float = 1.5  # an estimate that went up within this long is still rising
    provisional_s: float = 5.0  # a choice made at once gives way to a better layer that long
    probe_s: float = 2.0
    probe_loss: float = 0.05
    probe_remb_drop: float = 0.9
    max_probe_bps: float = 4_000_000.0
    #: the padding climbs to its full rate over this long (in the chooser's ticks), so a
    #: link that cannot carry it shows so (a falling estimate, lost padding) before it is
    #: overrun by the whole of it
    probe_ramp_s: float = 1.0
    smoothing: float = 0.3  # weight of a new loss / NACK sample


class ViewerLayerChooser:
    """One viewer's target layer (see the module docstring)."""

    def __init__(self, config: ChooserConfig | None = None) -> None:
        self.config = config or ChooserConfig()
        self.current: str | None = None
        self.preference: Preference = "auto"
        self._loss = 0.0
        self._nacks = 0.0
        self._bad_since: float | None = None
        self._good_since: float | None = None
        self._up_after_s = self.config.up_after_s
        self._moved_up_at: float | None = None
        self._remb: float | None = None  # the last REMB value heard
        self._remb_rose_at: float | None = None  # when a new value was above the last one
        self._provisional_until: float | None = None  # see provisional_s
        self._above: set[str] = set()  # the live layers above a provisional choice
        self.probe: Probe | None = None
        self.probes = 0  # probes started
        self.switches = 0
        #: the last choice was made because the viewer's picture is breaking up now (heavy
        #: loss, or its keyframe request while losing): the send path stops the old layer
        #: at once rather than at the new one's keyframe (``ViewerTrack.move_to``'s hold)
        self.urgent = False

    def probe_bps(self, now: float | None = None) -> float:
        """The padding the send path should add for this viewer at ``now`` (bit/s, 0:
        none): a probe's full rate, reached in steps over ``probe_ramp_s`` (None: the
        full rate)."""
        probe = self.probe
        if probe is None:
            return 0.0
        ramp = self.config.probe_ramp_s
        if now is None or ramp <= 0:
            return probe.extra_bps
        steps = 4  # a quarter of the rate more at each step
        done = min(steps, 1 + int((now - probe.started) / ramp * steps))
        return probe.extra_bps * done / steps

    @property
    def congested(self) -> bool:
        """Whether the viewer has been losing packets lately (smoothed loss or NACK rate
        over ``loss_down`` / ``nack_down``, as the down rule reads them)."""
        return self._loss > self.config.loss_down or self._nacks > self.config.nack_down

    def cancel_probe(self) -> None:
        """The send path cannot pad for this viewer (no RTX, no fast path): no probe."""
        self.probe = None

    def prefer(self, preference: Preference) -> None:
        """The viewer's own wish: ``low`` (data saver), ``high`` (HD) or ``auto``."""
        self.preference = preference

    def update(self, layers: Sequence[LayerRate], feedback: Feedback, now: float) -> str | None:
        """The layer this viewer should be on now; ``layers`` best first."""
        live = [layer for layer in layers if layer.live]
        if not live:
            return self.current
        self._smooth(feedback)
        remb = feedback.remb_bps
        if remb is not None and remb != self._remb:
            if self._remb is not None and remb > self._remb:
                self._remb_rose_at = now
            elif self._remb is not None and remb < self._remb:
                self._remb_rose_at = None
            self._remb = remb
        if self.preference != "auto":
            self.probe = None
            pinned = live[-1] if self.preference == "low" else live[0]
            return self._move(pinned.rid, now, up=False)
        live_rids = [layer.rid for layer in live]
        index = live_rids.index(self.current) if self.current in live_rids else None
        if index is None:  # no layer yet, or it stopped: the best one that fits, at once
            self._bad_since = self._good_since = None
            chosen = self._move(self._best_fitting(live, feedback, 0), now, up=False)
            self._provisional_until = now + self.config.provisional_s
            self._above = set(itertools.takewhile(lambda rid: rid != chosen, live_rids))
            return chosen
        if index > 0 and self._provisional_until is not None and now < self._provisional_until:
            better = self._provisional_better(live, index, feedback)
            if better is not None:
                self._bad_since = self._good_since = None
                return self._move(better, now, up=True)
        return self._steer(live, index, feedback, now)

    def keyframe_asked(
        self, layers: Sequence[LayerRate], feedback: Feedback, now: float
    ) -> str | None:
        """The viewer asked for a keyframe (its PLI): the layer to take it from. A viewer
        that has been losing packets is moved one layer down at once: it needs a keyframe
        either way, and the lower layer's is smaller, so it is less likely to be lost on
        the same link (the top one's, asked for again and again, kept a shaped Chromium
        viewer frozen); otherwise its own layer."""
        live = [layer.rid for layer in layers if layer.live]
        cfg = self.config
        lossy = max(feedback.fraction_lost or 0.0, self._loss) >= cfg.loss_down
        if self.preference != "auto" or not lossy or self.current not in live[:-1]:
            return self.current
        assert self.current is not None
        self.probe = None
        if self._moved_up_at is not None and now - self._moved_up_at < cfg.probe_window_s:
            self._up_after_s = min(self._up_after_s * 2, cfg.max_up_after_s)
        self._bad_since = self._good_since = None
        return self._move(live[live.index(self.current) + 1], now, up=False, urgent=True)

    def _provisional_better(
        self, live: list[LayerRate], index: int, feedback: Feedback
    ) -> str | None:
        """A better layer than ``live[index]`` for a provisional choice, if one is due."""
        cfg = self.config
        if self._loss >= cfg.loss_up or self._nacks >= cfg.nack_up:
            return None
        fresh = [layer for layer in live[:index] if layer.rid not in self._above]
        if not fresh:
            return None
        remb = feedback.remb_bps
        ceiling = cfg.capped_high * live[index].bitrate_bps + cfg.capped_extra_bps
        if remb is None or remb <= ceiling:
            return fresh[0].rid
        fitting = [x for x in fresh if x.bitrate_bps <= remb * cfg.headroom]
        return fitting[0].rid if fitting else None

    def _steer(
        self, live: list[LayerRate], index: int, feedback: Feedback, now: float
    ) -> str | None:
        cfg = self.config
        remb = feedback.remb_bps
        congested = self._loss > cfg.loss_down or self._nacks > cfg.nack_down
        rate = live[index].bitrate_bps
        rising = self._remb_rose_at is not None and now - self._remb_rose_at < cfg.rising_s
        too_big = remb is not None and not rising and rate > remb * cfg.headroom
        # heavy loss on a congested link: the picture is breaking up now, so no waiting
        severe = congested and (feedback.fraction_lost or 0.0) >= cfg.loss_severe
        if congested or too_big:
            self._end_probe(failed=True)
            self._good_since = None
            self._bad_since = now if self._bad_since is None else self._bad_since
            waited = severe or now - self._bad_since >= cfg.down_after_s
            if not waited or index == len(live) - 1:
                return self.current
            self._bad_since = None
            if self._moved_up_at is not None and now - self._moved_up_at < cfg.probe_window_s:
                self._up_after_s = min(self._up_after_s * 2, cfg.max_up_after_s)
            # heavy loss: the lowest layer at once (the picture first, the probes climb
            # back; an estimate that lags the loss still says a middle layer fits); too
            # big: straight to what fits; loss alone: one layer down at a time
            if severe:
                return self._move(live[-1].rid, now, up=False, urgent=True)
            if too_big:
                target = self._best_fitting(live, feedback, index + 1)
            else:
                target = live[index + 1].rid
            return self._move(target, now, up=False)
        self._bad_since = None
        if self._moved_up_at is not None and now - self._moved_up_at >= cfg.probe_window_s:
            self._up_after_s = cfg.up_after_s  # it held: the next probe waits the usual time
            self._moved_up_at = None
        clean = self._loss < cfg.loss_up and self._nacks < cfg.nack_up
        better = live[index - 1] if index > 0 else None
        capped = remb is not None and (
            cfg.capped_low * rate <= remb <= cfg.capped_high * rate + cfg.capped_extra_bps
        )
        roomy = better is not None and (
            remb is None or capped or better.bitrate_bps <= remb * cfg.up_margin
        )
        if better is None or not clean:
            self._end_probe(failed=better is not None)
            self._good_since = None
            return self.current
        if self.probe is not None:
            return self._judge_probe(better, feedback, now)
        if not roomy and remb is None:
            self._good_since = None
            return self.current
        self._good_since = now if self._good_since is None else self._good_since
        if now - self._good_since < self._up_after_s:
            return self.current
        self._good_since = None
        if roomy:
            return self._move(better.rid, now, up=True)
        assert remb is not None
        extra = min(better.bitrate_bps / cfg.headroom - rate, cfg.max_probe_bps)
        if extra > 0:
            self.probe = Probe(better.rid, extra, now, remb, feedback.padding_reports)
            self.probes += 1
        return self.current

    def _judge_probe(self, better: LayerRate, feedback: Feedback, now: float) -> str | None:
        cfg = self.config
        probe = self.probe
        assert probe is not None
        if probe.rid != better.rid:  # the layers changed under it
            self.probe = None
            return self.current
        reported = feedback.padding_reports > probe.reports_before
        lossy = reported and (feedback.padding_lost or 0.0) > cfg.probe_loss
        remb = feedback.remb_bps
        fell = remb is not None and remb < probe.remb_before * cfg.probe_remb_drop
        if lossy or fell:
            self._end_probe(failed=True)
            return self.current
        ran = now - probe.started
        rose = remb is None or remb > probe.remb_before  # None: the estimate went quiet
        if ran >= cfg.probe_s and rose and (reported or ran >= 2 * cfg.probe_s):
            self.probe = None
            return self._move(better.rid, now, up=True)
        if ran >= 2 * cfg.probe_s:  # it got through, but the estimate never grew with it
            self._end_probe(failed=True)
        return self.current

    def _end_probe(self, failed: bool) -> None:
        if self.probe is None:
            return
        self.probe = None
        if failed:  # like an upswitch that did not hold
            self._up_after_s = min(self._up_after_s * 2, self.config.max_up_after_s)

    def _best_fitting(self, live: list[LayerRate], feedback: Feedback, start: int) -> str:
        remb = feedback.remb_bps
        for layer in live[start:]:
            if remb is None or layer.bitrate_bps <= remb * self.config.headroom:
                return layer.rid
        return live[-1].rid

    def _smooth(self, feedback: Feedback) -> None:
        w = self.config.smoothing
        if feedback.fraction_lost is not None:
            self._loss += w * (min(max(feedback.fraction_lost, 0.0), 1.0) - self._loss)
        if feedback.nack_rate is not None:
            self._nacks += w * (min(max(feedback.nack_rate, 0.0), 1.0) - self._nacks)

    def _move(self, rid: str, now: float, up: bool, urgent: bool = False) -> str:
        self.urgent = urgent
        if rid != self.current:
            self.current = rid
            self._provisional_until = None  # any move ends a provisional choice
            self.switches += 1
            self._moved_up_at = now if up else None
        return rid
