"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from aiohttp import web

from live_server.platform.core import PLATFORM
from live_server.platform.openapi import document, op


async def healthz(request: web.Request) -> web.Response:
    """The process is up and serving."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """The database (and Redis, when configured) answer; an edge node has no database."""
    svc = request.app[PLATFORM]
    checks: dict[str, str] = {}
    if svc.settings.role != "edge":
        try:
            await asyncio.wait_for(svc.db.fetchval("SELECT 1"), timeout=2)
            checks["database"] = "ok"
        except Exception as exc:  # any failure means not ready
            checks["database"] = f"error: {type(exc).__name__}"
    if svc.redis is not None:
        try:
            await asyncio.wait_for(svc.redis.ping(), timeout=2)
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return web.json_response(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status=200 if ready else 503,
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    document(
        app,
        {
            "/healthz": {"GET": op("Process is up", tag="operations")},
            "/readyz": {"GET": op("Database and Redis reachable", tag="operations", errors=(503,))},
        },
    )
