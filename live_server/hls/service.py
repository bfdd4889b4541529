"""The LL-HLS tier's use cases: package live shows, find a show's stream, grant access.

- A host connects: H.264 shows get a packager at once (a remux); a VP8 show gets one at its
  first HLS request (`hls_transcode=on-demand`, one libx264 encode per show), at go-live
  (`always`), or never (`off`).
- While a show is packaged, the origin asks the host for a keyframe at the segment
  cadence (browser encoders send one only when asked), through the same throttled
  requester the WebRTC viewers use.
- The end: the packager flushes its last part; the stream stays as the show's VOD (memory,
  then the files on disk), until `hls_vod_keep_h` has passed.
- Access: public shows' URLs carry the grant `public`; a private show's carry a signed,
  expiring `{exp}.{sig}` made for `/hls/{id}/{epoch}/`, handed out by the multivariant
  playlist to its readers only. Caches key on the URL; no cookie, no header.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from live_server.hls.stream import HlsStream, StoredVod, load_vod, remove_stale
from live_server.media import BroadcastService, MediaTap
from live_server.platform.events import EventBus, VisibilityChanged
from live_server.platform.identity import Principal
from live_server.platform.signed_urls import UrlSigner
from live_server.shows import LiveSession, LiveSessionService
from recordings.llhls import LivePackager, PackagerConfig

logger = logging.getLogger(__name__)

PUBLIC_GRANT = "public"
#: a private show's media links stay valid this long (a long watch must not break)
GRANT_TTL_S = 6 * 3600
#: how often the keyframe cadence and the visibility cache look again
CADENCE_TICK_S = 0.25
_VISIBILITY_TTL_S = 2.0
_STALE_SWEEP_S = 3600.0


@dataclass(frozen=True)
class HlsConfig:
    """The tier's settings (see `Settings`: hls, hls_transcode, hls_*)."""

    enabled: bool = True
    transcode: str = "on-demand"  # on-demand | always | off
    packager: PackagerConfig = field(default_factory=PackagerConfig)
    window_segments: int = 8
    vod_keep_s: float = 48 * 3600.0


#: Raises when a viewer may not have the show's stream (the room's ban: 403 ``banned``).
ViewerGate = Callable[[int, Principal | None], Awaitable[None]]


