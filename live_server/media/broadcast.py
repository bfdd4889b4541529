"""Go-live and end orchestration between the SFU, the session service and the recorder.

- WHIP POST: check the session and its stream key, hand the offer to the SFU and attach
  a recorder tap before the first frame can arrive.
- First frame: the session goes live (the SFU started the media clock on that frame).
- Publisher gone without DELETE: `reconnecting` for the grace period, then the end.
- End (WHIP DELETE, grace period over, or the session ended through the REST API):
  close the room, finalise the recording, store it, publish `RecordingFinished`.
- Origin lease (live_server.cluster): the WHIP POST takes the show's lease before the offer
  is accepted (409 ``publisher_busy`` while another node holds it); the cluster renews it
  while the show is live or reconnecting here; the end releases it. A renewal refused by the
  fence (another node became the origin) closes the show's media here without ending it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from live_server.cluster import Cluster
from live_server.media.clock import MediaClock
from live_server.media.recovery import close_unfinished, watch_orphans
from live_server.media.relay import check_relay_offer
from live_server.media.sdp import ice_link_headers
from live_server.media.sfu import MediaTap, NotLive, Sfu
from live_server.media.store import RecordingRepository
from live_server.media.turn import announced_ice_servers
from live_server.platform.errors import (
    Conflict,
    DomainError,
    NotFound,
    Unauthorized,
)
from live_server.platform.events import (
    EventBus,
    RecordingFinished,
    SessionStateChanged,
    StreamKeyRotated,
    VisibilityChanged,
)
from live_server.shows.clock import MediaClock as FallbackClock
from live_server.shows.rules import SessionState, Visibility
from live_server.shows.service import LiveSessionService
from recordings.writer import RecordingWriter, container_for

logger = logging.getLogger(__name__)


@dataclass
class _Recorder:
    writer: RecordingWriter
    recording_id: int | None = None


class TapProvider(Protocol):
    """A feature that takes a copy of every live show's frames (the LL-HLS packager)."""

    def taps_for(
        self, session_id: int, video_codec: str | None, audio_codec: str | None
    ) -> list[MediaTap]:
        """Taps for a show whose host just connected (again: return [] if already tapped)."""

    async def broadcast_ended(self, session_id: int) -> None:
        """The show's media has ended (its room is closed)."""


def _lower(name: str | None) -> str | None:
    return name.lower() if name else None


