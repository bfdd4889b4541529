"""A simulcast layer per viewer (issue 16 part 4): one fan-out hub per rid, and each
viewer's layer chosen from its own RTCP.

A simulcast host's layers each feed a ``FanoutHub`` of their own (``on_frame``, called by
the SFU's reader for every frame of every layer, before the show's source is picked).
Each layer hub is anchored on the session's media timeline when its first frame arrives
(and again if it drifts more than half a second from arrival time, e.g. after the host
paused that layer), so the same instant has about the same timestamp on every layer.
A viewer's track starts on the show's hub like any viewer's and is then moved to the layer
its ``ViewerLayerChooser`` picks: ``ViewerTrack.move_to`` switches at that layer's next
keyframe (asked for, throttled per layer). The viewer's own sender numbers its packets, so
sequence numbers stay continuous; its timestamps go on because the timelines agree (a
switch waits for a keyframe newer than the viewer's last frame). The VP8 picture id is the
layer packetiser's and jumps at the switch keyframe, which decoders accept at a keyframe.

The chooser runs every ``TICK_S`` for every viewer, fed by a ``FeedbackMeter``
(``aiortc/feedback.py``: REMB, receiver-report loss, NACKs, packets sent) and by each
layer's bitrate measured here. A viewer's own wish (``prefer``) pins the smallest or the
best layer. When the chooser probes a held estimate, ``_pad`` has the viewer's fast sender
pad its RTX stream at the probe's rate (``aiortc/rtx.py``) until the verdict; a viewer
without a fast sender or RTX is not probed. A host without simulcast has no
``LayerHubs``: one hub, no chooser.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from dataclasses import dataclass, field

import av
from aiortc import RTCRtpSender

from live_server.media.aiortc import feedback as aiortc_feedback
from live_server.media.aiortc import hooks as aiortc_hooks
from live_server.media.clock import MediaClock
from live_server.media.fanout import FanoutHub, ViewerTrack
from live_server.media.feedback_meter import FeedbackMeter
from live_server.media.layer_choice import (
    ChooserConfig,
    LayerRate,
    Preference,
    ViewerLayerChooser,
)
from live_server.media.simulcast_ingest import SimulcastIngest

logger = logging.getLogger(__name__)

TICK_S = 0.25
RATE_WINDOW_S = 2.0
DRIFT_S = 0.5
PREFERENCES: tuple[Preference, ...] = ("auto", "low", "high")


@dataclass
class ViewerLayer:
    """One viewer's video track, its RTCP meter and its chooser."""

    track: ViewerTrack
    sender: RTCRtpSender
    chooser: ViewerLayerChooser
    meter: FeedbackMeter = field(default_factory=FeedbackMeter)
    packets_seen: int = 0
    padding: bool = False  # a probe's padding is on

    @property
    def layer(self) -> str | None:
        """The rid whose frames the viewer gets now (None: the show's hub)."""
        return self.track.hub.layer


def _keyframe_for(track: ViewerTrack) -> None:
    (track.pending or track.hub).request_keyframe()


class _Rate:
    """Bytes of one layer over the last ``RATE_WINDOW_S``."""

    def __init__(self) -> None:
        self._samples: list[tuple[float, int]] = []

    def add(self, size: int, now: float) -> None:
        self._samples.append((now, size))

    def bps(self, now: float) -> float:
        since = now - RATE_WINDOW_S
        self._samples = [s for s in self._samples if s[0] > since]
        return sum(n for _, n in self._samples) * 8 / RATE_WINDOW_S


