"""LL-HLS over HTTP: the multivariant and media playlists, init, segments and parts.

URLs and headers are made for caches (docs/hls.md): every file under
`/hls/{id}/{epoch}/{grant}/` is immutable and named by its URL alone (no cookie, no
header), the playlists live a second (a blocking-reload URL, unique per msn/part, a
minute), and a request for what is not made yet (the next part, a playlist that must hold
it) is held until it exists, so that a cache with request collapsing turns a thousand
viewers' requests for a new part into one.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from pathlib import Path

from aiohttp import web

from live_server.hls import rules
from live_server.hls.keys import HLS, HLS_METRICS
from live_server.hls.metrics import HlsMetrics
from live_server.hls.models import HlsInfoOut
from live_server.hls.service import HlsService
from live_server.hls.stream import INIT_NAME, HlsStream, StoredVod
from live_server.platform.errors import BadRequest, NotFound, Unavailable
from live_server.platform.http import json_response, path_int, principal
from live_server.platform.openapi import document, op

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
IMMUTABLE = "public, max-age=31536000, immutable"
#: plain playlists: a cache may answer for about one part duration
LIVE_PLAYLIST_CACHE = "public, max-age=1"
#: blocking-reload playlists: each URL names one state of the stream
BLOCKING_PLAYLIST_CACHE = "public, max-age=60"
VOD_PLAYLIST_CACHE = "public, max-age=3600"
_FILE = re.compile(r"^(?:s(\d{1,9})(?:\.p(\d{1,4}))?\.m4s|init\.mp4|media\.m3u8)$")
_CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "ETag"}


def _not_found() -> NotFound:
    return NotFound("this part of the show's stream is not available", code="hls_not_found")


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def _answer(
    request: web.Request, body: bytes, content_type: str, cache: str, etag: str | None = None
) -> web.Response:
    tag = etag or _etag(body)
    headers = {**_CORS, "Cache-Control": cache, "ETag": tag}
    if request.headers.get("If-None-Match") == tag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type=content_type, headers=headers)


async def multivariant(request: web.Request) -> web.Response:
    """GET /hls/{session_id}/index.m3u8: names the show's stream with the reader's grant."""
    session_id = path_int(request, "session_id")
    service = request.app[HLS]
    metrics = request.app[HLS_METRICS]
    metrics.request("multivariant")
    session = await service.readable(principal(request), session_id)
    stream = await service.stream(session_id)
    if stream is None:
        raise NotFound("this show has no LL-HLS stream (yet)", code="hls_not_live")
    if isinstance(stream, HlsStream) and stream.init is None and not stream.ended:
        # the packager's first keyframe is on its way: a short wait beats a 404 loop
        await _wait_for(lambda: stream.init is not None or stream.ended, stream, 3.0)
    codecs, resolution, bandwidth = _variant(stream)
    grant = service.grant(session, stream.epoch)
    body = rules.multivariant_playlist(
        f"{stream.epoch}/{grant}/media.m3u8", bandwidth, codecs, resolution
    ).encode()
    public = grant == "public"
    return _answer(
        request, body, PLAYLIST_TYPE, LIVE_PLAYLIST_CACHE if public else "private, no-store"
    )


def _variant(stream: HlsStream | StoredVod) -> tuple[str, tuple[int, int] | None, int]:
    if isinstance(stream, StoredVod):
        return stream.codecs, stream.resolution, 2_000_000
    init = stream.init
    if init is None:
        return "avc1.42e01f,opus", None, stream.bitrate()
    size = (init.width, init.height) if init.width and init.height else None
    return init.codecs, size, stream.bitrate()


async def _wait_for(ready: object, stream: HlsStream, timeout_s: float) -> bool:
    assert callable(ready)
    deadline = time.monotonic() + timeout_s
    while not ready():
        left = deadline - time.monotonic()
        if left <= 0 or not await stream.changed(left):
            return bool(ready())
    return True


async def stream_file(request: web.Request) -> web.Response:
    """GET /hls/{session_id}/{epoch}/{grant}/{name}: a playlist, init, segment or part."""
    session_id = path_int(request, "session_id")
    epoch, grant = request.match_info["epoch"], request.match_info["grant"]
    name = request.match_info["name"]
    service = request.app[HLS]
    metrics = request.app[HLS_METRICS]
    match = _FILE.match(name)
    if match is None or len(grant) > 120 or not await service.check_grant(session_id, epoch, grant):
        metrics.request("refused")
        raise _not_found()
    stream = service.stream_by_epoch(session_id, epoch)
    if stream is None:
        metrics.request("refused")
        raise _not_found()
    if name == "media.m3u8":
        return await _media_playlist(request, service, metrics, stream)
    if name == INIT_NAME:
        metrics.request("init")
        return await _file_answer(request, metrics, stream, name, "video/mp4")
    msn = int(match.group(1))
    if match.group(2) is None:
        metrics.request("segment")
        return await _file_answer(request, metrics, stream, name, "video/iso.segment", msn)
    return await _part(request, metrics, stream, name, msn, int(match.group(2)))


async def _media_playlist(
    request: web.Request, service: HlsService, metrics: HlsMetrics, stream: HlsStream | StoredVod
) -> web.Response:
    if isinstance(stream, StoredVod):
        metrics.request("playlist")
        body = rules.media_playlist(stream.window).encode()
        return _answer(request, body, PLAYLIST_TYPE, VOD_PLAYLIST_CACHE)
    asked = rules.blocking_request(request.query)
    if asked is None:
        metrics.request("playlist")
        body = rules.media_playlist(stream.window()).encode()
        return _answer(
            request,
            body,
            PLAYLIST_TYPE,
            VOD_PLAYLIST_CACHE if stream.ended else LIVE_PLAYLIST_CACHE,
        )
    metrics.request("blocking_playlist")
    msn, part = asked
    started = time.monotonic()
    limit = 3 * stream.target_duration_s
    while True:
        state = rules.blocking_state(stream.window(), msn, part)
        if state is rules.Blocking.TOO_FAR:
            raise BadRequest(
                "that segment is more than two segments ahead of the live edge",
                code="hls_too_far_ahead",
            )
        if state is rules.Blocking.READY:
            break
        left = limit - (time.monotonic() - started)
        if left <= 0 or not await stream.changed(left):
            metrics.playlist_wait.observe(time.monotonic() - started)
            raise Unavailable(
                "the stream has not reached that part yet", code="hls_not_ready", retry_after=1
            )
    metrics.playlist_wait.observe(time.monotonic() - started)
    body = rules.media_playlist(stream.window()).encode()
    return _answer(request, body, PLAYLIST_TYPE, BLOCKING_PLAYLIST_CACHE)


async def _file_answer(
    request: web.Request,
    metrics: HlsMetrics,
    stream: HlsStream | StoredVod,
    name: str,
    content_type: str,
    msn: int | None = None,
) -> web.Response:
    body: bytes | None = None
    if isinstance(stream, HlsStream):
        if name == INIT_NAME:
            body = stream.init.data if stream.init is not None else None
        elif msn is not None:
            body = stream.segment(msn)
        if body is None:
            await stream.flushed()
    if body is None:
        body = await asyncio.to_thread(_read, stream.directory / name)
        if body is None:
            raise _not_found()
    metrics.served(stream.epoch, name, len(body))
    return _answer(request, body, content_type, IMMUTABLE, f'"{stream.epoch}.{name}"')


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


async def _part(
    request: web.Request,
    metrics: HlsMetrics,
    stream: HlsStream | StoredVod,
    name: str,
    msn: int,
    index: int,
) -> web.Response:
    if isinstance(stream, StoredVod):
        metrics.request("part")
        raise _not_found()  # a VOD lists whole segments only
    body = stream.part(msn, index)
    if body is None and stream.part_pending(msn, index):
        metrics.request("preload_part")
        await _wait_for(
            lambda: stream.part(msn, index) is not None or not stream.part_pending(msn, index),
            stream,
            3 * stream.target_duration_s,
        )
        body = stream.part(msn, index)
    else:
        metrics.request("part")
    if body is None:
        raise _not_found()
    metrics.served(stream.epoch, name, len(body))
    return _answer(request, body, "video/iso.segment", IMMUTABLE, f'"{stream.epoch}.{name}"')


async def options(request: web.Request) -> web.Response:
    """CORS preflight (a private show's multivariant playlist is asked for with a token)."""
    return web.Response(
        status=204,
        headers={
            **_CORS,
            "Access-Control-Allow-Methods": "GET, OPTIONS",
            "Access-Control-Allow-Headers": "Authorization",
            "Access-Control-Max-Age": "600",
        },
    )


async def hls_info(request: web.Request) -> web.Response:
    """GET /api/sessions/{session_id}/hls: the playlist URL and the media-time epoch."""
    session_id = path_int(request, "session_id")
    service = request.app[HLS]
    session = await service.readable(principal(request), session_id)
    return json_response(
        {
            "session_id": session_id,
            "state": session.state.value,
            "enabled": service.config.enabled,
            "url": f"/hls/{session_id}/index.m3u8",
            "media_epoch_ms": await service.media_epoch_ms(session_id),
        },
        headers={"Cache-Control": "no-store"},
    )


def setup(app: web.Application) -> None:
    """Registers the LL-HLS routes and documents them."""
    r = app.router
    r.add_get("/hls/{session_id}/index.m3u8", multivariant)
    r.add_route("OPTIONS", "/hls/{session_id}/index.m3u8", options)
    r.add_get("/hls/{session_id}/{epoch}/{grant}/{name}", stream_file)
    r.add_get("/api/sessions/{session_id}/hls", hls_info)
    document(
        app,
        {
            "/hls/{session_id}/index.m3u8": {
                "GET": op(
                    "LL-HLS multivariant playlist of a live show (a private show: Bearer"
                    " token of one of its readers; the variant URI carries a signed grant);"
                    " 403 `banned` for a signed-in viewer banned from the show's room",
                    tag="hls",
                    ok_type=PLAYLIST_TYPE,
                    errors=(403, 404),
                ),
                "OPTIONS": op("CORS preflight", tag="hls", ok=204),
            },
            "/hls/{session_id}/{epoch}/{grant}/{name}": {
                "GET": op(
                    "media.m3u8 (blocking reload with _HLS_msn/_HLS_part), init.mp4,"
                    " s{msn}.m4s, s{msn}.p{part}.m4s",
                    tag="hls",
                    ok_type="video/iso.segment",
                    errors=(400, 404, 503),
                ),
            },
            "/api/sessions/{session_id}/hls": {
                "GET": op(
                    "The show's LL-HLS playlist URL and media-time epoch (403 `banned` for"
                    " a viewer banned from the show's room)",
                    tag="hls",
                    response=HlsInfoOut,
                    errors=(403, 404),
                )
            },
        },
        path_params={
            "epoch": {"type": "string", "maxLength": 32},
            "grant": {"type": "string", "maxLength": 120},
            "name": {"type": "string", "maxLength": 40},
        },
    )