class BroadcastService:
    """The live video use cases behind WHIP and WHEP."""

    def __init__(
        self,
        sessions: LiveSessionService,
        sfu: Sfu,
        recordings: RecordingRepository,
        events: EventBus,
        recordings_dir: Path,
        grace_s: float = 30.0,
        fallback_clock: FallbackClock | None = None,
        cluster: Cluster | None = None,
    ) -> None:
        self._sessions = sessions
        self._sfu = sfu
        self._clock: MediaClock = sfu.clock
        self._recordings = recordings
        self._events = events
        # absolute, so that the clips worker finds recordings whatever its working directory
        self._dir = Path(os.path.abspath(recordings_dir))
        self._grace_s = grace_s
        self._fallback_clock = fallback_clock
        self._tap_providers: list[TapProvider] = []
        self._recorders: dict[int, _Recorder] = {}
        self._grace: dict[int, asyncio.Task[None]] = {}
        self._ending: set[int] = set()
        self._orphans: asyncio.Task[None] | None = None
        self.cluster = cluster
        sfu.set_listener(self)
        events.subscribe(SessionStateChanged, self._on_state_changed)
        events.subscribe(StreamKeyRotated, self._on_stream_key_rotated)
        events.subscribe(VisibilityChanged, self._on_visibility_changed)
        if cluster is not None:
            cluster.on_lease_lost(self._on_lease_lost)

    # -- WHIP -------------------------------------------------------------------------

    async def go_live(self, session_id: int, stream_key: str | None, offer: str) -> tuple[str, str]:
        """Accept the host's WHIP offer; returns (resource id, SDP answer)."""
        session = await self._sessions.get(session_id)
        if not stream_key or not await self._sessions.check_stream_key(session_id, stream_key):
            raise Unauthorized("wrong or missing stream key", code="bad_stream_key")
        if session.state is SessionState.ENDED:
            raise Conflict("this session has ended", code="session_ended")
        held_before = self.cluster is None or self.cluster.holds(session_id)
        if self.cluster is not None:
            # before the offer: two nodes must never both accept the host (409 otherwise)
            await self.cluster.acquire(session_id, session.visibility is Visibility.PUBLIC)
        try:
            publisher_id, answer = await self._sfu.publish(session_id, offer)
        except Exception:
            if not held_before and self._sfu.room(session_id) is None and self.cluster:
                await self.cluster.release(session_id)
            raise
        if not await self._sessions.check_stream_key(session_id, stream_key):
            # the key was rotated while this offer was negotiated: the rotation's drop may
            # have come before the publisher took the slot
            with contextlib.suppress(NotFound):
                await self._sfu.unpublish(session_id, publisher_id)
            raise Unauthorized("wrong or missing stream key", code="bad_stream_key")
        room = self._sfu.room(session_id)
        if session_id not in self._recorders and room is not None:
            video = room.hubs["video"].codec_name if "video" in room.codec_caps else None
            audio = room.hubs["audio"].codec_name if "audio" in room.codec_caps else None
            _, ext = container_for(video)
            # a random name: the file of a private show must not be found by guessing
            # (ids and go-live times are); the recordings table says whose it is
            path = self._dir / f"{secrets.token_urlsafe(18)}.{ext}"
            writer = RecordingWriter(path, video, audio)
            writer.start()
            self._recorders[session_id] = _Recorder(writer)
            self._sfu.add_tap(session_id, writer)
        if room is not None:
            video, audio = self.codecs(session_id)
            for provider in self._tap_providers:
                for tap in provider.taps_for(session_id, video, audio):
                    self._sfu.add_tap(session_id, tap)
        return publisher_id, answer

    def add_tap_provider(self, provider: TapProvider) -> None:
        """``provider`` is asked for taps whenever a host connects (the composition root)."""
        self._tap_providers.append(provider)

    def codecs(self, session_id: int) -> tuple[str | None, str | None]:
        """(video, audio) codec names the host sends ("H264"/"VP8", "OPUS"), if live here."""
        room = self._sfu.room(session_id)
        if room is None:
            return None, None
        video = room.hubs["video"].codec_name if "video" in room.codec_caps else None
        audio = room.hubs["audio"].codec_name if "audio" in room.codec_caps else None
        return video, audio

    def add_tap(self, session_id: int, tap: MediaTap) -> bool:
        """Tap a show already live here (an on-demand transcode); False when it is not."""
        if self._sfu.room(session_id) is None or session_id in self._ending:
            return False
        self._sfu.add_tap(session_id, tap)
        return True

    def request_keyframe(self, session_id: int) -> None:
        """Ask the host for a keyframe (throttled and coalesced with the viewers' requests)."""
        room = self._sfu.room(session_id)
        if room is not None:
            room.keyframes.request()

    async def stop_publishing(self, session_id: int, publisher_id: str) -> None:
        """WHIP DELETE: the host ends the broadcast."""
        if self._sfu.publisher_id(session_id) != publisher_id:
            raise NotFound("no such WHIP session", code="whip_resource_not_found")
        await self._sfu.unpublish(session_id, publisher_id)
        await self.finish(session_id, reason="host ended the broadcast")

    # -- WHEP -------------------------------------------------------------------------

    async def serve_relay(self, session_id: int, token: str | None, offer: str) -> tuple[str, str]:
        """Another node pulls this show (``POST /relay``): 401 without a valid relay token,
        400 for an offer that would send, 409 unless this node is the show's origin."""
        cluster = self.cluster
        node = cluster.check_relay_token(token, session_id) if cluster else None
        if cluster is None or node is None:
            raise Unauthorized("a relay pull needs a valid node token", code="bad_relay_token")
        check_relay_offer(offer)
        if not cluster.holds(session_id):
            raise NotLive("this node is not the show's origin")
        relay_id, answer = await self._sfu.subscribe(session_id, offer, relay=True)
        logger.info("session=%s relay=%s to node=%s", session_id, relay_id, node)
        return relay_id, answer

    async def stop_relay(self, session_id: int, relay_id: str) -> None:
        """``DELETE`` on a relay resource: the pulling node lets the show go."""
        await self._sfu.unsubscribe(session_id, relay_id)

    def viewer_count(self, session_id: int) -> int:
        """WHEP viewers connected right now, on every node (each on the node serving it)."""
        if self.cluster is None:
            return self._sfu.viewer_count(session_id)
        return self.cluster.show_viewers(session_id)

    def viewers_by_node(self, session_id: int) -> list[dict[str, object]]:
        """Each node's WHEP viewers of the show (nodes without any left out)."""
        if self.cluster is None:
            return []
        return [
            {"node_id": n.node_id, "role": n.role, "viewers": n.shows[session_id]}
            for n in self.cluster.nodes()
            if n.shows.get(session_id)
        ]

    def is_publishing(self, session_id: int) -> bool:
        """True while the host's frames are arriving."""
        return self._sfu.is_receiving(session_id)

    def simulcast_layers(self, session_id: int) -> list[dict[str, object]]:
        """A simulcast host's layers as this node receives them, largest picture first
        (the ``layers`` of the broadcast status; empty for a single-stream host)."""
        room = self._sfu.room(session_id)
        publisher = room.publisher if room is not None else None
        if publisher is None or publisher.simulcast is None:
            return []
        source = publisher.simulcast.source
        return [
            {
                "rid": layer.rid,
                "ssrc": layer.ssrc,
                "width": layer.size[0] if layer.size else None,
                "height": layer.size[1] if layer.size else None,
                "live": layer.live,
                "source": layer.rid == source,
            }
            for layer in publisher.layers.values()
        ]

    def ice_links(self, peer_id: str) -> list[str]:
        """``Link`` header values for one WHIP/WHEP peer: the configured STUN servers and
        TURN credentials issued for that peer alone (static TURN credentials never leave)."""
        return ice_link_headers(
            announced_ice_servers(self._sfu.ice_servers, self._sfu.turn, peer_id)
        )

    # -- media clock (the `MediaClock` protocol of services.media_clock) ---------------

    async def media_time(self, session_id: int) -> float | None:
        """Seconds since go-live while the session is live or reconnecting, else None.

        The SFU's clock starts on the host's first frame (recording t=0). When this
        process has no clock for the session (e.g. after a restart) the stored
        go-live time answers instead.
        """
        if self._clock.is_running(session_id):
            return self._clock.media_time(session_id)
        if self._fallback_clock is not None:
            return await self._fallback_clock.media_time(session_id)
        return None

    def media_time_now(self, session_id: int) -> float | None:
        """The media time from this process's clock only (None when it does not run here)."""
        if self._clock.is_running(session_id):
            return self._clock.media_time(session_id)
        return None

    # -- SFU listener -----------------------------------------------------------------

    async def publisher_started(self, session_id: int) -> None:
        """First frame of a (re)connected publisher: the session is live."""
        grace = self._grace.pop(session_id, None)
        if grace is not None:
            grace.cancel()
        recorder = self._recorders.get(session_id)
        if recorder is not None and recorder.recording_id is None:
            writer = recorder.writer
            recorder.recording_id = await self._recordings.create(
                session_id,
                str(writer.path),
                writer.format,
                _lower(writer.video_codec),  # ffprobe's names: vp8, h264, opus
                _lower(writer.audio_codec),
            )
        try:
            await self._sessions.mark_live(session_id)
        except DomainError as exc:
            logger.warning("session=%s could not go live: %s", session_id, exc)
            await self.finish(session_id, reason="session cannot go live")

    async def publisher_lost(self, session_id: int, publisher_id: str) -> None:
        """The host vanished without DELETE: reconnecting, then the end after the grace."""
        if session_id in self._ending:
            return
        if not self._clock.is_running(session_id):
            logger.info("session=%s publisher=%s lost before going live", session_id, publisher_id)
            await self.finish(session_id, reason="publisher lost before the first frame")
            return
        with contextlib.suppress(DomainError):
            await self._sessions.mark_reconnecting(session_id)
        logger.info("session=%s host lost; grace period %.0fs", session_id, self._grace_s)
        old = self._grace.pop(session_id, None)
        if old is not None:
            old.cancel()
        self._grace[session_id] = asyncio.ensure_future(self._grace_then_end(session_id))

    async def _grace_then_end(self, session_id: int) -> None:
        await asyncio.sleep(self._grace_s)
        self._grace.pop(session_id, None)
        if not self._sfu.is_receiving(session_id):
            await self.finish(session_id, reason="grace period over")

    async def _on_stream_key_rotated(self, event: StreamKeyRotated) -> None:
        """Whoever publishes with the old key is cut off; the show goes to its reconnect
        grace as if the host had dropped, so the new key can publish at once."""
        if await self._sfu.drop_publisher(event.session_id):
            logger.info("session=%s publisher dropped: stream key rotated", event.session_id)

    async def _on_visibility_changed(self, event: VisibilityChanged) -> None:
        if self.cluster is not None:
            public = event.visibility == Visibility.PUBLIC.value
            await self.cluster.set_public(event.session_id, public)

    async def _on_lease_lost(self, session_id: int) -> None:
        """Another node is the show's origin now: stop serving it from here (the session
        goes on there; this node's recording is finalised as the show's first part)."""
        grace = self._grace.pop(session_id, None)
        if grace is not None:
            grace.cancel()
        await self._sfu.close_room(session_id)
        self._clock.stop(session_id)
        await self._finalise_recording(session_id)

    async def _on_state_changed(self, event: SessionStateChanged) -> None:
        if event.new == SessionState.ENDED.value and (
            self._sfu.room(event.session_id) is not None or event.session_id in self._recorders
        ):
            await self.finish(event.session_id, reason="session ended")

    # -- the end ----------------------------------------------------------------------

    async def finish(self, session_id: int, reason: str) -> None:
        """Close the room, finalise the recording, end the session (idempotent)."""
        if session_id in self._ending:
            return
        self._ending.add(session_id)
        try:
            grace = self._grace.pop(session_id, None)
            if grace is not None and grace is not asyncio.current_task():
                grace.cancel()
            went_live = self._clock.is_running(session_id)
            await self._sfu.close_room(session_id)
            self._clock.stop(session_id)
            await self._finalise_recording(session_id)
            for provider in self._tap_providers:
                try:
                    await provider.broadcast_ended(session_id)
                except Exception:
                    logger.exception("session=%s tap provider failed at the end", session_id)
            if went_live:
                with contextlib.suppress(DomainError):
                    await self._sessions.mark_ended(session_id)
            if self.cluster is not None:
                await self.cluster.release(session_id)
            logger.info("session=%s media ended: %s", session_id, reason)
        finally:
            self._ending.discard(session_id)

    async def _finalise_recording(self, session_id: int) -> None:
        recorder = self._recorders.pop(session_id, None)
        if recorder is None:
            return
        try:
            info = await recorder.writer.close()
        except Exception:
            logger.exception("session=%s recording failed", session_id)
            if recorder.recording_id is not None:
                await self._recordings.finish(recorder.recording_id, 0.0, 0, status="failed")
            return
        if recorder.recording_id is None or recorder.writer.frames_written == 0:
            info.path.unlink(missing_ok=True)
            if recorder.recording_id is not None:
                await self._recordings.finish(recorder.recording_id, 0.0, 0, status="failed")
            return
        await self._recordings.finish(recorder.recording_id, info.duration_s, info.size_bytes)
        logger.info(
            "session=%s recording=%s finished: %.1fs %d bytes",
            session_id,
            recorder.recording_id,
            info.duration_s,
            info.size_bytes,
        )
        await self._events.publish(RecordingFinished(session_id, recorder.recording_id))

    # -- start-up and shut-down -----------------------------------------------------

    async def recover(self) -> None:
        """After a crash: close recordings left open and give live sessions a grace period."""
        await close_unfinished(self._recordings, self._events)
        for view in await self._sessions.search("live", limit=1000):
            session_id = view.session.id
            if self.cluster is not None and await self.cluster.origin_of(session_id):
                continue  # live through another node (several nodes share the database)
            await self._give_grace(session_id)
        if self.cluster is not None and self.cluster.shared:
            self._orphans = asyncio.ensure_future(self._watch_orphans())

    async def _give_grace(self, session_id: int) -> None:
        with contextlib.suppress(DomainError):
            await self._sessions.mark_reconnecting(session_id)
        self._grace[session_id] = asyncio.ensure_future(self._end_stale(session_id))

    async def _watch_orphans(self) -> None:
        assert self.cluster is not None
        await watch_orphans(
            self._sessions,
            self.cluster,
            lambda sid: sid in self._grace or self._sfu.room(sid) is not None,
            self._give_grace,
        )

    async def _end_stale(self, session_id: int) -> None:
        await asyncio.sleep(self._grace_s)
        self._grace.pop(session_id, None)
        if self.cluster is not None and await self.cluster.origin_of(session_id):
            return  # the host came back through another node
        if not self._sfu.is_receiving(session_id):
            with contextlib.suppress(DomainError):
                await self._sessions.mark_ended(session_id)

    async def close(self) -> None:
        """Server shutdown: end the media of every room and finalise recordings."""
        if self._orphans is not None:
            self._orphans.cancel()
        for task in list(self._grace.values()):
            task.cancel()
        self._grace.clear()
        for session_id in list(self._recorders):
            await self._finalise_recording(session_id)
        await self._sfu.close()
