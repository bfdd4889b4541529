"""A live session's media state as the SFU keeps it: the room, its publisher and viewers,
the taps that see every frame, and the SFU's refusals (sfu.py does the work)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

from aiortc import RTCPeerConnection, RTCRtpCodecCapability, RTCRtpReceiver

from live_server.media.aiortc import hooks as aiortc_hooks
from live_server.media.aiortc.twcc import TwccFeedback
from live_server.media.clock import MediaClock
from live_server.media.fanout import FanoutHub, ViewerTrack
from live_server.media.keyframes import KeyframeRequester
from live_server.media.layer_choice import Preference
from live_server.media.simulcast_ingest import LayerView, SimulcastIngest
from live_server.media.viewer_layers import LayerHubs
from live_server.platform.errors import Conflict

logger = logging.getLogger(__name__)

CLOCK_RATES = {"video": 90000, "audio": 48000}


class NotLive(Conflict):
    """WHEP before the host is live: 409 (see docs/media.md)."""

    code = "not_live"


class PublisherBusy(Conflict):
    """A second WHIP publisher while one is connected."""

    code = "publisher_busy"


class MediaTap(Protocol):
    """Receives every forwarded frame (the recorder)."""

    def on_frame(self, kind: str, codec: str, data: bytes, pts: int, keyframe: bool) -> None:
        """Called on the event loop; must not block."""


class RoomListener(Protocol):
    """What the broadcast service hears from the SFU."""

    async def publisher_started(self, session_id: int) -> None:
        """The first frame of a (re)connected publisher arrived."""

    async def publisher_lost(self, session_id: int, publisher_id: str) -> None:
        """The publisher's connection failed or went silent without a DELETE."""


@dataclass
class Publisher:
    """The host's peer connection and what it sends."""

    id: str
    pc: RTCPeerConnection
    codecs: dict[str, str]
    receivers: dict[str, RTCRtpReceiver] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    #: transport-cc feedback for the host's uplink (None: REMB, as aiortc does)
    twcc: TwccFeedback | None = None
    started: bool = False
    last_frame_at: float = field(default_factory=time.monotonic)
    frames: int = 0
    answered_at: float = field(default_factory=time.monotonic)
    connected: bool = False  # ICE and DTLS connected once
    #: a relay pull from the show's origin (media/relay.py), not the host itself: its own
    #: listener hears its start and loss, and only the connect deadline applies to it
    relay: bool = False
    listener: RoomListener | None = None
    #: a simulcast host's layers (one reader per rid; the top layer feeds the show)
    simulcast: SimulcastIngest | None = None

    @property
    def layers(self) -> dict[str, LayerView]:
        """A simulcast host's layers by rid, largest picture first ({} for one stream)."""
        return self.simulcast.layers if self.simulcast is not None else {}


@dataclass
class Viewer:
    """One WHEP viewer."""

    id: str
    pc: RTCPeerConnection
    tracks: list[ViewerTrack]
    address: str | None = None
    activity: aiortc_hooks.RemoteActivity = field(default_factory=aiortc_hooks.RemoteActivity)
    joined_at: float = field(default_factory=time.monotonic)  # when it got its answer
    connected: bool = False  # ICE and DTLS connected once
    relay: bool = False  # another node's relay pull: not audience, no caps
    user_id: int | None = None  # who watches, when signed in (a ban closes their video)
    layer: Preference = (
        "auto"  # the simulcast layer it asked for: auto, low (data saver), high (HD)
    )


class Room:
    """The media state of one live session."""

    def __init__(self, session_id: int, clock: MediaClock, fast_path: bool = True) -> None:
        self.session_id = session_id
        self.clock = clock
        self.publisher: Publisher | None = None
        self.viewers: dict[str, Viewer] = {}
        self.codec_caps: dict[str, RTCRtpCodecCapability] = {}
        self.taps: list[MediaTap] = []
        self.keyframes = KeyframeRequester(self._send_pli, label=f"session={session_id}")
        self.hubs = {
            kind: FanoutHub(kind, rate, self.keyframes.request, fast_path=fast_path)
            for kind, rate in CLOCK_RATES.items()
        }
        #: a simulcast host's hub per layer and its viewers' choices (None: one stream)
        self.layers: LayerHubs | None = None

    async def _send_pli(self) -> None:
        publisher = self.publisher
        if publisher is not None and publisher.simulcast is not None:
            await publisher.simulcast.send_pli()  # per layer SSRC, not the transceiver's
            return
        receiver = publisher.receivers.get("video") if publisher else None
        if receiver is None:
            return
        for source in receiver.getSynchronizationSources():
            await aiortc_hooks.request_keyframe(receiver, source.source)
        logger.debug("session=%s PLI sent to publisher", self.session_id)
