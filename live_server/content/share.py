"""Share previews: the show, replay and clip pages carry Open Graph tags in their HTML.

A link pasted into a chat app or a social network is fetched by a crawler that runs no
JavaScript and sends no token, so the server writes `og:title`, `og:description`,
`og:image`, `og:url` (and the Twitter card) into the page itself for `/session.html?id=`,
`/replay.html?id=`, `/feed.html?clip=` and `/feed.html?post=`. Only what an anonymous
reader may see is described: a private show, a missing one or a page without an id gets
the page unchanged, so a preview never tells that a private show exists.
"""

from __future__ import annotations

import asyncio
import html
import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import segno
from aiohttp import web

from live_server.accounts import UserRepository
from live_server.catalog import ProductRepository
from live_server.content.access import ContentAccess
from live_server.content.clips.store import ClipRepository
from live_server.content.posts.rules import MediaKind
from live_server.content.posts.store import PostRepository
from live_server.platform.core import PLATFORM
from live_server.platform.errors import NotFound
from live_server.platform.http import path_int, principal
from live_server.platform.identity import Principal
from live_server.platform.openapi import document, op
from live_server.platform.timefmt import iso
from live_server.shows import LiveSessionService

logger = logging.getLogger(__name__)

SITE_NAME = "LiveShop"
NO_CACHE = {"Cache-Control": "no-cache"}
MAX_DESCRIPTION = 200


@dataclass(frozen=True)
class Preview:
    """What a share preview says about a page."""

    title: str
    description: str
    image: str | None
    kind: str = "website"


def _short(text: str, limit: int = MAX_DESCRIPTION) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _absolute(base: str, url: str | None) -> str | None:
    if not url:
        return None
    if url.startswith(("http://", "https://")):
        return url
    return base + (url if url.startswith("/") else "/" + url)


def meta_tags(preview: Preview, page_url: str, base: str) -> str:
    """The <meta> tags of a preview, every value escaped for an HTML attribute."""
    tags = {
        "og:site_name": SITE_NAME,
        "og:type": preview.kind,
        "og:title": preview.title,
        "og:description": preview.description,
        "og:url": page_url,
    }
    image = _absolute(base, preview.image)
    if image:
        tags["og:image"] = image
    lines = [
        f'<meta property="{name}" content="{html.escape(value, quote=True)}" />'
        for name, value in tags.items()
    ]
    lines.append(
        '<meta name="twitter:card" content="'
        + ("summary_large_image" if image else "summary")
        + '" />'
    )
    lines.append(f'<meta name="description" content="{html.escape(preview.description)}" />')
    return "\n    ".join(lines)


def with_tags(page: str, tags: str, title: str) -> str:
    """The page with the tags at the end of its <head> and the preview's <title>."""
    head_end = page.find("</head>")
    if head_end < 0:
        return page
    start, end = page.find("<title>"), page.find("</title>")
    if 0 <= start < end < head_end:
        page = page[: start + 7] + html.escape(title) + page[end:]
        head_end = page.find("</head>")
    return page[:head_end] + "  " + tags + "\n  " + page[head_end:]


def _id(raw: str | None) -> int | None:
    if raw is None or not (raw.isascii() and raw.isdigit()) or len(raw) > 15:
        return None
    return int(raw)


class SharePreviews:
    """Finds what an anonymous reader may know about a shared page."""

    def __init__(
        self,
        access: ContentAccess,
        clips: ClipRepository,
        posts: PostRepository,
        users: UserRepository,
        shows: LiveSessionService,
        products: ProductRepository,
    ) -> None:
        self._shows = shows
        self._products = products
        self._access = access
        self._clips = clips
        self._posts = posts
        self._users = users

    async def require_visible(self, who: Principal | None, session_id: int) -> None:
        await self._access.session(who, session_id)

    async def _host_name(self, user_id: int) -> str:
        user = await self._users.get(user_id)
        return (user.display_name or user.username) if user else "a LiveShop host"

    async def _first_product_image(self, session_id: int) -> str | None:
        ids = await self._shows.product_ids(session_id)
        products = await self._products.by_ids(ids[:10])
        return next((p.images[0] for i in ids if (p := products.get(i)) and p.images), None)

    async def show(self, session_id: int) -> Preview:
        session = await self._access.session(None, session_id)  # NotFound when private
        host = await self._host_name(session.host_id)
        image = session.cover_url or await self._first_product_image(session_id)
        if session.is_live:
            lead = f"Live now with {host}"
        elif session.ended_at is not None:
            lead = f"A live show by {host}"
        else:
            lead = f"Live with {host} · starts {iso(session.starts_at)}"
        about = _short(f"{lead}. {session.description}" if session.description else lead)
        return Preview(session.title, about, image, "video.other")

    async def replay(self, session_id: int) -> Preview:
        session = await self._access.session(None, session_id)
        replay = await self._clips.replay(session_id)
        host = await self._host_name(session.host_id)
        image = session.cover_url or (replay.poster_url if replay else None)
        image = image or await self._first_product_image(session_id)
        about = _short(f"Watch the replay of {host}'s live show and shop it. {session.description}")
        return Preview(f"Replay: {session.title}", about, image, "video.other")

    async def clip(self, clip_id: int) -> Preview:
        clip = await self._access.clip(None, clip_id)
        host = await self._host_name(clip.host_id)
        title = clip.title or f"A clip by {host}"
        return Preview(title, _short(f"A shoppable clip by {host} on LiveShop."), clip.poster_url)

    async def post(self, post_id: int) -> Preview:
        post = await self._posts.get(post_id)  # posts belong to no show: all public
        if post is None:
            raise NotFound("no such post", code="post_not_found")
        author = await self._host_name(post.author_id)
        image = next(
            (
                m.poster_url or m.url
                for m in post.media
                if m.poster_url or m.kind is MediaKind.IMAGE
            ),
            None,
        )
        title = _short(post.caption, 80) if post.caption else f"A post by {author}"
        about = _short(
            f"{post.caption} · shop it on LiveShop"
            if post.caption
            else f"Shop {author}'s post on LiveShop."
        )
        return Preview(title, about, image)


