"""Serves the web client's pages, its npm libraries under /vendor, and media (media_files).

A person who opens an unknown page (`/nope.html`, `/nope`) gets the friendly 404 page, and
a page that fails gets the 500 page; the API (`/api/...`) and every other machine URL keep
their JSON errors. Only a browser's page request (GET, `Accept: text/html`) gets HTML.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Middleware

from live_server.platform import media_files
from live_server.platform.core import PLATFORM
from live_server.platform.errors import NotFound
from live_server.platform.media_files import MediaAuthoriser
from live_server.platform.signed_urls import UrlSigner

logger = logging.getLogger(__name__)

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


#: URLs that are never pages: their errors stay JSON (or what their protocol says).
_MACHINE_PREFIXES = (
    "/api/",
    "/whip/",
    "/whep/",
    "/socket.io/",
    "/hls/",
    "/media/",
    "/vendor/",
    "/metrics",
    "/healthz",
    "/readyz",
)


def _wants_page(request: web.Request) -> bool:
    return (
        request.method in ("GET", "HEAD")
        and not request.path.startswith(_MACHINE_PREFIXES)
        and "text/html" in request.headers.get("Accept", "")
    )


def _html_errors(web_root: Path) -> Middleware:
    @web.middleware
    async def html_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not _wants_page(request):
            return await handler(request)
        try:
            response = await handler(request)
        except (NotFound, web.HTTPNotFound):
            return await _error_page(web_root, 404)
        except web.HTTPException:
            raise
        except Exception:
            logger.exception("page %s failed", request.path)
            return await _error_page(web_root, 500)
        return response

    return html_errors


async def _error_page(web_root: Path, status: int) -> web.StreamResponse:
    try:
        body = await asyncio.to_thread((web_root / f"{status}.html").read_bytes)
    except OSError:  # a web root without the page: the JSON error, as before
        raise NotFound("no such page") if status == 404 else web.HTTPInternalServerError() from None
    return web.Response(
        body=body,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers=NO_CACHE,
    )


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
    app.middlewares.append(_html_errors(web_root))
