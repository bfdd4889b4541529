"""Flash sales end to end: rules, sale price, caps, sold out, and the room's live tick."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from support.commerce import buy, make_buyer, make_show, stock_of
from support.helpers import auth, wait_for
from support.room import RoomClient


async def start_sale(client: Any, token: str, session_id: int, **body: Any) -> Any:
    return await client.post(
        f"/api/sessions/{session_id}/flash-sales", json=body, headers=auth(token)
    )


async def test_flash_sale_rules(client: Any, make_user: Any) -> None:
    show = await make_show(client, make_user, stocks=[20, 5], price=5000)
    pid, other = show.product_ids
    ok = {"product_id": pid, "price_minor": 2500, "quantity": 10, "duration_s": 60}
    for bad, code in (
        ({**ok, "duration_s": 9}, "invalid_duration_s"),
        ({**ok, "duration_s": 301}, "invalid_duration_s"),
        ({**ok, "quantity": 21}, "invalid_quantity"),
        ({**ok, "quantity": 0}, "invalid_quantity"),
        ({**ok, "price_minor": 5001}, "invalid_price_minor"),
        ({**ok, "price_minor": "cheap"}, "invalid_price_minor"),
        ({**ok, "per_buyer_limit": 0}, "invalid_per_buyer_limit"),
        ({**ok, "product_id": 999_999}, "not_in_lineup"),
    ):
        resp = await start_sale(client, show.host_token, show.session_id, **bad)
        assert resp.status == 422, bad
        assert (await resp.json())["error"]["code"] == code
    _, viewer = await make_user()
    resp = await start_sale(client, viewer, show.session_id, **ok)
    assert resp.status == 403
    resp = await start_sale(client, show.host_token, show.session_id, **ok)
    assert resp.status == 201
    sale = (await resp.json())["flash_sale"]
    assert sale["status"] == "active" and 59 <= sale["seconds_left"] <= 60
    resp = await start_sale(client, show.host_token, show.session_id, **ok)
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "sale_running"
    # a scheduled (not live) session cannot run sales
    later = await make_show(client, make_user, stocks=[5], live=False)
    resp = await start_sale(
        client, later.host_token, later.session_id, **{**ok, "product_id": later.product_ids[0]}
    )
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "session_not_live"
    resp = await client.get(f"/api/sessions/{show.session_id}/flash-sales")
    assert [s["id"] for s in (await resp.json())["items"]] == [sale["id"]]
    assert other  # the second product stays out of the sale


async def test_sale_price_cap_sold_out_and_end(client: Any, make_user: Any, services: Any) -> None:
    show = await make_show(client, make_user, stocks=[50], price=5000)
    pid = show.product_ids[0]
    resp = await start_sale(
        client,
        show.host_token,
        show.session_id,
        product_id=pid,
        price_minor=1999,
        quantity=10,
        duration_s=120,
        per_buyer_limit=2,
    )
    sale = (await resp.json())["flash_sale"]
    buyers = [await make_buyer(client, make_user) for _ in range(30)]
    _, first = buyers[0]
    status, body = await buy(client, first, pid, quantity=2, session_id=show.session_id)
    assert status == 201
    assert body["order"]["items"][0]["unit_price_minor"] == 1999
    assert body["order"]["items"][0]["flash_sale_id"] == sale["id"]
    assert body["order"]["total_minor"] == 3998
    status, body = await buy(client, first, pid, session_id=show.session_id)
    assert status == 409 and body["error"]["code"] == "limit_reached"

    results = await asyncio.gather(
        *(buy(client, t, pid, quantity=2, session_id=show.session_id) for _, t in buyers[1:])
    )
    assert Counter(s for s, _ in results) == {201: 4, 409: 25}
    assert {b["error"]["code"] for s, b in results if s == 409} == {"sold_out"}
    assert await stock_of(services, pid) == 40  # the sale's 10 units, no more
    resp = await client.get(f"/api/sessions/{show.session_id}/commerce")
    live = await resp.json()
    assert live["sales"][0]["status"] == "sold_out" and live["sales"][0]["remaining"] == 0
    assert live["products"][str(pid)]["sold_out"] is True
    assert live["bought_last_minute"] == 5

    resp = await client.post(f"/api/flash-sales/{sale['id']}/end", headers=auth(show.host_token))
    assert resp.status == 200 and (await resp.json())["flash_sale"]["status"] == "ended"
    _, late = buyers[-1]
    status, body = await buy(client, late, pid, session_id=show.session_id)
    assert status == 201 and body["order"]["items"][0]["unit_price_minor"] == 5000


async def test_room_tick_carries_countdown_units_left_and_social_proof(
    client: Any, make_user: Any, services: Any
) -> None:
    show = await make_show(client, make_user, stocks=[8], price=3000)
    pid = show.product_ids[0]
    base_url = str(client.make_url("/")).rstrip("/")
    host = await RoomClient(base_url, show.host_token).connect()
    viewer = await RoomClient(base_url, None).connect()
    try:
        await host.join(show.session_id)
        await viewer.join(show.session_id)
        ack = await host.call("pin:add", {"session_id": show.session_id, "product_id": pid})
        assert ack["ok"], ack

        def card() -> dict[str, Any]:
            pins = viewer.last_pins() or [{}]
            return pins[0]

        await wait_for(lambda: card().get("units_left") == 8, message="units left on the card")
        resp = await start_sale(
            client,
            show.host_token,
            show.session_id,
            product_id=pid,
            price_minor=1500,
            quantity=3,
            duration_s=30,
        )
        assert resp.status == 201

        def commerce() -> dict[str, Any]:
            found = [t["commerce"] for t in viewer.ticks() if "commerce" in t]
            return found[-1] if found else {}

        await wait_for(lambda: commerce().get("sales"), message="sale in the tick")
        tick_sale = commerce()["sales"][0]
        assert tick_sale["price_minor"] == 1500 and tick_sale["remaining"] == 3
        assert 0 < tick_sale["seconds_left"] <= 30
        await wait_for(lambda: card().get("units_left") == 3, message="sale units on the card")

        _, named = await make_buyer(client, make_user, show_name=True)
        _, shy = await make_buyer(client, make_user)
        assert (await buy(client, named, pid, session_id=show.session_id))[0] == 201
        assert (await buy(client, shy, pid, quantity=2, session_id=show.session_id))[0] == 201
        await wait_for(lambda: card().get("sold_out") is True, message="sold out on the card")
        await wait_for(lambda: commerce().get("bought_last_minute") == 2, message="counter")
        proof = commerce()["just_bought"]
        assert len(proof) == 1 and proof[0]["first_name"].startswith("User")
        assert set(proof[0]) == {"first_name", "product_title", "ago_s"}
        # the host's studio hears about each order
        await wait_for(lambda: len(host.events["order"]) == 2, message="order events")
        assert {e["total_minor"] for e in host.events["order"]} == {1500, 3000}
        assert not viewer.events["order"]
    finally:
        await host.close()
        await viewer.close()


async def test_a_new_drop_replaces_a_sold_out_one(client: Any, make_user: Any) -> None:
    show = await make_show(client, make_user, stocks=[10], price=5000)
    pid = show.product_ids[0]
    first = await start_sale(
        client,
        show.host_token,
        show.session_id,
        product_id=pid,
        price_minor=1000,
        quantity=1,
        duration_s=120,
    )
    first_id = (await first.json())["flash_sale"]["id"]
    _, buyer = await make_buyer(client, make_user)
    assert (await buy(client, buyer, pid))[0] == 201
    status, body = await buy(client, buyer, pid)
    assert status == 409 and body["error"]["code"] == "sold_out"
    second = await start_sale(
        client,
        show.host_token,
        show.session_id,
        product_id=pid,
        price_minor=2000,
        quantity=2,
        duration_s=60,
    )
    assert second.status == 201
    status, body = await buy(client, buyer, pid)
    assert status == 201 and body["order"]["items"][0]["unit_price_minor"] == 2000
    sales = await (await client.get(f"/api/sessions/{show.session_id}/flash-sales")).json()
    by_id = {s["id"]: s for s in sales["items"]}
    assert by_id[first_id]["status"] == "ended"
