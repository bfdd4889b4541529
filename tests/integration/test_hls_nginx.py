"""The shipped nginx config (deploy/nginx/liveshop.conf) as the LL-HLS cache, with real nginx.

First against a small origin of this module's own that answers like LiveShop's LL-HLS routes
(a hinted next part held 0.5 s, then immutable; blocking playlists held until their part;
private multivariant playlists; a Set-Cookie; a WebSocket): request collapsing, cache hits,
what must never be cached, what passes through. Then against LiveShop itself with a real H.264
publisher.
"""

from __future__ import annotations

import asyncio
import collections
import os
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import aiohttp
import m3u8  # type: ignore[import-untyped]
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from support.helpers import auth, wait_for
from support.hls_publisher import h264_publisher
from support.media_frames import encode_h264
from support.nginx import SHIPPED_CONF, Nginx, NginxError, site_config, start_nginx
from support.peers import encode_opus, http_negotiate

Client = TestClient[Any, Any]

CROWD = 200
HOLD_S = 0.5  # how long the origin holds a request for the hinted next part
IMMUTABLE = "public, max-age=31536000, immutable"
BASE = "/hls/7/e1a2/public"
# 20 private viewers at once: well under a second unqueued; queued behind the cache lock
# (nginx polls it every 0.5 s) it would take about 10 s
PRIVATE_CROWD_S = 5.0


@dataclass
class Origin:
    """A stand-in for LiveShop's LL-HLS routes that counts what reaches it."""

    hits: collections.Counter[str] = field(default_factory=collections.Counter)
    headers: list[dict[str, str]] = field(default_factory=list)
    port: int = 0

    def app(self) -> web.Application:
        """The origin's routes."""
        app = web.Application()
        app.router.add_get("/hls/{sid}/index.m3u8", self.multivariant)
        app.router.add_get("/hls/{sid}/{epoch}/{grant}/media.m3u8", self.media_playlist)
        app.router.add_get("/hls/{sid}/{epoch}/{grant}/{name}", self.media_object)
        app.router.add_get("/api/echo", self.echo)
        app.router.add_get("/socket.io/", self.websocket)
        return app

    def _count(self, request: web.Request) -> None:
        self.hits[request.path_qs] += 1
        self.headers.append(dict(request.headers))

    async def multivariant(self, request: web.Request) -> web.Response:
        self._count(request)
        sid = request.match_info["sid"]
        if sid == "private":  # a private show: the viewer's own signed grant
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if not token:
                raise web.HTTPNotFound()
            grant, cache = f"99.{token}", "private, no-store"
        elif sid == "nostore":  # no token, yet the origin says it is not to be stored
            grant, cache = "public", "private, no-store"
        else:
            grant, cache = "public", "public, max-age=1"
        body = f"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1500000\ne1a2/{grant}/media.m3u8\n"
        return _playlist(body, cache)

    async def media_playlist(self, request: web.Request) -> web.Response:
        self._count(request)
        if "_HLS_msn" in request.query:
            await asyncio.sleep(HOLD_S)  # held until that part exists
            msn, part = request.query["_HLS_msn"], request.query.get("_HLS_part", "0")
            return _playlist(f"#EXTM3U\n# msn {msn} part {part} {os.urandom(8).hex()}\n", _BLOCK)
        return _playlist(f"#EXTM3U\n# live {os.urandom(8).hex()}\n", "public, max-age=1")

    async def media_object(self, request: web.Request) -> web.Response:
        self._count(request)
        name = request.match_info["name"]
        headers = {"Cache-Control": IMMUTABLE, "Access-Control-Allow-Origin": "*"}
        if name == "s10.p3.m4s":  # the hinted next part: held until it is ready
            await asyncio.sleep(HOLD_S)
        elif name == "s10.p2.m4s":  # a part that comes with a cookie
            headers["Set-Cookie"] = "session=first-viewers-secret; Path=/"
        elif name != "s9.m4s":
            raise web.HTTPNotFound()
        body = os.urandom(20_000)  # a fresh body per origin request: a second one would show
        return web.Response(body=body, content_type="video/iso.segment", headers=headers)

    async def echo(self, request: web.Request) -> web.Response:
        self._count(request)
        seen = {k: request.headers.get(k, "") for k in ("X-Forwarded-For", "X-Forwarded-Proto")}
        return web.json_response(seen, headers={"Cache-Control": "public, max-age=60"})

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        self._count(request)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str("echo " + message.data)
        return ws


