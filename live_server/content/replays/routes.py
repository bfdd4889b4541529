"""Replay REST: the replay bundle (video, chapters, chat at media times, clips) and the
session's processing jobs (progress, admin re-run)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from live_server.catalog.serializers import product_json
from live_server.content.clips.routes import clip_json
from live_server.content.clips.rules import ProcessingJob
from live_server.content.keys import PROCESSING, REPLAYS
from live_server.platform.http import json_response, path_int, principal, require_user
from live_server.platform.openapi import document, op
from live_server.platform.timefmt import iso


def job_json(job: ProcessingJob) -> dict[str, Any]:
    """A processing job's public state."""
    return {
        "id": job.id,
        "session_id": job.session_id,
        "recording_id": job.recording_id,
        "state": job.state.value,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "percent": round(job.progress * 100, 1),
        "step": job.step,
        "error": job.error,
        "created_at": iso(job.created_at),
        "finished_at": iso(job.finished_at),
    }


async def get_replay(request: web.Request) -> web.Response:
    session_id = path_int(request, "session_id")
    bundle = await request.app[REPLAYS].bundle(principal(request), session_id)
    products = bundle.products
    chapters = [
        {
            "pin_id": c["id"],
            "start": round(float(c["pinned_media_time"]), 3),
            "end": None
            if c["unpinned_media_time"] is None
            else round(float(c["unpinned_media_time"]), 3),
            "product": product_json(products[c["product_id"]])
            if c["product_id"] in products
            else None,
        }
        for c in bundle.chapters
    ]
    replay = bundle.replay
    return json_response(
        {
            "session_id": session_id,
            "ready": replay is not None,
            "replay": None
            if replay is None
            else {
                "video_url": replay.video_url,
                "poster_url": replay.poster_url,
                "duration_s": round(replay.duration_s, 3),
                "width": replay.width,
                "height": replay.height,
            },
            "chapters": chapters,
            "chat": [
                {
                    "id": m["id"],
                    "user": {"id": m["user_id"], "display_name": m["display_name"]},
                    "text": m["text"],
                    "media_time": round(float(m["media_time"]), 3),
                }
                for m in bundle.chat
            ],
            "clips": [clip_json(c) for c in bundle.clips],
            "can_cut": bundle.can_cut,
            # until it is ready, the show's LL-HLS segments can play (the instant replay)
            "instant_replay": bundle.instant_replay,
        }
    )


async def list_jobs(request: web.Request) -> web.Response:
    jobs = await request.app[PROCESSING].jobs_for(
        require_user(request), path_int(request, "session_id")
    )
    return json_response({"items": [job_json(j) for j in jobs]})


async def rerun(request: web.Request) -> web.Response:
    job = await request.app[PROCESSING].rerun(
        require_user(request), path_int(request, "session_id")
    )
    return json_response(job_json(job), status=202)


def setup(app: web.Application) -> None:
    """Register the replay and processing routes with their OpenAPI entries."""
    app.router.add_get("/api/sessions/{session_id}/replay", get_replay)
    app.router.add_get("/api/sessions/{session_id}/processing", list_jobs)
    app.router.add_post("/api/sessions/{session_id}/processing", rerun)
    document(
        app,
        {
            "/api/sessions/{session_id}/replay": {
                "GET": op(
                    "The replay: video, product chapters, chat at media times, clips",
                    tag="replays",
                    errors=(404,),
                )
            },
            "/api/sessions/{session_id}/processing": {
                "GET": op(
                    "Processing jobs of the session (host, moderators, admins)",
                    tag="replays",
                    auth=True,
                    errors=(401, 403, 404),
                ),
                "POST": op(
                    "Queue processing again (admin or host)",
                    tag="replays",
                    auth=True,
                    ok=202,
                    errors=(401, 403, 404),
                ),
            },
        },
    )
