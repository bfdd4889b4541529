"""One viewer's RTCP, gathered into what the layer chooser reads (pure, no I/O).

The viewer's sender hands every REMB, receiver report block and NACK it hears, and every
batch of packets it sends, to a ``FeedbackMeter``; ``layer_choice.ViewerLayerChooser``
reads the resulting ``Feedback`` every tick (``viewer_layers.py``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feedback:
    """What one viewer reported lately (None: nothing heard of that kind)."""

    remb_bps: float | None = None
    fraction_lost: float | None = None  # 0..1, from its receiver reports
    nack_rate: float | None = None  # NACKed packets / packets sent to it, 0..1
    padding_lost: float | None = None  # 0..1, the RTX stream's last receiver report
    padding_reports: int = 0  # how many reports of the RTX stream have come so far


class FeedbackMeter:
    """Turns one viewer's RTCP, as it arrives, into the ``Feedback`` the chooser reads.

    The send path calls ``on_remb`` (a REMB's bitrate), ``on_receiver_report`` (a report
    block's fraction lost, 0-255 as on the wire; ``on_padding_report`` for the RTX
    stream's), ``on_nack`` (how many packets one NACK
    asks for) and ``on_sent`` (packets sent); ``feedback(now)`` gives the latest REMB (None
    once older than ``remb_max_age_s``), the last report's loss and the NACK rate over the
    last ``window_s``.
    """

    def __init__(self, window_s: float = 2.0, remb_max_age_s: float = 5.0) -> None:
        self._window_s = window_s
        self._remb_max_age_s = remb_max_age_s
        self._remb: tuple[float, float] | None = None  # (bit/s, when)
        self._fraction_lost: float | None = None
        self._padding_lost: float | None = None
        self._padding_reports = 0
        self._nacked: list[tuple[float, int]] = []
        self._sent: list[tuple[float, int]] = []

    def on_remb(self, bitrate_bps: float, now: float) -> None:
        """The viewer's REMB estimate."""
        self._remb = (max(0.0, bitrate_bps), now)

    def on_receiver_report(self, fraction_lost: int) -> None:
        """A receiver report block for this viewer's stream (fraction lost in 1/256)."""
        self._fraction_lost = min(max(fraction_lost, 0), 255) / 256

    def on_padding_report(self, fraction_lost: int) -> None:
        """A receiver report block for the viewer's RTX stream, which carries the padding
        of a probe (fraction lost in 1/256)."""
        self._padding_lost = min(max(fraction_lost, 0), 255) / 256
        self._padding_reports += 1

    def on_nack(self, packets: int, now: float) -> None:
        """A NACK asking for ``packets`` packets."""
        self._nacked.append((now, max(0, packets)))

    def on_sent(self, packets: int, now: float) -> None:
        """``packets`` packets went to the viewer."""
        self._sent.append((now, max(0, packets)))

    def feedback(self, now: float) -> Feedback:
        """What the chooser should go by now."""
        since = now - self._window_s
        self._nacked = [x for x in self._nacked if x[0] > since]
        self._sent = [x for x in self._sent if x[0] > since]
        sent = sum(n for _, n in self._sent)
        nacked = sum(n for _, n in self._nacked)
        remb = self._remb
        fresh = remb is not None and now - remb[1] <= self._remb_max_age_s
        return Feedback(
            remb_bps=remb[0] if remb is not None and fresh else None,
            fraction_lost=self._fraction_lost,
            nack_rate=min(1.0, nacked / sent) if sent else None,
            padding_lost=self._padding_lost,
            padding_reports=self._padding_reports,
        )
