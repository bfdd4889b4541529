"""GET /metrics: Prometheus text exposition."""

from __future__ import annotations

from aiohttp import web

from live_server.container import SERVICES
from live_server.platform.http import services
from live_server.platform.openapi import document, op


async def metrics(request: web.Request) -> web.Response:
    text = await services(request).metrics.render()
    return web.Response(
        text=text, content_type="text/plain", charset="utf-8", headers={"Cache-Control": "no-store"}
    )


def setup(app: web.Application) -> None:
    services_ = app[SERVICES]
    services_.metrics.counter(
        "liveshop_http_requests_total", "HTTP requests by method and status class"
    )
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
