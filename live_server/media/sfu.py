"""The selective forwarding unit: one room per live session.

A room has at most one publisher (WHIP) and any number of viewers (WHEP). Each
publisher track gets one reader task that rebases the host's encoded frames onto
the session's media timeline and hands them to the room's fan-out hub of that
kind and to the taps (the recorder). Viewers get bounded ``ViewerTrack``s: with the
fast path (default) the hub packetises each frame once and writes it to every viewer
itself (``aiortc_fastpath``); otherwise each viewer's aiortc sender packetises the
host's own bytes. Either way: no decode, no per-viewer encode.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable

import av.packet
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from live_server.media.aiortc import hooks as aiortc_hooks
from live_server.media.aiortc import twcc as aiortc_twcc
from live_server.media.aiortc.closing import close_peer
from live_server.media.clock import MediaClock
from live_server.media.lifetimes import AddressBudget, PeerWatchdog
from live_server.media.rooms import (  # the SFU's model, re-exported here
    CLOCK_RATES,
    MediaTap,
    NotLive,
    Publisher,
    PublisherBusy,
    Room,
    RoomListener,
    Viewer,
)
from live_server.media.sdp import BadOffer, announce_public_ip, check_offer
from live_server.media.sfu_viewers import ViewerSide
from live_server.media.simulcast_ingest import SimulcastIngest
from live_server.media.simulcast_sdp import SimulcastOffer, answer_with_simulcast
from live_server.media.turn import TurnCredentials
from live_server.media.viewer_layers import LayerHubs
from live_server.platform.errors import NotFound
from recordings.bitstream import is_keyframe

logger = logging.getLogger(__name__)

__all__ = [
    "CLOCK_RATES",
    "MediaTap",
    "NotLive",
    "Publisher",
    "PublisherBusy",
    "Room",
    "RoomListener",
    "Sfu",
    "Viewer",
]


class Sfu(ViewerSide):
    """WHIP/WHEP peer connections and the fan-out between them (the WHEP side, a viewer's
    offer, layer and end, is `sfu_viewers.ViewerSide`)."""

    def __init__(
        self,
        clock: MediaClock,
        ice_servers: list[RTCIceServer] | None = None,
        public_ip: str | None = None,
        publisher_timeout_s: float = 5.0,
        fast_path: bool = True,
        ice_loopback: bool = False,
        turn: TurnCredentials | None = None,
        connect_timeout_s: float = 10.0,
        viewer_silence_timeout_s: float = 15.0,
        max_viewers_per_address: int = 0,
    ) -> None:
        if not aiortc_hooks.is_installed():
            # the pass-through receive hooks are process-wide: the entry point installs them
            raise RuntimeError(
                "aiortc hooks not installed: call live_server.startup.prepare_process() first"
            )
        if ice_loopback and not aiortc_hooks.loopback_candidates_in_use():
            raise RuntimeError("ice_loopback is set but prepare_process(ice_loopback=True) was not")
        self.fast_path = fast_path
        self.clock = clock
        self._ice_servers = ice_servers or []
        self._turn = turn
        self._public_ip = public_ip
        # A peer's lifetime and budget (docs/media.md, "Lifetimes"; media/lifetimes.py)
        self._connect_timeout_s = connect_timeout_s
        self._addresses = AddressBudget(max_viewers_per_address, connect_timeout_s)
        self._rooms: dict[int, Room] = {}
        self._listener: RoomListener | None = None
        self._lifetimes = PeerWatchdog(
            lambda: list(self._rooms.values()),
            self._lose_publisher,
            self._expire_viewer,
            publisher_timeout_s,
            connect_timeout_s,
            viewer_silence_timeout_s,
        )
        self._background: set[asyncio.Task[object]] = set()

    # -- wiring ---------------------------------------------------------------

    def set_listener(self, listener: RoomListener) -> None:
        """The broadcast service that reacts to publisher start and loss."""
        self._listener = listener

    @property
    def ice_servers(self) -> list[RTCIceServer]:
        """The configured STUN/TURN servers."""
        return list(self._ice_servers)

    @property
    def turn(self) -> TurnCredentials | None:
        """The TURN servers whose credentials are issued per peer, if configured."""
        return self._turn

    def room(self, session_id: int) -> Room | None:
        """The session's room, if it has one."""
        return self._rooms.get(session_id)

    def add_tap(self, session_id: int, tap: MediaTap) -> None:
        """Send a copy of every frame of the session to ``tap``."""
        self._room(session_id).taps.append(tap)

    def viewer_count(self, session_id: int) -> int:
        """Connected WHEP viewers of the session (relay legs to other nodes not counted)."""
        room = self._rooms.get(session_id)
        return sum(not v.relay for v in room.viewers.values()) if room else 0

    def total_viewers(self) -> int:
        """WHEP viewers of every session in this process (connecting ones included)."""
        return sum(self.viewer_count(session_id) for session_id in self._rooms)

    def viewers_by_show(self) -> dict[int, int]:
        """WHEP viewers per session in this process (relay legs not counted)."""
        return {sid: self.viewer_count(sid) for sid in self._rooms}

    def relay_count(self) -> int:
        """Relay legs this node feeds to other nodes (as a show's origin)."""
        return sum(sum(v.relay for v in room.viewers.values()) for room in self._rooms.values())

    def rooms(self) -> list[Room]:
        """Every room in this process."""
        return list(self._rooms.values())

    def is_receiving(self, session_id: int) -> bool:
        """True once the current publisher's first frame arrived."""
        room = self._rooms.get(session_id)
        return bool(room and room.publisher and room.publisher.started)

    def _room(self, session_id: int) -> Room:
        room = self._rooms.get(session_id)
        if room is None:
            room = self._rooms[session_id] = Room(session_id, self.clock, self.fast_path)
        return room

    def new_peer_connection(self) -> RTCPeerConnection:
        """A peer connection with the server's ICE configuration (STUN, TURN)."""
        return self._new_pc()

    def _new_pc(self) -> RTCPeerConnection:
        servers = list(self._ice_servers)
        if self._turn is not None:
            # a relay of the server's own (behind NAT or in a container, as with compose)
            servers.append(self._turn.ice_server("liveshop-sfu"))
        return RTCPeerConnection(RTCConfiguration(iceServers=servers or None))

    def _spawn(self, coro: Awaitable[object]) -> None:
        task: asyncio.Task[object] = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _ensure_watchdog(self) -> None:
        self._lifetimes.ensure_running()

    def _expire_viewer(self, room: Room, viewer: Viewer) -> None:
        self._forget_viewer(room, viewer)
        self._spawn(close_peer(viewer.pc))

    # -- WHIP -----------------------------------------------------------------

    async def publish(self, session_id: int, offer_sdp: str) -> tuple[str, str]:
        """Accept the host's offer; returns (publisher id, SDP answer)."""
        summary = check_offer(offer_sdp)
        simulcast = summary.simulcast
        room = self._room(session_id)
        if room.publisher is not None:
            raise PublisherBusy("this session already has a connected publisher")
        pc = self._new_pc()
        publisher = Publisher(id=secrets.token_urlsafe(12), pc=pc, codecs={})
        room.publisher = publisher  # reserve the slot across the awaits below
        # "track" fires inside setRemoteDescription: listen before applying the offer
        # (a simulcast host's video is read per layer instead, below).
        pc.on("track", lambda t: self._on_publisher_track(room, publisher, t, simulcast is None))
        twcc_ids = aiortc_twcc.offered_ids(offer_sdp) if aiortc_twcc.enabled() else {}
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            for transceiver in pc.getTransceivers():
                if transceiver.kind not in summary.kinds:
                    continue
                codec = aiortc_hooks.keep_first_codec(transceiver)
                if codec is None:
                    continue
                aiortc_hooks.mark_passthrough(transceiver)
                if transceiver.kind in twcc_ids:  # the host's own estimator, with probes
                    aiortc_twcc.negotiate(transceiver, twcc_ids[transceiver.kind])
                publisher.codecs[transceiver.kind] = codec.name.upper()
                publisher.receivers[transceiver.kind] = transceiver.receiver
                self._remember_codec(room, transceiver)
                if transceiver.kind == "video" and simulcast is not None:
                    self._receive_layers(room, publisher, transceiver, simulcast)
            if not publisher.codecs:
                raise BadOffer(
                    "no audio (Opus) or video (VP8, H264) codec in the offer can be received"
                )
            pc.on("connectionstatechange", lambda: self._on_publisher_state(room, publisher))
            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)
            answer_sdp = pc.localDescription.sdp
            if publisher.simulcast is not None:
                answer_sdp = answer_with_simulcast(answer_sdp, publisher.simulcast.offer)
            receivers = list(publisher.receivers.values())
            if twcc_ids and receivers:
                publisher.twcc = aiortc_twcc.TwccFeedback(receivers[0].transport, receivers)
                publisher.tasks.append(publisher.twcc.task)
        except Exception as exc:
            if room.publisher is publisher:  # a key rotation may have dropped it already
                room.publisher = None
            for task in publisher.tasks:
                task.cancel()
            await close_peer(pc)
            if not room.codec_caps and not room.viewers and not room.taps:
                self._rooms.pop(session_id, None)  # nothing was ever live here
            if isinstance(exc, BadOffer):
                raise
            logger.warning("session=%s publish failed: %r", session_id, exc)
            raise BadOffer(f"the SDP offer could not be negotiated: {exc}") from None
        publisher.answered_at = time.monotonic()
        self._ensure_watchdog()
        logger.info(
            "session=%s publisher=%s connected codecs=%s simulcast=%s",
            session_id,
            publisher.id,
            publisher.codecs,
            ";".join(simulcast.rids) if publisher.simulcast and simulcast else "no",
        )
        return publisher.id, announce_public_ip(answer_sdp, self._public_ip)

    def _receive_layers(
        self,
        room: Room,
        publisher: Publisher,
        transceiver: RTCRtpTransceiver,
        offer: SimulcastOffer,
    ) -> None:
        """Demultiplex a simulcast host's video by rid: one reader per layer."""
        label = f"session={room.session_id} publisher={publisher.id}"
        ingest = SimulcastIngest.attach(transceiver, offer, publisher.codecs["video"], label)
        publisher.simulcast = ingest
        if room.layers is not None:
            room.layers.close()
        room.layers = LayerHubs(room.session_id, ingest, self.clock, room.hubs["video"])
        room.layers.start()
        for viewer in room.viewers.values():
            self._follow_layers(room, viewer)
        for rid, track in ingest.tracks().items():
            reader = self._read_publisher_track(room, publisher, track, layer=rid)
            publisher.tasks.append(asyncio.ensure_future(reader))

    def _remember_codec(self, room: Room, transceiver: RTCRtpTransceiver) -> None:
        kind = transceiver.kind
        codec = aiortc_hooks.negotiated_codecs(transceiver)[0]
        cap = RTCRtpCodecCapability(
            mimeType=codec.mimeType,
            clockRate=codec.clockRate,
            channels=codec.channels,
            parameters=dict(codec.parameters),
        )
        old = room.codec_caps.get(kind)
        if old is not None and old.mimeType.lower() != cap.mimeType.lower():
            logger.info("session=%s %s codec changed, dropping viewers", room.session_id, kind)
            for viewer in list(room.viewers.values()):
                self._spawn(self._drop_viewer(room, viewer))
        room.codec_caps[kind] = cap
        room.hubs[kind].codec_name = codec.name.upper()

    def _on_publisher_track(
        self, room: Room, publisher: Publisher, track: MediaStreamTrack, video: bool = True
    ) -> None:
        if track.kind == "video" and not video:
            return
        task = asyncio.ensure_future(self._read_publisher_track(room, publisher, track))
        publisher.tasks.append(task)

    async def _read_publisher_track(
        self, room: Room, publisher: Publisher, track: MediaStreamTrack, layer: str | None = None
    ) -> None:
        """Forward the frames of one publisher track (``layer``: a simulcast rid's track,
        whose frames go on only while that layer is the show's source)."""
        kind = track.kind
        hub = room.hubs[kind]
        codec = ""
        first = True
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                break
            if not codec:
                codec = publisher.codecs.get(kind, "")
                if not codec:
                    break
            if not isinstance(frame, av.packet.Packet):
                logger.error(
                    "session=%s pass-through hook inactive: got %r", room.session_id, frame
                )
                break
            data = bytes(frame)
            keyframe = is_keyframe(codec, data)
            publisher.last_frame_at = time.monotonic()
            if layer is not None and publisher.simulcast is not None:
                if room.layers is not None:  # every layer feeds its own hub
                    room.layers.on_frame(layer, data, int(frame.pts or 0), keyframe)
                decision = publisher.simulcast.admit(layer, data, keyframe)
                if not decision.forward:
                    continue
                # a new source layer continues the show's timeline from its keyframe
                first = decision.switched
            publisher.frames += 1
            if first:
                first = False
                if not self.clock.is_running(room.session_id):
                    self.clock.start(room.session_id)
                hub.start_source(self.clock.media_time(room.session_id) or 0.0)
                if not publisher.started:
                    publisher.started = True
                    listener = publisher.listener or self._listener
                    if listener is not None:
                        self._spawn(listener.publisher_started(room.session_id))
            hub.rebase(frame)
            hub.dispatch(frame, keyframe)
            for tap in room.taps:
                try:
                    tap.on_frame(kind, codec, data, int(frame.pts or 0), keyframe)
                except Exception:
                    logger.exception("session=%s tap failed", room.session_id)
        logger.info("session=%s publisher=%s %s track ended", room.session_id, publisher.id, kind)

    def _on_publisher_state(self, room: Room, publisher: Publisher) -> None:
        state = publisher.pc.connectionState
        logger.info("session=%s publisher=%s connection %s", room.session_id, publisher.id, state)
        if state == "connected":
            publisher.connected = True
        if state in ("failed", "closed") and room.publisher is publisher:
            self._spawn(self._lose_publisher(room, publisher))

    async def _lose_publisher(self, room: Room, publisher: Publisher) -> None:
        if room.publisher is not publisher:
            return
        await self._close_publisher(room)
        listener = publisher.listener or self._listener
        if listener is not None:
            await listener.publisher_lost(room.session_id, publisher.id)

    async def _close_publisher(self, room: Room) -> None:
        publisher = room.publisher
        if publisher is None:
            return
        room.publisher = None
        room.keyframes.close()
        if publisher.simulcast is not None:
            publisher.simulcast.close()
        if room.layers is not None:
            room.layers.close()
            room.layers = None
        for task in publisher.tasks:
            task.cancel()
        await close_peer(publisher.pc)

    async def unpublish(self, session_id: int, publisher_id: str) -> None:
        """The WHIP resource was deleted: close the publisher's connection."""
        room = self._rooms.get(session_id)
        if room is None or room.publisher is None or room.publisher.id != publisher_id:
            raise NotFound("no such WHIP session")
        await self._close_publisher(room)

    async def drop_publisher(self, session_id: int) -> bool:
        """Close the connected publisher as if it had dropped (the listener hears
        ``publisher_lost``); False when there was none."""
        room = self._rooms.get(session_id)
        if room is None or room.publisher is None:
            return False
        await self._lose_publisher(room, room.publisher)
        return True

    def publisher_id(self, session_id: int) -> str | None:
        """Id of the connected publisher's WHIP resource."""
        room = self._rooms.get(session_id)
        return room.publisher.id if room and room.publisher else None

    # -- relay source (an edge pulling the show from its origin) --------------

    def open_relay_source(
        self, session_id: int, pc: RTCPeerConnection, listener: RoomListener
    ) -> Publisher:
        """Make ``pc`` (about to apply the origin's answer) the room's source."""
        room = self._room(session_id)
        if room.publisher is not None:
            raise PublisherBusy("this session already has a source here")
        publisher = Publisher(
            id=secrets.token_urlsafe(12), pc=pc, codecs={}, relay=True, listener=listener
        )
        room.publisher = publisher
        # "track" fires inside setRemoteDescription(answer): listen before it
        pc.on("track", lambda track: self._on_publisher_track(room, publisher, track))
        return publisher

    def relay_source_negotiated(self, session_id: int, publisher: Publisher) -> None:
        """The origin's answer is applied: receive its codecs encoded, like a host's."""
        room = self._room(session_id)
        for transceiver in publisher.pc.getTransceivers():
            codec = aiortc_hooks.keep_first_codec(transceiver)
            if codec is None or transceiver.kind not in CLOCK_RATES:
                continue
            aiortc_hooks.mark_passthrough(transceiver)
            publisher.codecs[transceiver.kind] = codec.name.upper()
            publisher.receivers[transceiver.kind] = transceiver.receiver
            self._remember_codec(room, transceiver)
        if not publisher.codecs:
            raise BadOffer("the origin's relay answer has no codec this node can forward")
        publisher.pc.on("connectionstatechange", lambda: self._on_publisher_state(room, publisher))
        publisher.answered_at = time.monotonic()
        self._ensure_watchdog()

    async def close_relay_source(self, session_id: int, publisher: Publisher) -> None:
        """Close a relay source (the origin moved, or nobody watches here any more)."""
        room = self._rooms.get(session_id)
        if room is not None and room.publisher is publisher:
            await self._close_publisher(room)
        else:
            await close_peer(publisher.pc)

    # -- WHEP -----------------------------------------------------------------

    # -- lifecycle ------------------------------------------------------------

    async def close_room(self, session_id: int) -> None:
        """End the session's media: close the publisher and every viewer."""
        room = self._rooms.pop(session_id, None)
        if room is None:
            return
        await self._close_publisher(room)
        await asyncio.gather(
            *(self._drop_viewer(room, v) for v in list(room.viewers.values())),
            return_exceptions=True,
        )
        for hub in room.hubs.values():
            hub.close()
        room.taps.clear()
        logger.info("session=%s media room closed", session_id)

    async def close(self) -> None:
        """Close every room (server shutdown)."""
        for session_id in list(self._rooms):
            await self.close_room(session_id)
        self._lifetimes.close()
        for task in list(self._background):
            task.cancel()
