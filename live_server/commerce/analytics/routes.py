"""Analytics REST: card events from viewers, session reports and CSV, creator ledgers."""

from __future__ import annotations

from aiohttp import web

from live_server.commerce.keys import ANALYTICS, LEDGER
from live_server.commerce.models import AnalyticsEvent, CommissionRate
from live_server.platform.addresses import client_address
from live_server.platform.http import (
    header_text,
    json_response,
    path_int,
    principal,
    query_int,
    require_user,
)
from live_server.platform.openapi import document, op, query_param
from live_server.platform.schemas import present, read_body


async def record_event(request: web.Request) -> web.Response:
    session_id = path_int(request, "session_id")
    body = await read_body(request, AnalyticsEvent)
    # the key is whatever the page claims; the address bounds how many viewers it can add
    counted = await request.app[ANALYTICS].record(
        principal(request),
        session_id,
        present(body),
        header_text(request, "X-Viewer-Key"),
        client_address(request),
    )
    return json_response({"counted": counted}, status=202)


async def session_report(request: web.Request) -> web.Response:
    who = require_user(request)
    report = await request.app[ANALYTICS].report(who, path_int(request, "session_id"))
    return json_response(report, headers={"Cache-Control": "no-store"})


async def session_csv(request: web.Request) -> web.Response:
    who = require_user(request)
    session_id = path_int(request, "session_id")
    table = request.query.get("table", "products")
    text = await request.app[ANALYTICS].csv_export(who, session_id, table)
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="session-{session_id}-{table}.csv"',
            "Cache-Control": "no-store",
        },
    )


async def creator_ledger(request: web.Request) -> web.Response:
    who = require_user(request)
    creator_id = path_int(request, "creator_id")
    limit = query_int(request, "limit", 100, 1, 500)
    return json_response(await request.app[LEDGER].ledger(who, creator_id, limit=limit))


async def set_commission(request: web.Request) -> web.Response:
    who = require_user(request)
    creator_id = path_int(request, "creator_id")
    body = await read_body(request, CommissionRate)
    result = await request.app[LEDGER].set_rate(who, creator_id, body.rate_bp)
    return json_response(result)


def setup(app: web.Application) -> None:
    """Routes and their OpenAPI entries."""
    r = app.router
    r.add_post("/api/sessions/{session_id}/events", record_event)
    r.add_get("/api/sessions/{session_id}/analytics", session_report)
    r.add_get("/api/sessions/{session_id}/analytics.csv", session_csv)
    r.add_get("/api/creators/{creator_id}/ledger", creator_ledger)
    r.add_put("/api/creators/{creator_id}/commission", set_commission)
    document(
        app,
        {
            "/api/sessions/{session_id}/events": {
                "POST": op(
                    "Count a card view or click on a line-up product (anyone watching; an "
                    "anonymous page names itself with an X-Viewer-Key header)",
                    tag="analytics",
                    body=AnalyticsEvent,
                    ok=202,
                    errors=(404,),
                    params=[
                        {
                            "name": "X-Viewer-Key",
                            "in": "header",
                            "required": False,
                            "description": "an anonymous page's own id (1-200 visible ASCII)",
                            "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,200}$"},
                        }
                    ],
                )
            },
            "/api/sessions/{session_id}/analytics": {
                "GET": op(
                    "Session analytics: audience, funnel per product, orders, revenue, "
                    "conversion, per-minute timeline (host, moderators, admins)",
                    tag="analytics",
                    auth=True,
                    errors=(401, 403, 404),
                )
            },
            "/api/sessions/{session_id}/analytics.csv": {
                "GET": op(
                    "CSV export for the merchant",
                    tag="analytics",
                    auth=True,
                    ok_type="text/csv",
                    errors=(401, 403, 404, 422),
                    params=[
                        query_param(
                            "table",
                            "products (default), timeline or orders",
                            schema={"enum": ["products", "timeline", "orders"]},
                        )
                    ],
                )
            },
            "/api/creators/{creator_id}/ledger": {
                "GET": op(
                    "A creator's attributed sales and commission (the creator or an admin)",
                    tag="analytics",
                    auth=True,
                    errors=(401, 403, 404),
                    params=[query_param("limit", "1-500", "integer")],
                )
            },
            "/api/creators/{creator_id}/commission": {
                "PUT": op(
                    "Set a creator's commission rate in basis points (admins)",
                    tag="analytics",
                    auth=True,
                    body=CommissionRate,
                    errors=(403, 404),
                )
            },
        },
    )