class HlsService:
    """Owns every show's packager run and answers who may read which stream."""

    def __init__(
        self,
        broadcast: BroadcastService,
        sessions: LiveSessionService,
        signer: UrlSigner,
        events: EventBus,
        root: Path,
        config: HlsConfig,
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        viewer_gate: ViewerGate | None = None,
    ) -> None:
        self._broadcast = broadcast
        #: the room's ban check (passed in by the composition root): raises for a banned
        #: signed-in viewer; an anonymous request to a public stream cannot be told apart
        self._viewer_gate = viewer_gate
        self._sessions = sessions
        self._signer = signer
        self._root = root
        self.config = config
        self._wall_ms = wall_ms
        self._streams: dict[int, HlsStream] = {}
        self._vods: dict[int, StoredVod] = {}
        self._public: dict[int, tuple[bool, float]] = {}
        self._cadence: dict[int, asyncio.Task[None]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        events.subscribe(VisibilityChanged, self._on_visibility)

    # -- TapProvider (the broadcast service asks when a host connects) ----------------

    def taps_for(
        self, session_id: int, video_codec: str | None, audio_codec: str | None
    ) -> list[MediaTap]:
        """A packager for a show whose host connected, unless it has one already."""
        if not self.config.enabled or self._live_stream(session_id) is not None:
            return []
        if video_codec == "VP8" and self.config.transcode != "always":
            return []  # transcoded at the first HLS request, or never
        stream = self._start(session_id, video_codec, audio_codec)
        return [stream.packager] if stream is not None and stream.packager else []

    async def broadcast_ended(self, session_id: int) -> None:
        """The show ended: flush the packager; the stream becomes the show's VOD."""
        task = self._cadence.pop(session_id, None)
        if task is not None:
            task.cancel()
        stream = self._streams.get(session_id)
        if stream is None or stream.packager is None:
            return
        packager, stream.packager = stream.packager, None
        await packager.close()
        await stream.flushed()
        # the window's bytes leave memory: from now on the VOD is read from disk
        vod = await asyncio.to_thread(load_vod, stream.directory)
        if vod is not None and self._streams.get(session_id) is stream:
            del self._streams[session_id]
            self._vods[session_id] = vod

    # -- reads -----------------------------------------------------------------------

    async def stream(self, session_id: int) -> HlsStream | StoredVod | None:
        """The show's live stream (starting an on-demand transcode), or its VOD."""
        if not self.config.enabled:
            return None
        live = self._streams.get(session_id)
        publishing = self._broadcast.is_publishing(session_id)
        if live is not None and live.failed and publishing:
            # the packager stopped on an error while the show goes on: a new run (epoch)
            restarted = self._start(session_id, *self._broadcast.codecs(session_id), attach=True)
            if restarted is not None:
                return restarted
        if live is not None and (not live.ended or live.init is not None):
            return live
        if publishing and self.config.transcode == "on-demand":
            video, audio = self._broadcast.codecs(session_id)
            if video == "VP8":
                started = self._start(session_id, video, audio, attach=True)
                if started is not None:
                    return started
        return await self._stored(session_id)

    def stream_by_epoch(self, session_id: int, epoch: str) -> HlsStream | StoredVod | None:
        """The stream (live or stored) of one packager run, if this node knows it."""
        live = self._streams.get(session_id)
        if live is not None and live.epoch == epoch:
            return live
        vod = self._vods.get(session_id)
        if vod is not None and vod.epoch == epoch:
            return vod
        directory = self._root / f"{session_id}-{epoch}"
        stored = load_vod(directory) if _safe_epoch(epoch) else None
        if stored is not None and stored.session_id == session_id:
            self._vods[session_id] = stored
            return stored
        return None

    async def has_recording(self, session_id: int) -> bool:
        """Whether a finished show's LL-HLS segments are here to play (the instant replay
        while its MP4 replay is processed); shows packaged elsewhere or never live: no."""
        return self.config.enabled and await self._stored(session_id) is not None

    async def media_epoch_ms(self, session_id: int) -> int | None:
        """Wall-clock ms at media time 0 (PROGRAM-DATE-TIME of t is this + 1000 t); a
        finished show's from its VOD (read from disk after a restart)."""
        live = self._streams.get(session_id)
        if live is not None and live.media_epoch_ms is not None:
            return live.media_epoch_ms
        now = self._media_epoch_now(session_id)
        if now is not None:
            return now
        stored = await self._stored(session_id) if self.config.enabled else None
        return stored.media_epoch_ms if stored is not None else None

    def streams(self) -> list[HlsStream]:
        """The streams this node packages or keeps (metrics)."""
        return list(self._streams.values())

    # -- access ----------------------------------------------------------------------

    async def readable(self, who: Principal | None, session_id: int) -> LiveSession:
        """The show, for someone who may view it (404 "no such session" otherwise)."""
        session = await self._sessions.require_visible(who, session_id)
        if self._viewer_gate is not None:
            await self._viewer_gate(session_id, who)  # 403 "banned": no playlist, no grant
        self._public[session_id] = (session.visibility.value == "public", time.monotonic())
        return session

    def grant(self, session: LiveSession, epoch: str) -> str:
        """The grant path segment of a stream for a reader of `session` (see `readable`)."""
        if session.visibility.value == "public":
            return PUBLIC_GRANT
        expires, signature = self._signer.signature(
            self._grant_path(session.id, epoch), GRANT_TTL_S
        )
        return f"{expires}.{signature}"

    async def check_grant(self, session_id: int, epoch: str, grant: str) -> bool:
        """True when `grant` opens this show's stream `epoch` now."""
        if grant == PUBLIC_GRANT:
            return await self._is_public(session_id)
        expires, _, signature = grant.partition(".")
        return self._signer.verify(self._grant_path(session_id, epoch), expires, signature)

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Start-up: remove VODs past their keep time, then once an hour."""
        await asyncio.to_thread(remove_stale, self._root, self.config.vod_keep_s)
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def close(self) -> None:
        """Shut-down: flush every packager (the broadcast closes the rooms after this)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        for session_id in list(self._streams):
            await self.broadcast_ended(session_id)

    # -- internals -------------------------------------------------------------------

    def _live_stream(self, session_id: int) -> HlsStream | None:
        stream = self._streams.get(session_id)
        return stream if stream is not None and stream.packager is not None else None

    def _start(
        self,
        session_id: int,
        video_codec: str | None,
        audio_codec: str | None,
        attach: bool = False,
    ) -> HlsStream | None:
        if video_codec is None and audio_codec is None:
            return None
        if video_codec not in (None, "H264", "VP8"):
            return None
        stream = HlsStream(
            session_id,
            self._root,
            lambda: self._media_epoch_now(session_id) or self._wall_ms(),
            self.config.packager,
            self.config.window_segments,
        )
        packager = LivePackager(
            video_codec,
            audio_codec,
            stream,
            asyncio.get_running_loop(),
            self.config.packager,
            label=f"session={session_id}",
        )
        stream.packager = packager
        packager.start()
        if attach and not self._broadcast.add_tap(session_id, packager):
            stream.packager = None
            asyncio.get_running_loop().create_task(packager.close())
            return None
        self._streams[session_id] = stream
        self._vods.pop(session_id, None)
        old = self._cadence.pop(session_id, None)
        if old is not None:
            old.cancel()
        self._cadence[session_id] = asyncio.get_running_loop().create_task(
            self._keyframe_cadence(session_id, stream, packager)
        )
        logger.info(
            "session=%s LL-HLS packaging %s%s (epoch %s)",
            session_id,
            video_codec or "audio only",
            " via an H.264 transcode" if packager.transcoding else "",
            stream.epoch,
        )
        return stream

    async def _keyframe_cadence(
        self, session_id: int, stream: HlsStream, packager: LivePackager
    ) -> None:
        """Ask the host for a keyframe whenever a segment is due, and whenever the packager
        waits for one (its start, after an overflow). A transcoded show needs only the
        latter: our own encoder makes the segment keyframes."""
        target = self.config.packager.segment_target_s
        self._broadcast.request_keyframe(session_id)
        while stream.packager is packager:
            await asyncio.sleep(CADENCE_TICK_S)
            if packager.waiting_for_keyframe:
                self._broadcast.request_keyframe(session_id)
                continue
            if packager.transcoding:
                continue
            now = self._broadcast.media_time_now(session_id)
            last = packager.last_keyframe_s
            # a request takes a round trip and a frame: ask a little before it is due
            if now is not None and last is not None and now - last >= target - 2 * CADENCE_TICK_S:
                self._broadcast.request_keyframe(session_id)

    def _media_epoch_now(self, session_id: int) -> int | None:
        media_time = self._broadcast.media_time_now(session_id)
        if media_time is None:
            return None
        return self._wall_ms() - round(media_time * 1000)

    async def _stored(self, session_id: int) -> StoredVod | HlsStream | None:
        live = self._streams.get(session_id)
        if live is not None and live.ended:
            return live
        cached = self._vods.get(session_id)
        if cached is not None:
            return cached
        found = await asyncio.to_thread(self._newest_vod, session_id)
        if found is not None:
            self._vods[session_id] = found
        return found

    def _newest_vod(self, session_id: int) -> StoredVod | None:
        if not self._root.is_dir():
            return None
        candidates = sorted(
            self._root.glob(f"{session_id}-*"), key=lambda p: p.stat().st_mtime, reverse=True
        )
        for directory in candidates:
            vod = load_vod(directory)
            if vod is not None and vod.session_id == session_id:
                return vod
        return None

    @staticmethod
    def _grant_path(session_id: int, epoch: str) -> str:
        return f"/hls/{session_id}/{epoch}/"

    async def _is_public(self, session_id: int) -> bool:
        cached = self._public.get(session_id)
        if cached is not None and time.monotonic() - cached[1] < _VISIBILITY_TTL_S:
            return cached[0]
        try:
            session = await self._sessions.get(session_id)
        except Exception:
            return False
        public = session.visibility.value == "public"
        self._public[session_id] = (public, time.monotonic())
        if len(self._public) > 10_000:
            self._public.clear()
        return public

    async def _on_visibility(self, event: VisibilityChanged) -> None:
        self._public[event.session_id] = (event.visibility == "public", time.monotonic())

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(_STALE_SWEEP_S)
            with contextlib.suppress(Exception):
                await asyncio.to_thread(remove_stale, self._root, self.config.vod_keep_s)
            for session_id, stream in list(self._streams.items()):
                if stream.ended and time.monotonic() - stream.started_at > self.config.vod_keep_s:
                    del self._streams[session_id]


def _safe_epoch(epoch: str) -> bool:
    """Epochs are `secrets.token_urlsafe` text; anything else never names a directory."""
    return 0 < len(epoch) <= 32 and all(c.isalnum() or c in "-_" for c in epoch)
