"""A show's poster: a real frame, for the home page's cards and anything else that lists
shows.

``GET /api/sessions/{id}/poster`` answers with the newest picture of a live show (a small
JPEG of the last keyframe its host sent, decoded at most every ``refresh_s``), or sends a
finished show's reader to its replay's poster frame, or 404 when the show has neither.
``GET /api/posters?sessions=1,2,3`` tells a page which of the shows it lists have a picture
and where, so it asks only for pictures that exist (a card without one keeps its tile).
Live frames come from a tap on the show's media, so they exist on the node the host
publishes to; other nodes give the replay's poster or nothing.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass

import msgspec
from aiohttp import web

from live_server.content.access import ContentAccess
from live_server.content.clips.store import ClipRepository
from live_server.media import MediaTap
from live_server.platform.errors import BadRequest, NotFound
from live_server.platform.http import json_response, path_int, principal
from live_server.platform.identity import Principal
from live_server.platform.openapi import document, op, query_param
from live_server.shows import Visibility
from recordings.probe import MediaError
from recordings.thumbnails import keyframe_jpeg
from recordings.worker import MediaWorker

logger = logging.getLogger(__name__)

LIVE_POSTER_MAX_AGE_S = 10
MAX_POSTERS_ASKED = 60
_IDS_PATTERN = f"^[0-9]{{1,19}}(,[0-9]{{1,19}}){{0,{MAX_POSTERS_ASKED - 1}}}$"
_IDS = re.compile(r"[0-9]{1,19}(,[0-9]{1,19})*", re.ASCII)


class PostersOut(msgspec.Struct):
    """Where the picture of each show asked for is (shows without one are left out)."""

    posters: dict[str, str]


class _LatestKeyframe:
    """A media tap that keeps the newest video keyframe (on the event loop, no copy)."""

    def __init__(self) -> None:
        self.codec = ""
        self.data = b""
        self.count = 0

    def on_frame(self, kind: str, codec: str, data: bytes, pts: int, keyframe: bool) -> None:
        if kind == "video" and keyframe and data:
            self.codec, self.data = codec, data
            self.count += 1


@dataclass(slots=True)
class _Cached:
    jpeg: bytes
    count: int
    at: float


class LivePosters:
    """Live shows' newest pictures; a tap provider for the broadcast service."""

    def __init__(self, worker: MediaWorker, refresh_s: float = LIVE_POSTER_MAX_AGE_S) -> None:
        self._worker = worker
        self._refresh_s = refresh_s
        self._taps: dict[int, _LatestKeyframe] = {}
        self._cache: dict[int, _Cached] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    def taps_for(
        self, session_id: int, video_codec: str | None, audio_codec: str | None
    ) -> list[MediaTap]:
        """A keyframe keeper for a show whose host connected (none if it has one)."""
        if video_codec is None or session_id in self._taps:
            return []
        tap = self._taps[session_id] = _LatestKeyframe()
        return [tap]

    async def broadcast_ended(self, session_id: int) -> None:
        """The show's media ended: forget its frames."""
        self._taps.pop(session_id, None)
        self._cache.pop(session_id, None)
        self._locks.pop(session_id, None)

    def version(self, session_id: int) -> int | None:
        """How many keyframes the show has sent here (None: no picture on this node)."""
        tap = self._taps.get(session_id)
        return tap.count if tap is not None and tap.data else None

    async def jpeg(self, session_id: int) -> bytes | None:
        """The show's newest picture as a JPEG, or None (not live here, no keyframe yet)."""
        tap = self._taps.get(session_id)
        if tap is None or not tap.data:
            return None
        lock = self._locks.setdefault(session_id, asyncio.Lock())
        async with lock:  # one decode per show at a time, however many cards ask
            cached = self._cache.get(session_id)
            now = time.monotonic()
            if cached is not None and (
                cached.count == tap.count or now - cached.at < self._refresh_s
            ):
                return cached.jpeg
            codec, data, count = tap.codec, tap.data, tap.count
            try:
                jpeg = await self._worker.call(keyframe_jpeg, codec, data)
            except MediaError as exc:
                logger.info("session %d: no live poster: %s", session_id, exc)
                return cached.jpeg if cached is not None else None
            if session_id in self._taps:
                self._cache[session_id] = _Cached(jpeg, count, now)
            return jpeg


def setup(
    app: web.Application, posters: LivePosters, access: ContentAccess, clips: ClipRepository
) -> None:
    """Serves ``GET /api/sessions/{session_id}/poster``."""

    async def poster_url(who: Principal | None, session_id: int) -> str | None:
        try:
            session = await access.session(who, session_id)
        except NotFound:
            return None
        version = posters.version(session_id) if session.is_live else None
        if version is not None:
            return f"/api/sessions/{session_id}/poster?v={version}"
        replay = await clips.replay(session_id)
        if replay is None or not replay.poster_url:
            return None
        return access.replay_links(session, replay).poster_url

    async def list_posters(request: web.Request) -> web.Response:
        raw = request.query.get("sessions")
        parts = [] if raw is None else raw.split(",")
        if raw is not None and (len(parts) > MAX_POSTERS_ASKED or not _IDS.fullmatch(raw)):
            raise BadRequest(
                f"sessions must be a comma-separated list of at most {MAX_POSTERS_ASKED}"
                " show numbers",
                code="invalid_sessions",
            )
        who = principal(request)
        out: dict[str, str] = {}
        for session_id in dict.fromkeys(int(p) for p in parts):
            url = await poster_url(who, session_id) if session_id < 2**63 else None
            if url is not None:
                out[str(session_id)] = url
        return json_response({"posters": out})

    async def get_poster(request: web.Request) -> web.StreamResponse:
        session_id = path_int(request, "session_id")
        session = await access.session(principal(request), session_id)
        scope = "public" if session.visibility is Visibility.PUBLIC else "private"
        if session.is_live:
            jpeg = await posters.jpeg(session_id)
            if jpeg is not None:
                return web.Response(
                    body=jpeg,
                    content_type="image/jpeg",
                    headers={"Cache-Control": f"{scope}, max-age={LIVE_POSTER_MAX_AGE_S}"},
                )
        replay = await clips.replay(session_id)
        if replay is not None and replay.poster_url:
            url = access.replay_links(session, replay).poster_url
            raise web.HTTPFound(url, headers={"Cache-Control": f"{scope}, max-age=300"})
        raise NotFound("this show has no picture yet", code="no_poster")

    app.router.add_get("/api/sessions/{session_id}/poster", get_poster)
    app.router.add_get("/api/posters", list_posters)
    document(
        app,
        {
            "/api/posters": {
                "GET": op(
                    "Which of these shows have a real picture, and its URL (live or replay)",
                    tag="replays",
                    response=PostersOut,
                    errors=(400,),
                    params=[
                        query_param(
                            "sessions",
                            f"show ids, comma-separated (at most {MAX_POSTERS_ASKED})",
                            schema={
                                "type": "string",
                                "pattern": _IDS_PATTERN,
                            },
                        )
                    ],
                )
            },
            "/api/sessions/{session_id}/poster": {
                "GET": op(
                    "A real frame of the show: the newest picture while live (JPEG),"
                    " else a redirect to its replay's poster",
                    tag="replays",
                    response={"type": "string", "format": "binary"},
                    ok_type="image/jpeg",
                    errors=(404,),
                    params=[query_param("v", "ignored: changes with the picture, for caches")],
                    extra_responses={
                        "302": {
                            "description": "the replay's poster frame",
                            "headers": {"Location": {"schema": {"type": "string"}}},
                        }
                    },
                )
            },
        },
    )
