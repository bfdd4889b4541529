"""Feed REST: the personalised page, "seen" reports, sponsored labels; entry JSON shape."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from live_server.accounts.serializers import user_json
from live_server.catalog.serializers import product_json
from live_server.content.feed.rules import clamp_limit
from live_server.content.feed.service import FeedEntry
from live_server.content.feed.service import FeedPage as EntryList
from live_server.content.keys import FEED
from live_server.content.models import FeedPage, SeenBody, SponsoredBody, SponsoredOut
from live_server.content.posts.rules import PostMedia
from live_server.platform.errors import BadRequest
from live_server.platform.http import (
    json_response,
    path_int,
    principal,
    require_user,
)
from live_server.platform.openapi import document, op, query_param
from live_server.platform.schemas import read_body
from live_server.platform.timefmt import iso


def media_json(m: PostMedia) -> dict[str, Any]:
    """One photo or video of a post."""
    return {
        "id": m.id,
        "kind": m.kind.value,
        "url": m.url,
        "poster_url": m.poster_url,
        "width": m.width,
        "height": m.height,
        "duration_s": m.duration_s,
    }


def entry_json(e: FeedEntry) -> dict[str, Any]:
    """A feed entry (clip or post) as the web client reads it."""
    data: dict[str, Any] = {
        "item_id": e.item_id,
        "type": e.kind.value,
        "sponsored": e.sponsored,
        "creator": user_json(e.creator) if e.creator else None,
        "following": e.following,
        "smiled": e.smiled,
        "counts": {
            "smiles": e.counters.likes,
            "comments": e.counters.comments,
            "views": e.counters.views,
            "purchases": e.counters.purchases,
        },
        "products": [product_json(p) for p in e.products],
    }
    if e.clip is not None:
        c = e.clip
        data.update(
            id=c.id,
            created_at=iso(c.created_at),
            clip={
                "session_id": c.session_id,
                "title": c.title,
                "source": c.source,
                "video_url": c.video_url,
                "poster_url": c.poster_url,
                "duration_s": round(c.duration_s, 3),
                "start_s": round(c.start_s, 3),
                "width": c.width,
                "height": c.height,
            },
        )
    if e.post is not None:
        p = e.post
        data.update(
            id=p.id,
            created_at=iso(p.created_at),
            post={"caption": p.caption, "media": [media_json(m) for m in p.media]},
        )
    return data


async def get_feed(request: web.Request) -> web.Response:
    try:
        limit = clamp_limit(request.query.get("limit"))
    except ValueError as exc:
        raise BadRequest("limit must be an integer", code="invalid_limit") from exc
    who = principal(request)
    cursor = request.query.get("cursor") or None
    which = request.query.get("filter") or "for_you"
    if which == "following":
        # nobody is followed by an anonymous viewer: an empty tab (the page asks to log in)
        page = (
            EntryList()
            if who is None
            else await request.app[FEED].following_page(who, cursor, limit)
        )
    elif which == "for_you":
        page = await request.app[FEED].page(who, cursor, limit)
    else:
        raise BadRequest("Choose a feed: for_you or following.", code="invalid_filter")
    return json_response(
        {"items": [entry_json(e) for e in page.items], "next_cursor": page.next_cursor}
    )


async def post_seen(request: web.Request) -> web.Response:
    body = await read_body(request, SeenBody)
    await request.app[FEED].seen(principal(request), body.item_id)
    return web.Response(status=204)


async def put_sponsored(request: web.Request) -> web.Response:
    who = require_user(request)
    item_id = path_int(request, "item_id")
    sponsored = (await read_body(request, SponsoredBody)).sponsored
    await request.app[FEED].set_sponsored(who, item_id, sponsored)
    return json_response({"item_id": item_id, "sponsored": sponsored})


def setup(app: web.Application) -> None:
    """Register the feed routes and their OpenAPI entries."""
    app.router.add_get("/api/feed", get_feed)
    app.router.add_post("/api/feed/seen", post_seen)
    app.router.add_put("/api/feed/items/{item_id}/sponsored", put_sponsored)
    document(
        app,
        {
            "/api/feed": {
                "GET": op(
                    "The personalised feed of clips and posts (popular feed when anonymous), or the"
                    " Following tab",
                    tag="feed",
                    params=[
                        query_param("cursor", "next_cursor of the previous page"),
                        query_param("limit", "items per page (1-50, default 10)", "integer"),
                        query_param(
                            "filter",
                            "for_you (ranked, the default) or following (the creators the"
                            " viewer follows, newest first; empty when anonymous)",
                            schema={"type": "string", "enum": ["for_you", "following"]},
                        ),
                    ],
                    response=FeedPage,
                    errors=(400,),
                )
            },
            "/api/feed/seen": {
                "POST": op(
                    "Report that the viewer watched a feed item (ranks it lower for them; a "
                    "view counts once per account, anonymous reports count nothing)",
                    tag="feed",
                    body=SeenBody,
                    ok=204,
                    errors=(404,),
                )
            },
            "/api/feed/items/{item_id}/sponsored": {
                "PUT": op(
                    "Label a feed item as sponsored (admin)",
                    tag="feed",
                    auth=True,
                    body=SponsoredBody,
                    response=SponsoredOut,
                    errors=(403, 404),
                )
            },
        },
    )