_BLOCK = "public, max-age=60"


def _playlist(body: str, cache_control: str) -> web.Response:
    return web.Response(
        text=body,
        content_type="application/vnd.apple.mpegurl",
        headers={"Cache-Control": cache_control},
    )


@pytest.fixture
async def origin(aiohttp_server: Any) -> Origin:
    origin = Origin()
    server = await aiohttp_server(origin.app())
    origin.port = server.port
    return origin


@pytest.fixture
async def nginx(origin: Origin, tmp_path: Path) -> AsyncIterator[Nginx]:
    proxy = await asyncio.to_thread(start_nginx, origin.port, tmp_path / "nginx")
    try:
        yield proxy
    finally:
        # in a thread: the origin it may still be talking to runs on this event loop
        await asyncio.to_thread(proxy.stop)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    # no connection limit: a crowd is that many concurrent connections to nginx
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        yield session


@dataclass
class Got:
    status: int
    body: bytes
    cache: str
    headers: dict[str, str]


async def get(http: aiohttp.ClientSession, url: str, **headers: str) -> Got:
    async with http.get(url, headers=headers) as resp:
        body = await resp.read()
        return Got(resp.status, body, resp.headers.get("X-Cache-Status", ""), dict(resp.headers))


async def crowd(http: aiohttp.ClientSession, url: str, n: int = CROWD) -> list[Got]:
    return await asyncio.gather(*(get(http, url) for _ in range(n)))


async def test_a_crowd_asking_for_the_next_part_is_one_origin_request(
    origin: Origin, nginx: Nginx, http: aiohttp.ClientSession
) -> None:
    path = f"{BASE}/s10.p3.m4s"
    first = await crowd(http, nginx.url + path)
    assert {g.status for g in first} == {200}
    assert origin.hits[path] == 1, nginx.error_log()
    assert len({g.body for g in first}) == 1, "every viewer gets the one origin answer"
    assert first[0].headers["Cache-Control"] == IMMUTABLE
    assert first[0].headers["Access-Control-Allow-Origin"] == "*"

    second = await crowd(http, nginx.url + path)
    assert {g.cache for g in second} == {"HIT"}
    assert origin.hits[path] == 1
    assert {g.body for g in second} == {first[0].body}


async def test_each_blocking_reload_url_is_its_own_collapsed_entry(
    origin: Origin, nginx: Nginx, http: aiohttp.ClientSession
) -> None:
    p3, p4 = (f"{BASE}/media.m3u8?_HLS_msn=10&_HLS_part={p}" for p in (3, 4))
    wave3, wave4 = await asyncio.gather(
        crowd(http, nginx.url + p3, 50), crowd(http, nginx.url + p4, 50)
    )
    assert (origin.hits[p3], origin.hits[p4]) == (1, 1), nginx.error_log()
    assert len({g.body for g in wave3}) == len({g.body for g in wave4}) == 1
    assert b"msn 10 part 3" in wave3[0].body and b"msn 10 part 4" in wave4[0].body
    again = await get(http, nginx.url + p3)
    assert (again.cache, origin.hits[p3]) == ("HIT", 1)


