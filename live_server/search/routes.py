"""Search REST: `GET /api/search` and the creator page's `GET /api/creators/{user_id}`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from live_server.accounts import User, user_json
from live_server.catalog import Product, product_json
from live_server.content.clips.rules import Clip
from live_server.platform.http import json_response, path_int, principal
from live_server.platform.openapi import document, op, query_param
from live_server.platform.timefmt import iso
from live_server.search import rules
from live_server.search.keys import SEARCH
from live_server.search.models import CreatorOut, SearchOut
from live_server.shows import LiveSession, SessionState


def show_json(s: LiveSession, host: User | None) -> dict[str, Any]:
    """A show card: enough to list it and open it."""
    url = (
        f"/replay.html?session={s.id}"
        if s.state is SessionState.ENDED
        else f"/session.html?id={s.id}"
    )
    return {
        "id": s.id,
        "title": s.title,
        "state": s.state.value,
        "starts_at": iso(s.starts_at),
        "went_live_at": iso(s.went_live_at),
        "ended_at": iso(s.ended_at),
        "cover_url": s.cover_url,
        "url": url,
        "host": user_json(host) if host else None,
    }


def clip_card_json(c: Clip, products: dict[int, Product]) -> dict[str, Any]:
    """A clip card: its poster, and the feed link that plays it. A clip without a title
    is named after the first of its products (as the feed does)."""
    title = c.title
    first = next((products[p] for p in c.product_ids if p in products), None)
    if not title and first is not None:
        title = f"Featuring {first.title}"
    return {
        "id": c.id,
        "session_id": c.session_id,
        "title": title,
        "duration_s": round(c.duration_s, 3),
        "poster_url": c.poster_url,
        "video_url": c.video_url,
        "url": f"/feed.html?clip={c.id}",
    }


async def get_search(request: web.Request) -> web.Response:
    q = request.query.get("q")
    query = rules.parse_query(q)
    kind = rules.parse_kind(request.query.get("kind"))
    limit = rules.parse_limit(request.query.get("limit"))
    found = await request.app[SEARCH].search(principal(request), query, kind, limit)
    return json_response(
        {
            "query": (q or "").strip(),
            "terms": list(found.terms),
            "products": [
                {
                    "product": product_json(fp.product),
                    "shows": [show_json(s, found.hosts.get(s.host_id)) for s in fp.shows],
                    "clips": [clip_card_json(c, found.clip_products) for c in fp.clips],
                }
                for fp in found.products
            ],
            "shows": [show_json(s, found.hosts.get(s.host_id)) for s in found.shows],
            "creators": [user_json(u) for u in found.creators],
        }
    )


async def get_creator(request: web.Request) -> web.Response:
    page = await request.app[SEARCH].creator_page(principal(request), path_int(request, "user_id"))
    host = page.creator
    return json_response(
        {
            "creator": user_json(host),
            "followers": page.followers,
            "following": page.following,
            "live": [show_json(s, host) for s in page.live],
            "upcoming": [show_json(s, host) for s in page.upcoming],
            "replays": [show_json(s, host) for s in page.replays],
            "clips": [clip_card_json(c, page.clip_products) for c in page.clips],
        }
    )


def setup(app: web.Application) -> None:
    """Register the search and creator-page routes with their OpenAPI entries."""
    app.router.add_get("/api/search", get_search)
    app.router.add_get("/api/creators/{user_id}", get_creator)
    document(
        app,
        {
            "/api/search": {
                "GET": op(
                    "Search products, shows and creators (every word must match; a word"
                    " also finds longer words it begins). A product found lists the shows"
                    " and clips that feature it; private shows only for those who may see"
                    " them.",
                    tag="search",
                    params=[
                        query_param(
                            "q",
                            "what to look for (any text; symbols are ignored)",
                            schema={"type": "string", "maxLength": rules.MAX_QUERY_CHARS},
                        ),
                        query_param(
                            "kind",
                            "which results (default all)",
                            schema={"type": "string", "enum": [k.value for k in rules.SearchKind]},
                        ),
                        query_param(
                            "limit",
                            f"results per group (1-{rules.MAX_LIMIT}, default"
                            f" {rules.DEFAULT_LIMIT})",
                            schema={"type": "integer", "minimum": 1, "maximum": rules.MAX_LIMIT},
                        ),
                    ],
                    response=SearchOut,
                    errors=(400,),
                )
            },
            "/api/creators/{user_id}": {
                "GET": op(
                    "A creator's page: live, upcoming and past shows, clips, followers and"
                    " whether the reader follows them",
                    tag="search",
                    response=CreatorOut,
                    errors=(404,),
                )
            },
        },
    )
