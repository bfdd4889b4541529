"""The WHEP side of the SFU, mixed into `sfu.Sfu`: a viewer's offer answered with bounded
``ViewerTrack``s on the room's hubs (fast path when it can), its simulcast layer (its own
choice or its feedback's), and its end (connection lost, WHEP DELETE, a ban)."""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import time
from collections.abc import Awaitable

from aiortc import (
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCRtpTransceiver,
    RTCSessionDescription,
)

from live_server.media.aiortc import hooks as aiortc_hooks
from live_server.media.aiortc.closing import close_peer
from live_server.media.aiortc.fastpath import FastRtpSender
from live_server.media.clock import MediaClock
from live_server.media.fanout import ViewerTrack
from live_server.media.lifetimes import AddressBudget
from live_server.media.rooms import NotLive, Room, Viewer
from live_server.media.sdp import BadOffer, announce_public_ip, check_offer
from live_server.media.viewer_layers import PREFERENCES
from live_server.platform.errors import BadRequest, NotFound

logger = logging.getLogger(__name__)


class ViewerSide:
    """What `Sfu` does for viewers; it relies on the SFU's rooms, budget and peers."""

    clock: MediaClock
    _rooms: dict[int, Room]
    _addresses: AddressBudget
    _public_ip: str | None

    def _new_pc(self) -> RTCPeerConnection:
        raise NotImplementedError

    def _spawn(self, coro: Awaitable[None]) -> None:
        raise NotImplementedError

    def _ensure_watchdog(self) -> None:
        raise NotImplementedError

    def viewer_count(self, session_id: int) -> int:
        raise NotImplementedError

    async def subscribe(
        self,
        session_id: int,
        offer_sdp: str,
        address: str | None = None,
        relay: bool = False,
        user_id: int | None = None,
    ) -> tuple[str, str]:
        """Accept a viewer's offer; returns (viewer id, SDP answer).

        ``address`` is the client's: it may hold at most ``max_viewers_per_address``
        viewers (429 ``too_many_viewers`` beyond; those still connecting count too).
        ``relay``: another node's pull of the show (not audience, exempt from that cap).
        """
        if relay:
            address = None
        summary = check_offer(offer_sdp)
        room = self._rooms.get(session_id)
        if room is None or not room.codec_caps or not self.clock.is_running(session_id):
            raise NotLive("the host is not live yet")
        self._addresses.reserve(address)  # across the awaits below, released on failure
        viewer_id = secrets.token_urlsafe(12)
        pc = self._new_pc()
        tracks: list[ViewerTrack] = []
        try:
            wanted: list[tuple[RTCRtpTransceiver, str]] = []
            # Create the transceivers first: aiortc fixes codecs inside
            # setRemoteDescription, so preferences must already be in place.
            for kind in ("video", "audio"):
                cap = room.codec_caps.get(kind)
                if cap is None or kind not in summary.kinds:
                    continue
                transceiver = pc.addTransceiver(kind, direction="sendonly")
                prefs = [cap]
                if kind == "video":
                    prefs.append(
                        RTCRtpCodecCapability(mimeType="video/rtx", clockRate=cap.clockRate)
                    )
                transceiver.setCodecPreferences(prefs)
                wanted.append((transceiver, kind))
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            for transceiver, kind in wanted:
                negotiated = aiortc_hooks.negotiated_codecs(transceiver)
                if not negotiated or transceiver.mid is None:
                    continue
                if negotiated[0].mimeType.lower() != room.codec_caps[kind].mimeType.lower():
                    raise BadOffer(
                        f"the viewer cannot receive the host's {kind} codec "
                        f"{room.codec_caps[kind].mimeType}"
                    )
                track = room.hubs[kind].new_track(viewer_id)
                tracks.append(track)
                transceiver.sender.replaceTrack(track)
                aiortc_hooks.on_viewer_keyframe_request(transceiver.sender, room.keyframes.request)
                payload_type = negotiated[0].payloadType
                if room.hubs[kind].fast_path and payload_type is not None:
                    track.use_fast_path(
                        functools.partial(
                            FastRtpSender.attach,
                            transceiver.sender,
                            payload_type,
                            f"session={session_id} viewer={viewer_id} {kind}",
                        )
                    )
            if not tracks:
                raise BadOffer(
                    "the offer has no audio or video section that can receive this stream"
                )
            viewer = Viewer(
                id=viewer_id, pc=pc, tracks=tracks, address=address, relay=relay, user_id=user_id
            )
            pc.on("connectionstatechange", lambda: self._on_viewer_state(room, viewer))
            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)
            if self._rooms.get(session_id) is not room:
                raise NotLive("the show ended", code="session_ended")
        except Exception as exc:
            self._addresses.release(address)
            for track in tracks:
                track.stop()
            await close_peer(pc)
            if isinstance(exc, BadOffer | NotLive):
                raise
            logger.warning("session=%s subscribe failed: %r", session_id, exc)
            raise BadOffer(f"the SDP offer could not be negotiated: {exc}") from None
        # the deadline and the silence count from the answer
        viewer.joined_at = time.monotonic()
        viewer.activity = aiortc_hooks.track_remote_activity(pc)
        room.viewers[viewer_id] = viewer
        self._follow_layers(room, viewer)
        self._ensure_watchdog()
        logger.info(
            "session=%s %s=%s joined (%d viewers)",
            session_id,
            "relay" if relay else "viewer",
            viewer_id,
            self.viewer_count(session_id),
        )
        return viewer_id, announce_public_ip(pc.localDescription.sdp, self._public_ip)

    def _follow_layers(self, room: Room, viewer: Viewer) -> None:
        """A simulcast host: the viewer's video follows its own layer choice (not relays)."""
        if room.layers is None or viewer.relay:
            return
        for transceiver in viewer.pc.getTransceivers():
            track = transceiver.sender.track
            if transceiver.kind == "video" and isinstance(track, ViewerTrack):
                room.layers.add_viewer(viewer.id, track, transceiver.sender, viewer.layer)

    def set_layer(self, session_id: int, viewer_id: str, layer: str) -> bool:
        """A viewer's wish: ``auto``, ``low`` (data saver) or ``high`` (HD). True when the
        host sends layers now (the wish is kept for when it does)."""
        preference = next((p for p in PREFERENCES if p == layer), None)
        if preference is None:
            raise BadRequest("layer must be one of auto, low, high")
        room = self._rooms.get(session_id)
        viewer = room.viewers.get(viewer_id) if room is not None else None
        if room is None or viewer is None:
            raise NotFound("no such WHEP session")
        viewer.layer = preference
        return room.layers is not None and room.layers.prefer(viewer_id, preference)

    def _on_viewer_state(self, room: Room, viewer: Viewer) -> None:
        state = viewer.pc.connectionState
        if state == "connected":
            viewer.connected = True
        if state in ("failed", "closed"):
            logger.info("session=%s viewer=%s connection %s", room.session_id, viewer.id, state)
            # released now, not when the task runs: the budget and the hubs see it at once
            self._forget_viewer(room, viewer)
            self._spawn(self._drop_viewer(room, viewer))

    async def _drop_viewer(self, room: Room, viewer: Viewer) -> None:
        self._forget_viewer(room, viewer)
        await close_peer(viewer.pc)

    def _forget_viewer(self, room: Room, viewer: Viewer) -> None:
        """Take the viewer out of its room, the fan-out and its address's budget (idempotent)."""
        if room.viewers.get(viewer.id) is viewer:
            del room.viewers[viewer.id]
            self._addresses.release(viewer.address)
        for track in viewer.tracks:
            track.stop()

    async def unsubscribe(self, session_id: int, viewer_id: str) -> None:
        """The WHEP resource was deleted."""
        room = self._rooms.get(session_id)
        viewer = room.viewers.get(viewer_id) if room else None
        if room is None or viewer is None:
            raise NotFound("no such WHEP session")
        await self._drop_viewer(room, viewer)

    async def drop_user(self, session_id: int, user_id: int) -> int:
        """Close every WHEP viewer of the session signed in as ``user_id`` (a ban); returns
        how many were closed."""
        room = self._rooms.get(session_id)
        if room is None:
            return 0
        viewers = [v for v in room.viewers.values() if v.user_id == user_id and not v.relay]
        for viewer in viewers:
            self._forget_viewer(room, viewer)  # out of the fan-out and the counts at once
        await asyncio.gather(*(close_peer(v.pc) for v in viewers), return_exceptions=True)
        return len(viewers)
