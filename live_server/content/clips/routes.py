"""Clips REST: a clip, a session's clips, hand cuts, deleting; smiles and comments on clips
and posts (the same handlers serve both kinds)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from live_server.content.clips.rules import Clip
from live_server.content.feed.routes import entry_json
from live_server.content.keys import FEED, PROCESSING, SOCIAL
from live_server.content.models import (
    ClipCut,
    ClipOut,
    ClipPage,
    CommentBody,
    CommentOut,
    CommentPage,
    FeedEntryOut,
    SmileOut,
)
from live_server.content.posts.rules import Comment, TargetKind
from live_server.platform.http import (
    json_response,
    path_int,
    principal,
    query_int,
    require_user,
)
from live_server.platform.openapi import document, op, query_param
from live_server.platform.schemas import present, read_body
from live_server.platform.timefmt import iso


def clip_json(c: Clip) -> dict[str, Any]:
    """A clip without the feed's viewer state."""
    return {
        "id": c.id,
        "session_id": c.session_id,
        "host_id": c.host_id,
        "source": c.source,
        "title": c.title,
        "start_s": round(c.start_s, 3),
        "end_s": round(c.end_s, 3),
        "duration_s": round(c.duration_s, 3),
        "video_url": c.video_url,
        "poster_url": c.poster_url,
        "width": c.width,
        "height": c.height,
        # the product the clip was made for (its pin), then the others shown in it
        "product_id": c.product_ids[0] if c.product_ids else None,
        "product_ids": list(c.product_ids),
        "created_at": iso(c.created_at),
    }


def comment_json(c: Comment, names: dict[int, str]) -> dict[str, Any]:
    """A comment with its author's display name."""
    return {
        "id": c.id,
        "user": {"id": c.user_id, "display_name": names.get(c.user_id, "")},
        "text": c.text,
        "created_at": iso(c.created_at),
    }


def _kind(request: web.Request) -> tuple[TargetKind, int]:
    if "clip_id" in request.match_info:
        return TargetKind.CLIP, path_int(request, "clip_id")
    return TargetKind.POST, path_int(request, "post_id")


async def get_clip(request: web.Request) -> web.Response:
    entry = await request.app[FEED].entry(
        TargetKind.CLIP, path_int(request, "clip_id"), principal(request)
    )
    return json_response(entry_json(entry))


async def delete_clip(request: web.Request) -> web.Response:
    await request.app[PROCESSING].delete_clip(require_user(request), path_int(request, "clip_id"))
    return web.Response(status=204)


async def session_clips(request: web.Request) -> web.Response:
    clips = await request.app[PROCESSING].clips_of(
        principal(request), path_int(request, "session_id")
    )
    return json_response({"items": [clip_json(c) for c in clips]})


async def cut_clip(request: web.Request) -> web.Response:
    who = require_user(request)
    session_id = path_int(request, "session_id")
    body = await read_body(request, ClipCut)
    clip = await request.app[PROCESSING].cut_manual(who, session_id, present(body))
    return json_response(clip_json(clip), status=201)


async def smile(request: web.Request) -> web.Response:
    who = require_user(request)
    kind, target = _kind(request)
    on = request.method == "PUT"
    count = await request.app[SOCIAL].smile(who, kind, target, on)
    return json_response({"smiles": count, "smiled": on})


async def list_comments(request: web.Request) -> web.Response:
    kind, target = _kind(request)
    before = query_int(request, "before", 0, 0, 2**62) or None
    social = request.app[SOCIAL]
    items = await social.comments(
        principal(request), kind, target, query_int(request, "limit", 30, 1, 100), before
    )
    names = await social.display_names([c.user_id for c in items])
    return json_response({"items": [comment_json(c, names) for c in items]})


async def add_comment(request: web.Request) -> web.Response:
    who = require_user(request)
    kind, target = _kind(request)
    body = await read_body(request, CommentBody)
    comment = await request.app[SOCIAL].comment(who, kind, target, body.text)
    names = await request.app[SOCIAL].display_names([who.user_id])
    return json_response(comment_json(comment, names), status=201)


async def delete_comment(request: web.Request) -> web.Response:
    await request.app[SOCIAL].delete_comment(require_user(request), path_int(request, "comment_id"))
    return web.Response(status=204)


def setup(app: web.Application) -> None:
    """Register clip and social routes with their OpenAPI entries."""
    r = app.router
    r.add_get("/api/clips/{clip_id}", get_clip)
    r.add_delete("/api/clips/{clip_id}", delete_clip)
    r.add_get("/api/sessions/{session_id}/clips", session_clips)
    r.add_post("/api/sessions/{session_id}/clips", cut_clip)
    for base in ("/api/clips/{clip_id}", "/api/posts/{post_id}"):
        r.add_put(base + "/smile", smile)
        r.add_delete(base + "/smile", smile)
        r.add_get(base + "/comments", list_comments)
        r.add_post(base + "/comments", add_comment)
    r.add_delete("/api/comments/{comment_id}", delete_comment)
    social: dict[str, dict[str, dict[str, Any]]] = {}
    for base, tag in (("/api/clips/{clip_id}", "clips"), ("/api/posts/{post_id}", "posts")):
        social[base + "/smile"] = {
            "PUT": op("Smile at it", tag=tag, auth=True, response=SmileOut, errors=(404,)),
            "DELETE": op(
                "Take the smile back", tag=tag, auth=True, response=SmileOut, errors=(404,)
            ),
        }
        social[base + "/comments"] = {
            "GET": op(
                "Comments, newest first",
                tag=tag,
                params=[
                    query_param("before", "comment id", "integer"),
                    query_param("limit", "1-100 (clamped)", "integer"),
                ],
                response=CommentPage,
                errors=(404,),
            ),
            "POST": op(
                "Comment",
                tag=tag,
                auth=True,
                body=CommentBody,
                ok=201,
                response=CommentOut,
                errors=(404,),
                links={
                    "delete": (
                        "DELETE /api/comments/{comment_id}",
                        {"comment_id": "$response.body#/id"},
                    )
                },
            ),
        }
    document(
        app,
        {
            "/api/clips/{clip_id}": {
                "GET": op(
                    "A clip with its products and counters",
                    tag="clips",
                    response=FeedEntryOut,
                    errors=(404,),
                ),
                "DELETE": op(
                    "Delete a clip (host or admin)",
                    tag="clips",
                    auth=True,
                    ok=204,
                    errors=(401, 403, 404),
                ),
            },
            "/api/sessions/{session_id}/clips": {
                "GET": op("A session's clips", tag="clips", response=ClipPage, errors=(404,)),
                "POST": op(
                    "Cut a clip by hand from the replay (host, moderators, admins)",
                    tag="clips",
                    auth=True,
                    body=ClipCut,
                    ok=201,
                    response=ClipOut,
                    errors=(403, 404, 409),
                    links={
                        "clip": ("GET /api/clips/{clip_id}", {"clip_id": "$response.body#/id"}),
                        "comments": (
                            "GET /api/clips/{clip_id}/comments",
                            {"clip_id": "$response.body#/id"},
                        ),
                    },
                ),
            },
            "/api/comments/{comment_id}": {
                "DELETE": op(
                    "Delete a comment (its author, the creator or an admin)",
                    tag="posts",
                    auth=True,
                    ok=204,
                    errors=(401, 403, 404),
                )
            },
            **social,
        },
    )