async def test_private_and_no_store_playlists_always_reach_the_origin(
    origin: Origin, nginx: Nginx, http: aiohttp.ClientSession
) -> None:
    path = "/hls/private/index.m3u8"
    for _ in range(3):
        for user in ("alice-token", "bob-token"):
            got = await get(http, nginx.url + path, Authorization=f"Bearer {user}")
            assert got.status == 200
            assert f"e1a2/99.{user}/media.m3u8".encode() in got.body, "someone else's grant"
            assert got.headers["Cache-Control"] == "private, no-store"
    assert origin.hits[path] == 6

    # a private show's audience arriving at once is not queued behind one another's answers
    tokens = [f"viewer{i}" for i in range(20)]
    answers = await asyncio.wait_for(
        asyncio.gather(*(get(http, nginx.url + path, Authorization=f"Bearer {t}") for t in tokens)),
        timeout=PRIVATE_CROWD_S,
    )
    assert [f"99.{t}/".encode() in g.body for g, t in zip(answers, tokens, strict=True)] == [
        True
    ] * 20
    assert origin.hits[path] == 26

    # without a token the origin's "private, no-store" alone keeps it out of the cache
    nostore = "/hls/nostore/index.m3u8"
    caches = [(await get(http, nginx.url + nostore)).cache for _ in range(3)]
    assert origin.hits[nostore] == 3
    assert "HIT" not in caches


async def test_a_set_cookie_is_neither_passed_on_nor_stopping_the_cache(
    origin: Origin, nginx: Nginx, http: aiohttp.ClientSession
) -> None:
    path = f"{BASE}/s10.p2.m4s"
    first, second = await get(http, nginx.url + path), await get(http, nginx.url + path)
    assert "Set-Cookie" not in first.headers and "Set-Cookie" not in second.headers
    assert (first.cache, second.cache) == ("MISS", "HIT")
    assert origin.hits[path] == 1
    assert first.body == second.body


async def test_errors_and_the_api_are_never_cached_and_the_client_is_forwarded(
    origin: Origin, nginx: Nginx, http: aiohttp.ClientSession
) -> None:
    missing = f"{BASE}/s99.p0.m4s"
    assert [(await get(http, nginx.url + missing)).status for _ in range(2)] == [404, 404]
    assert origin.hits[missing] == 2

    # the API says "public, max-age=60", and still every request reaches LiveShop
    answers = [await get(http, nginx.url + "/api/echo") for _ in range(2)]
    assert origin.hits["/api/echo"] == 2
    assert all(g.cache == "" for g in answers)
    seen = await (await http.get(nginx.url + "/api/echo")).json()
    assert seen == {"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http"}

    # a cookie of the site never reaches the HLS origin (the cache keys on the URL alone)
    await get(http, nginx.url + f"{BASE}/s9.m4s", Cookie="session=abc")
    assert "Cookie" not in origin.headers[-1]


async def test_websocket_upgrade_passes_through(
    origin: Origin, nginx: Nginx, http: aiohttp.ClientSession
) -> None:
    url = nginx.url + "/socket.io/?EIO=4&transport=websocket"
    async with http.ws_connect(url) as ws:
        await ws.send_str("hello")
        reply = await asyncio.wait_for(ws.receive(), timeout=5)
        assert (reply.type, reply.data) == (aiohttp.WSMsgType.TEXT, "echo hello")
    assert origin.headers[-1]["Upgrade"].lower() == "websocket"
    assert origin.headers[-1]["X-Forwarded-For"] == "127.0.0.1"


def test_the_shipped_values_the_tests_replace_are_checked(tmp_path: Path) -> None:
    site = site_config(8081, 8082, tmp_path / "cache")
    assert "server 127.0.0.1:8081;" in site and "listen 127.0.0.1:8082;" in site
    assert f"proxy_cache_path {tmp_path / 'cache'} " in site
    drifted = tmp_path / "drifted.conf"
    drifted.write_text(SHIPPED_CONF.read_text().replace("listen 80;", "listen 8080;"))
    with pytest.raises(NginxError, match="listen 80;"):
        site_config(8081, 8082, tmp_path / "cache", shipped=drifted)


# -- against LiveShop itself ------------------------------------------------------------------
_KIND = re.compile(r'^liveshop_hls_requests_total\{kind="(\w+)"\} ([0-9.eE+-]+)$', re.M)
ATTEMPTS = 4  # a crowd that arrives after its hinted part is ready is tried on the next one


async def origin_requests(client: Client) -> dict[str, float]:
    """The origin's own count of LL-HLS requests by kind."""
    resp = await client.get("/metrics")
    return {kind: float(v) for kind, v in _KIND.findall(await resp.text())}


