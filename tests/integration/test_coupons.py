"""Live coupons: dropped in the room, claimed with one tap by real Socket.IO clients, and
redeemed by checkout exactly as often as the limits allow, even under a race."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from support.auctions import Bidder, insert_viewers
from support.commerce import ADDRESS, key
from support.helpers import auth, wait_for
from support.room import Room, RoomClient, make_room


@pytest.fixture
async def room(client: Any, make_user: Any) -> AsyncIterator[Room]:
    r = await make_room(client, make_user, str(client.make_url("/")).rstrip("/"))
    resp = await client.post(f"/api/sessions/{r.session_id}/start", headers=auth(r.host_token))
    assert resp.status == 200
    yield r
    await r.close()


async def _buyers(client: Any, services: Any, count: int) -> list[Bidder]:
    buyers = insert_viewers(services.db.path, services.settings.secret, count)

    async def save(b: Bidder) -> None:
        resp = await client.put(
            "/api/me/checkout-profile",
            json={"address": ADDRESS, "payment_method": "cod"},
            headers=auth(b.token),
        )
        assert resp.status == 200

    await asyncio.gather(*(save(b) for b in buyers))
    return buyers


async def _buy(client: Any, token: str, pid: int, sid: int, coupon_id: int | None) -> Any:
    body: dict[str, Any] = {"product_id": pid, "source": {"type": "live", "id": sid}}
    if coupon_id is not None:
        body["coupon_id"] = coupon_id
    resp = await client.post(
        "/api/checkout/buy-now", json=body, headers={**auth(token), "Idempotency-Key": key()}
    )
    return resp.status, await resp.json()


async def test_a_coupon_raced_by_100_buyers_is_redeemed_exactly_ten_times(
    client: Any, room: Room, services: Any
) -> None:
    sid, pid = room.session_id, room.product_ids[3]  # $10.03, 13 in stock
    host = await room.client(room.host_token)
    buyers = await _buyers(client, services, 100)
    clients = [await room.client(b.token) for b in buyers]
    dropped = await host.call(
        "coupon:drop",
        {"session_id": sid, "kind": "percent", "value": 20, "total_limit": 10},
    )
    assert dropped.get("ok"), dropped
    coupon = dropped["coupon"]
    assert coupon["text"] == "20% off everything in this show" and coupon["left"] == 10
    assert coupon["code"].startswith("LIVE-")
    await wait_for(lambda: all(c.events["coupon:dropped"] for c in clients), message="drop")
    claims = await asyncio.gather(
        *(c.call("coupon:claim", {"session_id": sid, "coupon_id": coupon["id"]}) for c in clients)
    )
    assert all(c.get("ok") for c in claims), claims[0]
    assert claims[0]["text"].endswith("It's applied when you buy.")

    # the race: 100 buy-nows with the coupon at once, for 13 units
    results = await asyncio.gather(*(_buy(client, b.token, pid, sid, coupon["id"]) for b in buyers))
    placed = [body["order"] for status, body in results if status == 201]
    refused = [body["error"] for status, body in results if status != 201]
    assert len(placed) == 10
    assert all(o["discount_minor"] == 200 and o["total_minor"] == 1_003 - 200 for o in placed)
    assert all(o["coupon_id"] == coupon["id"] for o in placed)
    assert {e["code"] for e in refused} == {"coupon_used_up"}
    assert refused[0]["message"] == "All 10 coupons have been used."
    row = await services.db.fetchone(
        "SELECT redeemed, (SELECT COUNT(*) FROM coupon_redemptions WHERE coupon_id = ?) AS n"
        " FROM coupons WHERE id = ?",
        (coupon["id"], coupon["id"]),
    )
    assert (row["redeemed"], row["n"]) == (10, 10)
    stock = await services.db.fetchval("SELECT stock FROM products WHERE id = ?", (pid,))
    assert stock == 13 - 10
    # the host's report: claims, redemptions and the discount given
    resp = await client.get(f"/api/sessions/{sid}/coupons", headers=auth(room.host_token))
    report = (await resp.json())["items"][0]
    assert (report["claims"], report["redemptions"], report["discount_minor_total"]) == (
        100,
        10,
        2_000,
    )
    resp = await client.get(f"/api/sessions/{sid}/coupons", headers=auth(buyers[0].token))
    assert "redemptions" not in (await resp.json())["items"][0]


async def test_once_per_buyer_claim_first_and_withdrawn(
    client: Any, room: Room, services: Any
) -> None:
    sid, pid = room.session_id, room.product_ids[0]
    host = await room.client(room.host_token)
    ana, ben = await _buyers(client, services, 2)
    ana_c: RoomClient = await room.client(ana.token)
    dropped = await host.call(
        "coupon:drop",
        {
            "session_id": sid,
            "kind": "amount",
            "value": 300,
            "total_limit": 50,
            "product_ids": [str(pid)],
        },
    )
    coupon = dropped["coupon"]
    assert coupon["text"] == "$3 off Product 0 <b>bold</b>"
    # only the host sets a discount
    viewer = await room.client(room.viewer_token)
    no = await viewer.call(
        "coupon:drop", {"session_id": sid, "kind": "percent", "value": 5, "total_limit": 1}
    )
    assert no["error"] == {
        "code": "not_merchant",
        "message": "Only the show's host sets a coupon's discount.",
    }
    # not claimed yet
    status, body = await _buy(client, ana.token, pid, sid, coupon["id"])
    assert (status, body["error"]["code"]) == (422, "coupon_not_claimed")
    assert body["error"]["message"] == "Claim this coupon in the show first."
    assert (await ana_c.call("coupon:claim", {"session_id": sid, "coupon_id": coupon["id"]}))["ok"]
    status, body = await _buy(client, ana.token, pid, sid, coupon["id"])
    assert status == 201 and body["order"]["total_minor"] == 1_000 - 300
    status, body = await _buy(client, ana.token, pid, sid, coupon["id"])
    assert (status, body["error"]["message"]) == (409, "You've already used this coupon.")
    # not on another product
    ben_c = await room.client(ben.token)
    await ben_c.call("coupon:claim", {"session_id": sid, "coupon_id": coupon["id"]})
    status, body = await _buy(client, ben.token, room.product_ids[1], sid, coupon["id"])
    assert (status, body["error"]["code"]) == (422, "coupon_not_applicable")
    # withdrawn: neither claims nor checkouts take it
    gone = await host.call("coupon:withdraw", {"session_id": sid, "coupon_id": coupon["id"]})
    assert gone["ok"] and gone["coupon"]["valid"] is False
    await wait_for(lambda: ana_c.events["coupon:withdrawn"], message="withdrawn")
    status, body = await _buy(client, ben.token, pid, sid, coupon["id"])
    assert (status, body["error"]["code"]) == (422, "coupon_expired")
    late = await ben_c.call("coupon:claim", {"session_id": sid, "coupon_id": coupon["id"]})
    assert late["error"] == {"code": "coupon_expired", "message": "This coupon has expired."}
