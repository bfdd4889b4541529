"""GET /metrics: Prometheus text exposition."""

from __future__ import annotations

from aiohttp import web

from live_server.platform.core import PLATFORM
from live_server.platform.openapi import document, op


async def metrics(request: web.Request) -> web.Response:
    """Every metric of this process's app, in the Prometheus text format."""
    body = request.app[PLATFORM].metrics.render()
    return web.Response(
        body=body,
        content_type="text/plain",
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )


def setup(app: web.Application) -> None:
    """Registers /metrics and documents it."""
    app.router.add_get("/metrics", metrics)
    document(
        app,
        {
            "/metrics": {
                "GET": op(
                    "Prometheus metrics (text exposition format)",
                    tag="operations",
                    ok_type="text/plain",
                )
            }
        },
    )
