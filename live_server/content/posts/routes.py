"""Posts REST (Spark-style): uploads, publishing, reading, deleting; follows."""

from __future__ import annotations

from aiohttp import web

from live_server.content.feed.routes import entry_json, media_json
from live_server.content.keys import FEED, POSTS, SOCIAL
from live_server.content.models import EntryPage, FeedEntryOut, FollowOut, PostCreate, PostMediaOut
from live_server.content.posts.rules import IMAGE_TYPES, VIDEO_TYPES, TargetKind
from live_server.platform.http import (
    json_response,
    path_int,
    principal,
    read_upload,
    require_user,
)
from live_server.platform.openapi import document, op
from live_server.platform.schemas import present, read_body


async def upload_media(request: web.Request) -> web.Response:
    who = require_user(request)
    posts = request.app[POSTS]
    # 403 and 415 before a byte of the body is read; the kind's cap then bounds the read
    rule = posts.upload_rule(who, request.headers.get("Content-Type"))
    async with read_upload(request, rule.max_bytes, what=f"{rule.kind.value} uploads") as upload:
        media = await posts.upload(who, rule, upload)
    return json_response(media_json(media), status=201)


async def create_post(request: web.Request) -> web.Response:
    who = require_user(request)
    body = await read_body(request, PostCreate)
    post = await request.app[POSTS].create(who, present(body))
    entry = await request.app[FEED].entry(TargetKind.POST, post.id, who)
    return json_response(entry_json(entry), status=201)


async def get_post(request: web.Request) -> web.Response:
    entry = await request.app[FEED].entry(
        TargetKind.POST, path_int(request, "post_id"), principal(request)
    )
    return json_response(entry_json(entry))


async def delete_post(request: web.Request) -> web.Response:
    await request.app[POSTS].delete(require_user(request), path_int(request, "post_id"))
    return web.Response(status=204)


async def user_posts(request: web.Request) -> web.Response:
    posts = await request.app[POSTS].by_author(path_int(request, "user_id"))
    entries = []
    who = principal(request)
    for post in posts:
        entries.append(entry_json(await request.app[FEED].entry(TargetKind.POST, post.id, who)))
    return json_response({"items": entries})


async def follow(request: web.Request) -> web.Response:
    who = require_user(request)
    on = request.method == "PUT"
    count = await request.app[SOCIAL].follow(who, path_int(request, "user_id"), on)
    return json_response({"followers": count, "following": on})


def setup(app: web.Application) -> None:
    """Register the post and follow routes with their OpenAPI entries."""
    r = app.router
    r.add_post("/api/posts/media", upload_media)
    r.add_post("/api/posts", create_post)
    r.add_get("/api/posts/{post_id}", get_post)
    r.add_delete("/api/posts/{post_id}", delete_post)
    r.add_get("/api/users/{user_id}/posts", user_posts)
    r.add_put("/api/users/{user_id}/follow", follow)
    r.add_delete("/api/users/{user_id}/follow", follow)
    document(
        app,
        {
            "/api/posts/media": {
                "POST": op(
                    "Upload a photo (JPEG/PNG/WebP) or a short video (MP4/WebM) as the raw body",
                    tag="posts",
                    auth=True,
                    body={"type": "string", "format": "binary"},
                    body_type=(*IMAGE_TYPES, *VIDEO_TYPES),
                    ok=201,
                    response=PostMediaOut,
                    errors=(400, 401, 403, 413, 415, 422),
                )
            },
            "/api/posts": {
                "POST": op(
                    "Publish a post with media and product tags (hosts)",
                    tag="posts",
                    auth=True,
                    body=PostCreate,
                    ok=201,
                    response=FeedEntryOut,
                    errors=(403,),
                    links={
                        "post": ("GET /api/posts/{post_id}", {"post_id": "$response.body#/id"}),
                        "comments": (
                            "GET /api/posts/{post_id}/comments",
                            {"post_id": "$response.body#/id"},
                        ),
                    },
                )
            },
            "/api/posts/{post_id}": {
                "GET": op(
                    "A post with its media, products and counters",
                    tag="posts",
                    response=FeedEntryOut,
                    errors=(404,),
                ),
                "DELETE": op(
                    "Delete a post (author or admin)",
                    tag="posts",
                    auth=True,
                    ok=204,
                    errors=(401, 403, 404),
                ),
            },
            "/api/users/{user_id}/posts": {
                "GET": op(
                    "A creator's latest posts", tag="posts", response=EntryPage, errors=(404,)
                ),
            },
            "/api/users/{user_id}/follow": {
                "PUT": op(
                    "Follow a creator or brand",
                    tag="posts",
                    auth=True,
                    response=FollowOut,
                    errors=(404, 422),
                ),
                "DELETE": op(
                    "Unfollow", tag="posts", auth=True, response=FollowOut, errors=(404, 422)
                ),
            },
        },
    )