async def text_when(http: aiohttp.ClientSession, url: str, ok: Callable[[str], bool]) -> str:
    async def ready() -> str | None:
        async with http.get(url) as resp:
            text = await resp.text()
            return text if resp.status == 200 and ok(text) else None

    result: str = await wait_for(ready, 30, 0.1, f"{url} to be ready")
    return result


@pytest.mark.slow
async def test_liveshop_hinted_part_is_one_origin_request_through_nginx(
    client: Client, make_user: Any, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    _, host = await make_user(role="host")
    resp = await client.post("/api/sessions", json={"title": "HLS"}, headers=auth(host))
    sid = (await resp.json())["id"]
    resp = await client.get(f"/api/sessions/{sid}/stream-key", headers=auth(host))
    key = (await resp.json())["stream_key"]
    frames = await asyncio.to_thread(encode_h264, 10.0, 320, 240, 30, 2.0)
    video = [data for data, _, _ in frames]
    audio = await asyncio.to_thread(encode_opus, 1.0)
    publisher, _ = h264_publisher(video, audio)
    assert client.server.port is not None
    proxy = await asyncio.to_thread(start_nginx, client.server.port, tmp_path / "nginx")
    try:
        origin_url = str(client.make_url("")).rstrip("/")
        await http_negotiate(http, publisher, f"{origin_url}/whip/{sid}", key)
        resp = await client.get(f"/api/sessions/{sid}")
        hls_url = (await resp.json())["hls_url"]
        assert hls_url == f"/hls/{sid}/index.m3u8"

        variant = m3u8.loads(await text_when(http, proxy.url + hls_url, lambda t: True))
        media_url = urljoin(proxy.url + hls_url, variant.playlists[0].uri)
        playlist = m3u8.loads(await text_when(http, media_url, lambda t: "PRELOAD-HINT" in t))
        assert playlist.server_control.can_block_reload == "YES"
        # every viewer holds a keep-alive connection to nginx already (as players do), so
        # the crowd's requests go out at once
        init_url = urljoin(media_url, playlist.segment_map[0].uri)
        assert {g.status for g in await crowd(http, init_url)} == {200}

        collapsed: list[dict[str, Any]] = []
        for _ in range(ATTEMPTS):
            # the playlist of the moment the hinted part is ready: its own hint was just begun
            hinted = playlist.preload_hint.uri
            msn, part = (int(x) for x in re.findall(r"\d+", hinted)[-2:])
            reload = f"{media_url}?_HLS_msn={msn}&_HLS_part={part}"
            playlist = m3u8.loads((await get(http, reload)).body.decode())
            url = urljoin(media_url, playlist.preload_hint.uri)
            before = await origin_requests(client)
            answers = await crowd(http, url)
            after = await origin_requests(client)
            new = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
            if {g.status for g in answers} == {404}:
                # LiveShop can hint the part after a segment's last one just before that
                # segment closes, and then answer 404: no part to collapse onto, next hint
                collapsed.append({"withdrawn hint": new})
                continue
            assert {g.status for g in answers} == {200}, new
            assert len({g.body for g in answers}) == 1, "every viewer gets the same part"
            assert sum(new.values()) == 1, f"{CROWD} viewers made {new} origin requests"
            collapsed.append(new)
            if new == {"preload_part": 1.0}:
                break
        assert {"preload_part": 1.0} in collapsed, collapsed

        # the complete segments, fetched twice: the second time from nginx's cache
        playlist = m3u8.loads(await text_when(http, media_url, lambda t: "#EXTINF:" in t))
        segments = [urljoin(media_url, s.uri) for s in playlist.segments if s.uri]
        first = [await get(http, u) for u in segments]
        before = await origin_requests(client)
        second = [await get(http, u) for u in segments]
        assert [g.cache for g in second] == ["HIT"] * len(segments)
        assert [g.body for g in second] == [g.body for g in first]
        assert (await origin_requests(client)).get("segment") == before.get("segment")
        assert all(g.headers["Content-Type"] == "video/iso.segment" for g in second)
    finally:
        await publisher.close()
        await asyncio.to_thread(proxy.stop)
