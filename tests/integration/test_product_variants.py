"""Product variants over real HTTP: a listing with sizes, each with its own stock and price,
sold per variant by checkout, carts, flash sales and the pinned card."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from support.commerce import buy, make_buyer, make_product, make_show, stock_of, units_in_orders
from support.helpers import auth


async def add_variant(
    client: Any, token: str, pid: int, options: dict[str, str], **fields: Any
) -> tuple[int, dict[str, Any]]:
    resp = await client.post(
        f"/api/products/{pid}/variants", json={"options": options, **fields}, headers=auth(token)
    )
    return resp.status, await resp.json()


async def sized_show(
    client: Any, make_user: Any, stocks: dict[str, int], *, price: int = 2500
) -> tuple[Any, dict[str, int]]:
    """A live show whose one product is a tee in the given sizes and stocks."""
    show = await make_show(client, make_user, stocks=[0], price=price, title="Tee")
    ids: dict[str, int] = {}
    for size, stock in stocks.items():
        status, body = await add_variant(
            client, show.host_token, show.product_ids[0], {"Size": size}, stock=stock
        )
        assert status == 201, body
        ids[size] = int(body["id"])
    return show, ids


async def test_a_listing_has_options_and_variants_with_their_own_stock_and_price(
    client: Any, make_user: Any
) -> None:
    _, host = await make_user("host")
    _, other = await make_user("host")
    pid = await make_product(client, host, stock=7, price=2000, title="Tee")
    status, small = await add_variant(client, host, pid, {"Size": "S"}, stock=3, sku="TEE-S")
    assert status == 201, small
    assert small["parent_id"] == pid and small["title"] == "Tee - S" and small["label"] == "S"
    assert small["price_minor"] == 2000 and small["sku"] == "TEE-S"
    status, medium = await add_variant(client, host, pid, {"size": "M"}, stock=4, price_minor=2200)
    assert status == 201 and medium["option_values"] == {"Size": "M"}  # the first's spelling
    # the same size again (any case), other option names, someone else's product: refused
    status, body = await add_variant(client, host, pid, {"Size": "m"}, stock=1)
    assert status == 409 and body["error"]["code"] == "variant_exists"
    status, body = await add_variant(client, host, pid, {"Colour": "Red"}, stock=1)
    assert status == 422 and "Size" in body["error"]["message"]
    status, body = await add_variant(client, other, pid, {"Size": "L"}, stock=1)
    assert status == 403
    status, body = await add_variant(client, host, pid, {}, stock=1)
    assert status == 422

    listing = await (await client.get(f"/api/products/{pid}")).json()
    assert listing["options"] == [{"name": "Size", "values": ["S", "M"]}]
    assert [(v["label"], v["stock"], v["price_minor"]) for v in listing["variants"]] == [
        ("S", 3, 2000),
        ("M", 4, 2200),
    ]
    assert listing["stock"] == 7  # the listing's own 7 went off sale; its variants' 3 + 4
    # stock is set per variant; the listing's price change reaches S (still at 2000) only
    resp = await client.patch(f"/api/products/{pid}", json={"stock": 9}, headers=auth(host))
    assert resp.status == 422 and (await resp.json())["error"]["field"] == "stock"
    resp = await client.patch(
        f"/api/products/{pid}", json={"price_minor": 1800, "title": "Soft tee"}, headers=auth(host)
    )
    assert resp.status == 200
    listing = await resp.json()
    assert [(v["price_minor"]) for v in listing["variants"]] == [1800, 2200]
    assert (await (await client.get(f"/api/products/{medium['id']}")).json())["title"] == (
        "Soft tee - M"
    )
    resp = await client.patch(
        f"/api/products/{pid}/variants/{small['id']}", json={"stock": 10}, headers=auth(host)
    )
    assert resp.status == 200 and (await resp.json())["stock"] == 10
    # the catalog lists listings, not their variants
    mine = await (await client.get("/api/products?owner=me", headers=auth(host))).json()
    assert [p["id"] for p in mine["items"]] == [pid]
    # deleting a variant, then the listing with the rest
    url = f"/api/products/{pid}/variants/{small['id']}"
    assert (await client.delete(url, headers=auth(host))).status == 204
    assert [
        v["label"] for v in (await (await client.get(f"/api/products/{pid}")).json())["variants"]
    ] == ["M"]
    assert (await client.delete(f"/api/products/{pid}", headers=auth(host))).status == 204
    assert (await client.get(f"/api/products/{medium['id']}")).status == 404


async def test_a_buyer_picks_a_variant_the_listing_itself_is_not_sold(
    client: Any, make_user: Any, services: Any
) -> None:
    show, ids = await sized_show(client, make_user, {"S": 2, "M": 2})
    listing = show.product_ids[0]
    _, token = await make_buyer(client, make_user)
    status, body = await buy(client, token, listing, session_id=show.session_id)
    assert status == 422 and body["error"]["code"] == "choose_variant"
    assert body["error"]["message"] == "Choose a size or colour first."
    resp = await client.post("/api/cart/items", json={"product_id": listing}, headers=auth(token))
    assert resp.status == 422
    status, body = await buy(client, token, ids["M"], session_id=show.session_id)
    assert status == 201, body
    order = body["order"]
    assert order["items"][0]["title"] == "Tee - M"
    # bought from the show's pinned listing: credited to the live show
    assert order["source"]["type"] == "live", order["source"]
    assert await stock_of(services, ids["M"]) == 1 and await stock_of(services, ids["S"]) == 2
    # a line-up holds listings, not their sizes
    resp = await client.post(
        "/api/sessions",
        json={"title": "Sizes", "product_ids": [ids["S"]]},
        headers=auth(show.host_token),
    )
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "variant_in_lineup"


async def test_flash_sale_runs_on_one_variant_and_the_card_shows_each_size(
    client: Any, make_user: Any
) -> None:
    show, ids = await sized_show(client, make_user, {"S": 0, "M": 5, "L": 3})
    url = f"/api/sessions/{show.session_id}/flash-sales"
    terms = {"price_minor": 1500, "quantity": 2, "duration_s": 60}
    resp = await client.post(
        url, json={"product_id": show.product_ids[0], **terms}, headers=auth(show.host_token)
    )
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "choose_variant"
    resp = await client.post(
        url, json={"product_id": ids["M"], **terms}, headers=auth(show.host_token)
    )
    assert resp.status == 201, await resp.text()
    _, token = await make_buyer(client, make_user)
    status, body = await buy(client, token, ids["M"], session_id=show.session_id)
    assert status == 201 and body["order"]["total_minor"] == 1500
    status, body = await buy(client, token, ids["L"], session_id=show.session_id)
    assert status == 201 and body["order"]["total_minor"] == 2500  # no sale on L
    state = await (await client.get(f"/api/sessions/{show.session_id}/commerce")).json()
    products = state["products"]
    assert products[str(ids["S"])]["sold_out"] is True
    assert products[str(ids["M"])]["units_left"] == 1  # the sale's 2 units, one sold
    assert products[str(ids["M"])]["flash_sale"]["price_minor"] == 1500
    assert products[str(ids["L"])]["units_left"] == 2
    # the host's analytics count the tee once, its sizes together
    resp = await client.get(
        f"/api/sessions/{show.session_id}/analytics", headers=auth(show.host_token)
    )
    report = await resp.json()
    rows = [(p["product_id"], p["title"], p["orders"], p["units"]) for p in report["products"]]
    assert rows == [(show.product_ids[0], "Tee", 2, 2)], rows


@pytest.mark.slow
async def test_200_buyers_for_the_last_5_of_size_m_leave_size_l_alone(
    client: Any, make_user: Any, services: Any
) -> None:
    show, ids = await sized_show(client, make_user, {"M": 5, "L": 30})
    m_buyers = [await make_buyer(client, make_user) for _ in range(200)]
    l_buyers = [await make_buyer(client, make_user) for _ in range(10)]

    async def attempt(token: str, pid: int) -> tuple[int, int, dict[str, Any]]:
        status, body = await buy(client, token, pid, session_id=show.session_id)
        return pid, status, body

    results = await asyncio.gather(
        *(attempt(t, ids["M"]) for _, t in m_buyers),
        *(attempt(t, ids["L"]) for _, t in l_buyers),
    )
    by_size = Counter((pid, status) for pid, status, _ in results)
    assert by_size[(ids["M"], 201)] == 5, by_size
    assert by_size[(ids["M"], 409)] == 195, by_size
    assert by_size[(ids["L"], 201)] == 10, by_size
    codes = {b["error"]["code"] for pid, s, b in results if s != 201}
    assert codes == {"sold_out"}
    assert await stock_of(services, ids["M"]) == 0
    assert await units_in_orders(services, ids["M"]) == 5
    assert await stock_of(services, ids["L"]) == 20
    assert await units_in_orders(services, ids["L"]) == 10
