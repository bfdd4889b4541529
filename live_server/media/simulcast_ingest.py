"""A simulcast host's layers on the SFU side: their tracks, which one feeds the show, and
keyframe requests per layer.

``aiortc/simulcast.py`` demultiplexes the host's video into one receiver and track per
rid; ``simulcast.SourceChooser`` (pure rules) says frame by frame which layer is the show's
source. The SFU runs one reader per layer track and asks ``admit`` about each frame: only
the source's frames reach the fan-out hub, the recorder and LL-HLS, exactly where a single
stream host's frames go.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass

from aiortc import RTCRtpTransceiver
from aiortc.mediastreams import MediaStreamTrack

from live_server.media.aiortc.simulcast import SimulcastReceiver
from live_server.media.keyframes import KeyframeRequester
from live_server.media.simulcast import Decision, SourceChooser
from live_server.media.simulcast_sdp import SimulcastOffer
from recordings.bitstream import h264_dimensions, vp8_dimensions

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LayerView:
    """One layer as the rest of the server sees it."""

    rid: str
    ssrc: int | None
    rtx_ssrc: int | None
    size: tuple[int, int] | None  # from its last keyframe
    frames: int
    live: bool
    track: MediaStreamTrack


def keyframe_size(codec: str, data: bytes) -> tuple[int, int] | None:
    """The picture size a VP8 or H.264 keyframe declares."""
    if codec == "VP8":
        return vp8_dimensions(data)
    if codec == "H264":
        return h264_dimensions(data)
    return None


class SimulcastIngest:
    """The layers of one simulcast publisher (see the module docstring)."""

    def __init__(self, receiver: SimulcastReceiver, offer: SimulcastOffer, codec: str) -> None:
        self.receiver = receiver
        self.offer = offer
        self.codec = codec
        self.chooser = SourceChooser(offer.rids, expected=set(offer.rids) - offer.paused)
        self._keyframes = {
            rid: KeyframeRequester(functools.partial(self._send_pli, rid), label=f"layer={rid}")
            for rid in offer.rids
        }

    @classmethod
    def attach(
        cls, transceiver: RTCRtpTransceiver, offer: SimulcastOffer, codec: str, label: str
    ) -> SimulcastIngest:
        """Demultiplex ``transceiver``'s video by rid (after ``setRemoteDescription`` and
        ``keep_first_codec``, before ``createAnswer``)."""
        receiver = SimulcastReceiver(
            transceiver,
            offer.rids,
            offer.rid_extension_id,
            offer.repaired_extension_id,
            label=label,
        )
        return cls(receiver, offer, codec)

    def tracks(self) -> dict[str, MediaStreamTrack]:
        """Each layer's track of encoded frames, by rid (the offer's order)."""
        return {rid: layer.track for rid, layer in self.receiver.layers.items()}

    @property
    def source(self) -> str | None:
        """The rid whose frames feed the show now."""
        return self.chooser.current

    @property
    def layers(self) -> dict[str, LayerView]:
        """The layers by rid, best (largest picture) first."""
        now = time.monotonic()
        out: dict[str, LayerView] = {}
        for state in self.chooser.ranked():
            layer = self.receiver.layers[state.rid]
            out[state.rid] = LayerView(
                rid=state.rid,
                ssrc=layer.ssrc,
                rtx_ssrc=layer.rtx_ssrc,
                size=state.size,
                frames=state.frames,
                live=self.chooser.is_live(state, now),
                track=layer.track,
            )
        return out

    def admit(self, rid: str, data: bytes, keyframe: bool) -> Decision:
        """Note a frame of ``rid``'s layer; says whether it goes to the show."""
        size = keyframe_size(self.codec, data) if keyframe else None
        decision = self.chooser.on_frame(rid, keyframe, size, time.monotonic())
        if decision.keyframe_from is not None:
            self._keyframes[decision.keyframe_from].request()
        if decision.switched:
            logger.info(
                "%s simulcast source is now layer %s (%s)",
                self.receiver.label,
                rid,
                "x".join(map(str, size)) if size else "size unknown",
            )
        return decision

    async def send_pli(self) -> None:
        """A keyframe for the show (a viewer joined or lost a picture): from the source
        layer, and from the layer the show is about to switch to."""
        wanted = {self.chooser.current, self.chooser.target(time.monotonic())} - {None}
        for rid in wanted or self.offer.rids:
            assert rid is not None
            await self.receiver.request_keyframe(rid)

    def request_keyframe(self, rid: str) -> None:
        """Ask for a keyframe of ``rid``'s layer (throttled per layer; a viewer moves to it)."""
        requester = self._keyframes.get(rid)
        if requester is not None:
            requester.request()

    async def _send_pli(self, rid: str) -> None:
        await self.receiver.request_keyframe(rid)

    def close(self) -> None:
        """Cancel pending keyframe requests (the publisher is gone)."""
        for requester in self._keyframes.values():
            requester.close()
