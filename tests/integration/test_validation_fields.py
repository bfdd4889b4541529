"""Every refusal of a form's input names the input (`field`) and says why in words, and an
unknown page is the friendly HTML 404 page while the API keeps JSON (issue 13 parts 2, 4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from support.commerce import make_show
from support.helpers import auth

RAW = ("_minor", "_s ", "$.", "`", "price_minor", "duration_s", "None")


def _human(message: str) -> None:
    """A sentence for people: a capital letter, a full stop, no field keys or validator words."""
    assert message[:1].isupper() and message.endswith("."), message
    assert not any(raw in message for raw in RAW), message


async def _refused(resp: Any, field: str, code: str | None = None) -> str:
    assert resp.status == 422, await resp.text()
    error = (await resp.json())["error"]
    assert error["field"] == field, error
    if code is not None:
        assert error["code"] == code, error
    _human(error["message"])
    return str(error["message"])


async def test_flash_sale_refusals_name_their_field(client: Any, make_user: Any) -> None:
    show = await make_show(client, make_user, stocks=[8], price=5000)
    pid = show.product_ids[0]
    url = f"/api/sessions/{show.session_id}/flash-sales"
    ok = {"product_id": pid, "price_minor": 2500, "quantity": 5, "duration_s": 60}

    async def start(**body: Any) -> Any:
        return await client.post(url, json=body, headers=auth(show.host_token))

    # the studio's empty form: every input empty
    empty = {"product_id": pid, "price_minor": None, "quantity": None, "duration_s": None}
    assert "sale price" in await _refused(await start(**empty), "price_minor")
    # $0, or nothing sent at all
    assert "at least $5" in await _refused(await start(**{**ok, "price_minor": 0}), "price_minor")
    body = {k: v for k, v in ok.items() if k != "price_minor"}
    await _refused(await start(**body), "price_minor", "invalid_price_minor")
    # not a sale: the current price or above
    for price in (5000, 7000):
        words = await _refused(await start(**{**ok, "price_minor": price}), "price_minor")
        assert "below the current price of $50" in words
    # units: none, more than in stock
    await _refused(await start(**{**ok, "quantity": 0}), "quantity")
    assert "Only 8 in stock" in await _refused(await start(**{**ok, "quantity": 9}), "quantity")
    # duration outside 10-300 s, or not a number
    for duration in (5, 301, "soon"):
        words = await _refused(await start(**{**ok, "duration_s": duration}), "duration_s")
        assert "10 to 300 seconds" in words
    await _refused(await start(**{**ok, "per_buyer_limit": 0}), "per_buyer_limit")
    # coupons: no discount above what a product costs, nor past the percent cap
    coupons = f"/api/sessions/{show.session_id}/coupons"
    for terms in ({"kind": "amount", "value": 5000}, {"kind": "percent", "value": 95}):
        resp = await client.post(
            coupons, json={**terms, "total_limit": 5}, headers=auth(show.host_token)
        )
        await _refused(resp, "value", "invalid_coupon")
    resp = await client.post(
        coupons,
        json={"kind": "amount", "value": 500, "total_limit": 0},
        headers=auth(show.host_token),
    )
    await _refused(resp, "total_limit")
    # nothing was started by any of these; the good one starts
    listed = await client.get(url)
    assert (await listed.json())["items"] == []
    resp = await start(**ok)
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["flash_sale"]["price_minor"] == 2500


async def test_other_forms_name_their_field(client: Any, make_user: Any) -> None:
    _, host = await make_user(role="host")
    # catalog: a free product, a missing title
    product = {"title": "Mug", "price_minor": 0, "category": "home"}
    resp = await client.post("/api/products", json=product, headers=auth(host))
    assert "price above zero" in await _refused(resp, "price_minor")
    resp = await client.post(
        "/api/products", json={**product, "title": "  ", "price_minor": 900}, headers=auth(host)
    )
    await _refused(resp, "title")
    # shows: a start time in the past, or years away
    for days in (-2, 365 * 6):
        when = (datetime.now(UTC) + timedelta(days=days)).isoformat()
        resp = await client.post(
            "/api/sessions", json={"title": "Drop", "starts_at": when}, headers=auth(host)
        )
        await _refused(resp, "starts_at", "invalid_starts_at")
    resp = await client.post(
        "/api/sessions",
        json={"title": "Drop", "moderators": ["nobody-called-this"]},
        headers=auth(host),
    )
    assert "@nobody-called-this" in await _refused(resp, "moderators", "unknown_users")
    # checkout profile: a nested field keeps its path, and its words say where it is
    _, viewer = await make_user()
    address = {"line1": "1 Main St", "city": "Lyon", "postal_code": "69001", "country": "FR"}
    resp = await client.put(
        "/api/me/checkout-profile",
        json={"address": address, "payment_method": "cod"},
        headers=auth(viewer),
    )
    assert await _refused(resp, "address.name") == "Name of the address is required."
    # sign-up
    resp = await client.post("/api/auth/register", json={"username": "x", "password": "p"})
    assert resp.status == 422 and (await resp.json())["error"]["field"] in {"username", "password"}


async def test_unknown_pages_are_a_friendly_html_404_the_api_stays_json(client: Any) -> None:
    page = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    for path in ("/nope.html", "/nope", "/shows/nope"):
        resp = await client.get(path, headers=page)
        assert resp.status == 404, path
        assert resp.content_type == "text/html"
        text = await resp.text()
        assert "find that page" in text and 'href="/"' in text and '"error"' not in text
    resp = await client.get("/api/nope", headers=page)
    assert resp.status == 404 and resp.content_type == "application/json"
    assert (await resp.json())["error"]["code"] == "not_found"
    resp = await client.get("/nope.html")  # a script, not a browser: JSON as before
    assert resp.status == 404 and resp.content_type == "application/json"


async def test_a_failing_page_is_the_html_500_page(aiohttp_client: Any, settings: Any) -> None:
    from aiohttp import web

    from live_server.app import create_app

    app = create_app(settings)

    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret internals")

    app.router.add_get("/explode", boom)
    app.router.add_get("/api/explode", boom)
    client = await aiohttp_client(app)
    resp = await client.get("/explode", headers={"Accept": "text/html"})
    assert resp.status == 500 and resp.content_type == "text/html"
    text = await resp.text()
    assert "Something went wrong" in text and "secret" not in text
    resp = await client.get("/api/explode", headers={"Accept": "text/html"})
    assert resp.status == 500 and (await resp.json())["error"]["code"] == "internal"
