"""Errors are JSON with the right status; the OpenAPI document covers every route."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from support.helpers import auth


async def test_errors_are_json(client: Any, make_user: Any, settings: Any) -> None:
    cases = [
        (await client.get("/api/nowhere"), 404),
        (await client.get("/api/products/abc"), 404),
        (
            await client.post(
                "/api/auth/login", data=b"{not json", headers={"Content-Type": "application/json"}
            ),
            400,
        ),
        (await client.post("/api/auth/login", json=[1, 2]), 400),
        (await client.delete("/api/interests"), 405),
        (
            await client.post(
                "/api/auth/register",
                data=b'{"username": "' + b"a" * (settings.max_body_bytes + 10) + b'"}',
                headers={"Content-Type": "application/json"},
            ),
            413,
        ),
    ]
    for resp, status in cases:
        assert resp.status == status, (resp.url, resp.status)
        body = await resp.json()
        assert set(body["error"]) == {"code", "message"}
        assert "Traceback" not in body["error"]["message"]


async def test_internal_errors_hide_details(aiohttp_client: Any, settings: Any) -> None:
    from live_server.app import create_app

    app = create_app(settings)

    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret internals /etc/passwd")

    app.router.add_get("/api/boom", boom)
    client = await aiohttp_client(app)
    resp = await client.get("/api/boom")
    assert resp.status == 500
    body = await resp.json()
    assert body["error"]["code"] == "internal" and "secret" not in str(body)


async def test_every_route_is_documented(client: Any, app: web.Application) -> None:
    doc = await (await client.get("/api/openapi.json")).json()
    assert doc["openapi"].startswith("3.")
    missing = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("formatter") or info.get("path")
        if route.method in ("HEAD", "OPTIONS", "*") or path is None:
            continue
        if not (
            path.startswith("/api/")
            or path in ("/healthz", "/readyz", "/metrics")
            or path.startswith(("/whip", "/whep"))
        ):
            continue  # pages and static files are not API
        if route.method.lower() not in doc["paths"].get(path, {}):
            missing.append(f"{route.method} {path}")
    assert not missing, f"routes missing from /api/openapi.json: {missing}"


async def test_viewer_cannot_reach_host_actions(client: Any, make_user: Any) -> None:
    _, viewer = await make_user()
    resp = await client.post("/api/sessions", headers=auth(viewer), json={"title": "x"})
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "hosts_only"
