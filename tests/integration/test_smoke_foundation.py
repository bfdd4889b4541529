"""The core API end to end through the aiohttp test client."""

from __future__ import annotations

from typing import Any

from support.helpers import auth


async def test_health_and_ready(client: Any) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    resp = await client.get("/readyz")
    assert resp.status == 200
    assert (await resp.json())["checks"]["database"] == "ok"


async def test_register_login_me(client: Any, make_user: Any) -> None:
    user, token = await make_user()
    resp = await client.get("/api/me", headers=auth(token))
    assert resp.status == 200
    assert (await resp.json())["username"] == user["username"]


async def test_metrics_exposition_counts_requests(client: Any) -> None:
    await client.get("/healthz")
    await client.get("/api/definitely-missing")
    resp = await client.get("/metrics")
    assert resp.status == 200 and resp.content_type == "text/plain"
    text = await resp.text()
    assert "# TYPE liveshop_http_requests_total counter" in text
    assert 'liveshop_http_requests_total{method="GET",status="2xx"}' in text
    assert 'liveshop_http_requests_total{method="GET",status="4xx"} 1.0' in text


async def test_metrics_carry_latency_histograms(client: Any) -> None:
    await client.get("/healthz")
    resp = await client.get("/metrics")
    text = await resp.text()
    for name in (
        "liveshop_http_request_duration_seconds",
        "liveshop_chat_delivery_seconds",
        "liveshop_checkout_duration_seconds",
    ):
        assert f"# TYPE {name} histogram" in text, name
    # the request that came before this scrape is already in the request histogram
    assert 'liveshop_http_request_duration_seconds_count{method="GET",status="2xx"}' in text
