"""Serves the web client's pages, its npm libraries under /vendor, and media (media_files)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from live_server.platform import media_files
from live_server.platform.core import PLATFORM
from live_server.platform.errors import NotFound
from live_server.platform.media_files import MediaAuthoriser
from live_server.platform.signed_urls import UrlSigner

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_PAGE_RE = re.compile(r"^[a-z0-9_-]+\.html$")
NO_CACHE = {"Cache-Control": "no-cache"}


def _page_handler(web_root: Path) -> Handler:
    async def page(request: web.Request) -> web.StreamResponse:
        name = request.match_info.get("page") or "index.html"
        if not _PAGE_RE.match(name):
            raise NotFound("no such page")
        path = web_root / name
        if not path.is_file():
            raise NotFound("no such page")
        return web.FileResponse(path, headers=NO_CACHE)

    return page


@web.middleware
async def _static_cache_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response: web.StreamResponse = await handler(request)
    if request.path.startswith(("/js/", "/css/")):
        response.headers.setdefault("Cache-Control", "no-cache")
    elif request.path.startswith(("/vendor/", "/img/", "/media/")):
        response.headers.setdefault("Cache-Control", "public, max-age=3600")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def setup(app: web.Application, signer: UrlSigner, authorise_media: MediaAuthoriser) -> None:
    """Call last in create_app: the page route matches any `/<name>.html`.

    `/media/` serves a file only to whoever may read it: a valid signed link, or what
    `authorise_media` (from the feature that knows whose each file is) allows.
    """
    settings = app[PLATFORM].settings
    web_root = settings.web_root
    page = _page_handler(web_root)
    app.router.add_get("/", page)
    app.router.add_get("/{page:[a-z0-9_-]+\\.html}", page)
    for folder in ("css", "js", "img"):
        if (web_root / folder).is_dir():
            app.router.add_static(f"/{folder}/", web_root / folder)
    for package in ("socket.io-client", "hls.js"):
        vendor = web_root / "node_modules" / package / "dist"
        if vendor.is_dir():
            app.router.add_static(f"/vendor/{package}/", vendor)
    media_files.setup(app, settings.media_dir, signer, authorise_media)
    app.middlewares.append(_static_cache_headers)