class LayerHubs:
    """A simulcast publisher's hubs by rid and its viewers' layers (see the docstring)."""

    def __init__(
        self,
        session_id: int,
        ingest: SimulcastIngest,
        clock: MediaClock,
        show_hub: FanoutHub,
        config: ChooserConfig | None = None,
    ) -> None:
        self.session_id = session_id
        self.ingest = ingest
        self._clock = clock
        self._show_hub = show_hub
        self._config = config
        self.hubs: dict[str, FanoutHub] = {}
        for rid in ingest.offer.rids:
            hub = FanoutHub(
                "video",
                show_hub.clock_rate,
                functools.partial(ingest.request_keyframe, rid),
                fast_path=show_hub.fast_path,
            )
            hub.layer = rid
            self.hubs[rid] = hub
        self._anchored: set[str] = set()
        self._rates = {rid: _Rate() for rid in ingest.offer.rids}
        self.viewers: dict[str, ViewerLayer] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run the viewers' choosers (on the running loop)."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    def add_viewer(
        self, viewer_id: str, track: ViewerTrack, sender: RTCRtpSender, preference: Preference
    ) -> None:
        """Let ``viewer_id``'s video track follow its own layer choice."""
        chooser = ViewerLayerChooser(self._config)
        chooser.prefer(preference)
        entry = ViewerLayer(track, sender, chooser)
        entry.packets_seen = aiortc_feedback.packets_sent(sender)
        aiortc_feedback.watch_feedback(sender, entry.meter)
        # the viewer's PLI asks for a keyframe of the layer it is on (or moving to), or of
        # a lower one when it has been losing packets (keyframe_asked)
        aiortc_hooks.on_viewer_keyframe_request(
            sender, functools.partial(self._keyframe_asked, entry)
        )
        self.viewers[viewer_id] = entry
        self._choose(entry, time.monotonic())

    def _keyframe_asked(self, entry: ViewerLayer) -> None:
        now = time.monotonic()
        track = entry.track
        target = entry.chooser.keyframe_asked(self.rates(now), entry.meter.feedback(now), now)
        hub = self.hubs.get(target) if target is not None else None
        if hub is not None and hub is not track.hub and hub is not track.pending:
            logger.info(
                "session=%s viewer=%s asked for a keyframe while losing packets: layer %s",
                self.session_id,
                track.viewer_id,
                target,
            )
            track.move_to(hub, hold=True)  # which asks for that layer's keyframe
            return
        _keyframe_for(track)

    def prefer(self, viewer_id: str, preference: Preference) -> bool:
        """The viewer's wish (data saver, HD, auto); False when it is not a layered viewer."""
        entry = self.viewers.get(viewer_id)
        if entry is None:
            return False
        entry.chooser.prefer(preference)
        self._choose(entry, time.monotonic())
        return True

    def on_frame(self, rid: str, data: bytes, pts: int, keyframe: bool) -> None:
        """One frame of ``rid``'s layer (its own RTP timestamp as ``pts``)."""
        hub = self.hubs.get(rid)
        if hub is None:
            return
        now = time.monotonic()
        self._rates[rid].add(len(data), now)
        if not hub.wanted:
            return
        hub.codec_name = self._show_hub.codec_name
        media_now = self._clock.media_time(self.session_id) or 0.0
        packet = av.Packet(data)
        packet.pts = pts
        if rid not in self._anchored:
            self._anchored.add(rid)
            hub.start_source(media_now)
        hub.rebase(packet)
        if int(packet.pts or 0) < (media_now - DRIFT_S) * hub.clock_rate:
            hub.start_source(media_now)  # the layer paused and its clock went on
            packet.pts = pts
            hub.rebase(packet)
        hub.dispatch(packet, keyframe)

    def rates(self, now: float) -> list[LayerRate]:
        """The host's layers, best first, with their bitrate now."""
        return [
            LayerRate(rid, self._rates[rid].bps(now), view.live)
            for rid, view in self.ingest.layers.items()
        ]

    def _choose(self, entry: ViewerLayer, now: float) -> None:
        sent = aiortc_feedback.packets_sent(entry.sender)
        entry.meter.on_sent(sent - entry.packets_seen, now)
        entry.packets_seen = sent
        if entry.track.readyState != "live":
            return
        feedback = entry.meter.feedback(now)
        target = entry.chooser.update(self.rates(now), feedback, now)
        if entry.track.fast is not None:
            # a congested viewer's repairs stay within what its link carries; a clean one's
            # are not held (a new viewer's first estimate is a guess, and its first keyframe
            # must get through)
            congested = entry.chooser.congested
            entry.track.fast.gate.set_estimate(feedback.remb_bps if congested else None)
        self._pad(entry, now)
        hub = self.hubs.get(target) if target is not None else None
        if hub is None:
            return
        pending = entry.track.pending
        if hub is entry.track.hub and pending is None:
            return
        if pending is not hub:
            logger.info(
                "session=%s viewer=%s layer %s -> %s (%s%s)",
                self.session_id,
                entry.track.viewer_id,
                entry.layer or "show",
                target,
                entry.chooser.preference,
                ", now" if entry.chooser.urgent else "",
            )
        entry.track.move_to(hub, hold=entry.chooser.urgent)

    def _pad(self, entry: ViewerLayer, now: float) -> None:
        """Start, keep, ramp or stop the padding of the viewer's layer probe."""
        chooser, fast = entry.chooser, entry.track.fast
        bps = chooser.probe_bps(now)
        if bps > 0 and (fast is None or not fast.can_pad):
            chooser.cancel_probe()  # nothing to pad with: no probe, no verdict
            bps = 0.0
        if fast is not None and (bps > 0 or entry.padding):
            if bps > 0 and not entry.padding:
                logger.info(
                    "session=%s viewer=%s probing for %s with %.0f kbit/s of padding",
                    self.session_id,
                    entry.track.viewer_id,
                    chooser.probe.rid if chooser.probe else "?",
                    bps / 1000,
                )
            fast.pad(bps)
        entry.padding = bps > 0

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            for viewer_id, entry in list(self.viewers.items()):
                if entry.track.readyState != "live":
                    del self.viewers[viewer_id]
                    continue
                try:
                    self._choose(entry, now)
                except Exception:
                    logger.exception(
                        "session=%s viewer=%s layer choice", self.session_id, viewer_id
                    )

    def close(self) -> None:
        """The publisher is gone: viewers go back to the show's hub, the choosers stop."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        for entry in self.viewers.values():
            if entry.padding and entry.track.fast is not None:
                entry.track.fast.pad(0)
            if entry.track.readyState == "live":
                entry.track.move_to(self._show_hub)
        for hub in self.hubs.values():
            with contextlib.suppress(Exception):
                for track in list(hub.viewers):
                    track.move_to(self._show_hub)
