"""A finished (or running) show at a glance, for its host: `GET /api/sessions/{id}/summary`.

It joins what two sibling features own: sales and viewers from commerce's analytics, the
replay, clips and processing progress from content. Commerce and content may not import each
other (pyproject's layer contract), so the read-model is composed here, above both, and
`create_app` registers it with the services it reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from live_server.commerce import Commerce
from live_server.content import Content
from live_server.platform.errors import Forbidden
from live_server.platform.http import json_response, path_int, require_user
from live_server.platform.identity import Principal
from live_server.platform.openapi import document, op
from live_server.platform.timefmt import iso
from live_server.shows import Shows

TOP_PRODUCTS = 5


@dataclass(frozen=True, slots=True)
class ShowSummary:
    """Builds the summary from the services that own each part."""

    shows: Shows
    commerce: Commerce
    content: Content

    async def build(self, who: Principal, session_id: int) -> dict[str, Any]:
        """The summary; 404 for a show the caller may not see, 403 for a viewer."""
        session = await self.shows.service.require_visible(who, session_id)
        if not await self.shows.service.can_moderate(who, session_id):
            raise Forbidden(
                "Only the host and moderators of this show can see its summary.",
                code="not_allowed",
            )
        report = await self.commerce.analytics.report(who, session_id)
        jobs = await self.content.processing.jobs_for(who, session_id)
        bundle = await self.content.replays.bundle(who, session_id)
        numbers = report["summary"]
        duration = 0.0
        if session.went_live_at is not None:
            end = session.ended_at if session.ended_at is not None else report["generated_at"]
            duration = max(0.0, float(end) - session.went_live_at)
        top = [p for p in report["products"] if p["orders"] or p["units"]][:TOP_PRODUCTS]
        return {
            "session_id": session_id,
            "title": session.title,
            "state": session.state.value,
            "went_live_at": iso(session.went_live_at),
            "ended_at": iso(session.ended_at),
            "duration_s": round(duration, 1),
            "viewers": {
                "peak": numbers["peak_viewers"],
                "total": numbers["unique_viewers"],
                "average": numbers["average_viewers"],
            },
            "orders": numbers["orders"],
            "units": numbers["units"],
            "revenue_minor": numbers["revenue_minor"],
            "currency": numbers["currency"] or None,
            "top_products": [
                {
                    "product_id": p["product_id"],
                    "title": p["title"],
                    "orders": p["orders"],
                    "units": p["units"],
                    "revenue_minor": p["revenue_minor"],
                }
                for p in top
            ],
            "processing": [
                {
                    "id": job.id,
                    "state": job.state.value,
                    "percent": round(job.progress * 100, 1),
                    "step": job.step,
                }
                for job in jobs
            ],
            "clips": len(bundle.clips),
            "replay": {
                "ready": bundle.replay is not None,
                "url": f"/replay.html?id={session_id}",
            },
        }


def setup(app: web.Application, summary: ShowSummary) -> None:
    """Registers the summary route and its OpenAPI entry."""

    async def get_summary(request: web.Request) -> web.Response:
        body = await summary.build(require_user(request), path_int(request, "session_id"))
        return json_response(body, headers={"Cache-Control": "no-store"})

    app.router.add_get("/api/sessions/{session_id}/summary", get_summary)
    document(
        app,
        {
            "/api/sessions/{session_id}/summary": {
                "GET": op(
                    "After the show: duration, viewers, orders and revenue, top products,"
                    " clips being made and the replay (host, moderators, admins)",
                    tag="sessions",
                    auth=True,
                    errors=(401, 403, 404),
                )
            }
        },
    )