def _base_url(request: web.Request) -> str:
    public = request.app[PLATFORM].settings.public_url
    return public.rstrip("/") if public else f"{request.scheme}://{request.host}"


SHARE: web.AppKey[SharePreviews] = web.AppKey("share_previews", SharePreviews)


async def _preview_for(request: web.Request, page: str) -> Preview | None:
    previews = request.app[SHARE]
    try:
        if page == "session.html" and (sid := _id(request.query.get("id"))) is not None:
            return await previews.show(sid)
        if page == "replay.html" and (sid := _id(request.query.get("id"))) is not None:
            return await previews.replay(sid)
        if page == "feed.html" and (cid := _id(request.query.get("clip"))) is not None:
            return await previews.clip(cid)
        if page == "feed.html" and (pid := _id(request.query.get("post"))) is not None:
            return await previews.post(pid)
    except NotFound:
        return None
    return None


def _page_handler(
    web_root: Path, page: str
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        path = web_root / page
        if not path.is_file():
            raise NotFound("no such page")
        preview = await _preview_for(request, page)
        if preview is None:
            return web.FileResponse(path, headers=NO_CACHE)
        base = _base_url(request)
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")  # a few KiB
        tags = meta_tags(preview, base + str(request.rel_url), base)
        body = with_tags(text, tags, f"{preview.title} · {SITE_NAME}")
        return web.Response(text=body, content_type="text/html", headers=NO_CACHE)

    return handler


def qr_svg(url: str) -> str:
    """A QR code of `url` as a small SVG document (dark modules on white, a quiet zone)."""
    out = io.BytesIO()
    segno.make_qr(url, error="m").save(
        out, kind="svg", scale=6, border=4, light="#fff", xmldecl=False, title="Share link"
    )
    return out.getvalue().decode()


async def share_qr(request: web.Request) -> web.Response:
    """GET /api/sessions/{id}/qr.svg: the show page's link as a QR code, for whoever may see
    the show (the studio shows it to the host; a private show's code is for its readers)."""
    session_id = path_int(request, "session_id")
    await request.app[SHARE].require_visible(principal(request), session_id)
    svg = await asyncio.to_thread(qr_svg, f"{_base_url(request)}/session.html?id={session_id}")
    return web.Response(
        text=svg, content_type="image/svg+xml", headers={"Cache-Control": "private, max-age=300"}
    )


def setup(
    app: web.Application,
    access: ContentAccess,
    clips: ClipRepository,
    posts: PostRepository,
    users: UserRepository,
    shows: LiveSessionService,
    products: ProductRepository,
) -> None:
    """Serves the shareable pages with their previews (before the static pages' route)."""
    app[SHARE] = SharePreviews(access, clips, posts, users, shows, products)
    web_root = app[PLATFORM].settings.web_root
    for page in ("session.html", "replay.html", "feed.html"):
        app.router.add_get(f"/{page}", _page_handler(web_root, page))
    app.router.add_get("/api/sessions/{session_id}/qr.svg", share_qr)
    document(
        app,
        {
            "/api/sessions/{session_id}/qr.svg": {
                "GET": op(
                    "The show page's share link as a QR code (SVG)",
                    tag="sessions",
                    response={"type": "string"},
                    ok_type="image/svg+xml",
                    errors=(404,),
                )
            }
        },
    )
