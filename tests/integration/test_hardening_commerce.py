"""Issue 12 (hardening), commerce and counters: money, credit and counts come from the server.

One regression test per finding: 4 (sale terms), 5 (attribution), 9 (a bad analytics row),
16 (inflated counters), 17 (idempotency fingerprints).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from live_server.content.clips.store import NewClip
from live_server.settings import Settings
from support.commerce import ADDRESS, buy, key, make_buyer, make_product, make_show
from support.helpers import auth, wait_for
from support.services import Services


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return Settings.load(
        {"data_dir": tmp_path / "var", "secret": "test-secret", "default_commission_rate": 0.1},
        env={},
    )


async def _start_sale(client: Any, token: str, session_id: int, **body: Any) -> Any:
    return await client.post(
        f"/api/sessions/{session_id}/flash-sales", json=body, headers=auth(token)
    )


async def _report(client: Any, token: str, session_id: int) -> dict[str, Any]:
    resp = await client.get(f"/api/sessions/{session_id}/analytics", headers=auth(token))
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


# -- finding 4 ---------------------------------------------------------------------------


async def test_finding_04_only_the_merchant_sets_sale_terms_with_a_floor_and_a_cap(
    client: Any, make_user: Any, services: Services
) -> None:
    show = await make_show(client, make_user, stocks=[50, 50], live=False, price=5000)
    pid, other = show.product_ids
    mod, mod_token = await make_user()
    resp = await client.put(
        f"/api/sessions/{show.session_id}/moderators",
        json={"usernames": [mod["username"]]},
        headers=auth(show.host_token),
    )
    assert resp.status == 200, await resp.text()
    resp = await client.post(
        f"/api/sessions/{show.session_id}/start", headers=auth(show.host_token)
    )
    assert resp.status == 200
    free_for_all = {"product_id": pid, "price_minor": 0, "quantity": 50, "duration_s": 60}

    # a moderator runs the room, not the prices: refused, whatever the terms
    resp = await _start_sale(client, mod_token, show.session_id, **free_for_all)
    assert resp.status == 403, await resp.text()
    error = (await resp.json())["error"]
    assert error["code"] == "not_merchant" and "seller" in error["message"]
    resp = await _start_sale(
        client, mod_token, show.session_id, **{**free_for_all, "price_minor": 4000}
    )
    assert resp.status == 403

    # the merchant has a floor: never free, at most the configured discount off the list price
    percent = services.settings.flash_sale_max_discount_percent
    floor = 5000 * (100 - percent) // 100
    for price in (0, 1, floor - 1):
        resp = await _start_sale(
            client, show.host_token, show.session_id, **{**free_for_all, "price_minor": price}
        )
        assert resp.status == 422, price
        error = (await resp.json())["error"]
        assert error["code"] == "invalid_price_minor" and f"{percent} %" in error["message"]

    # no cap given: the default per-buyer cap applies, so one buyer cannot take the drop
    resp = await _start_sale(
        client, show.host_token, show.session_id, **{**free_for_all, "price_minor": floor}
    )
    assert resp.status == 201, await resp.text()
    sale = (await resp.json())["flash_sale"]
    cap = services.settings.flash_sale_default_per_buyer_limit
    assert sale["per_buyer_limit"] == cap and sale["price_minor"] == floor
    _, buyer = await make_buyer(client, make_user)
    status, body = await buy(client, buyer, pid, quantity=cap, session_id=show.session_id)
    assert status == 201 and body["order"]["total_minor"] == floor * cap > 0
    status, body = await buy(client, buyer, pid, session_id=show.session_id)
    assert status == 409 and body["error"]["code"] == "limit_reached"

    # an admin may set terms on any merchant's product
    _, admin = await make_user(role="admin")
    resp = await _start_sale(
        client, admin, show.session_id, product_id=other, price_minor=4000, quantity=5,
        duration_s=30, per_buyer_limit=5,
    )  # fmt: skip
    assert resp.status == 201 and (await resp.json())["flash_sale"]["per_buyer_limit"] == 5


# -- finding 5 ---------------------------------------------------------------------------


async def test_finding_05_attribution_needs_the_product_in_the_source(
    client: Any, make_user: Any, services: Services
) -> None:
    show_a = await make_show(client, make_user, stocks=[50], price=1000)
    show_b = await make_show(client, make_user, stocks=[50], price=1000)
    (a,), (b,) = show_a.product_ids, show_b.product_ids
    # host B's clip (from show B) and post, each tagging only B's product
    clip_id = await services.processing._clips.add_clip(
        show_b.session_id, None, show_b.host_id,
        NewClip(0, 10, 10, "/media/x/c.mp4", "/media/x/c.jpg", 320, 180, False, (b,)),
        show_b.host_id, "demo",
    )  # fmt: skip
    row = await services.db.fetchone(
        "INSERT INTO posts (author_id, created_at) VALUES (?, 0) RETURNING id", (show_b.host_id,)
    )
    post_id = int(row["id"])
    await services.db.execute(
        "INSERT INTO post_products (post_id, product_id, position) VALUES (?, ?, 0)", (post_id, b)
    )
    _, buyer = await make_buyer(client, make_user)

    async def order_for(product_id: int, kind: str, source_id: int) -> dict[str, Any]:
        resp = await client.post(
            "/api/checkout/buy-now",
            json={"product_id": product_id, "source": {"type": kind, "id": source_id}},
            headers={**auth(buyer), "Idempotency-Key": key()},
        )
        assert resp.status == 201, await resp.text()
        order: dict[str, Any] = (await resp.json())["order"]
        return order

    for kind, source_id in (("live", show_b.session_id), ("clip", clip_id), ("post", post_id)):
        # host A's product claimed for host B's show, clip or post: a direct order
        forged = await order_for(a, kind, source_id)
        assert forged["source"] == {"type": "direct", "id": None}, kind
        assert forged["creator_id"] is None and forged["session_id"] is None, kind
        # B's own product from B's source is B's
        honest = await order_for(b, kind, source_id)
        assert honest["source"] == {"type": kind, "id": source_id}
        assert honest["creator_id"] == show_b.host_id
    # the cart goes through the same rule (the source comes from the cart line)
    resp = await client.post(
        "/api/cart/items",
        json={"product_id": a, "source": {"type": "live", "id": show_b.session_id}},
        headers=auth(buyer),
    )
    assert resp.status == 201
    resp = await client.post(
        "/api/checkout", json={}, headers={**auth(buyer), "Idempotency-Key": key()}
    )
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["order"]["creator_id"] is None

    # B earns on the three honest orders only; the forged ones are nobody's
    resp = await client.get(
        f"/api/creators/{show_b.host_id}/ledger", headers=auth(show_b.host_token)
    )
    ledger = await resp.json()
    assert ledger["totals"][0]["orders"] == 3 and ledger["totals"][0]["gross_minor"] == 3000
    row = await services.db.fetchone(
        "SELECT COUNT(*) AS n FROM orders WHERE creator_id IS NULL AND source_type = 'direct'"
    )
    assert int(row["n"]) == 4
    report = await _report(client, show_b.host_token, show_b.session_id)
    assert report["summary"]["orders"] == 1  # the session's revenue is B's product only


# -- finding 9 ---------------------------------------------------------------------------


async def _raw_event(client: Any, session_id: int, product_id: int, viewer_key: bytes) -> int:
    """POST an analytics event with a header aiohttp's client cannot send: raw bytes."""
    body = f'{{"kind": "card_view", "product_id": {product_id}}}'.encode()
    request = (
        (
            f"POST /api/sessions/{session_id}/events HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{client.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n"
        ).encode()
        + b"X-Viewer-Key: "
        + viewer_key
        + b"\r\n\r\n"
        + body
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    try:
        writer.write(request)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()
    return int(status_line.split()[1])


async def test_finding_09_a_bad_viewer_key_never_drops_other_events(
    client: Any, make_user: Any, services: Services
) -> None:
    shows = [await make_show(client, make_user, stocks=[5]) for _ in range(2)]
    for n, show in enumerate(shows):
        for viewer in range(2):
            resp = await client.post(
                f"/api/sessions/{show.session_id}/events",
                json={"kind": "card_view", "product_id": show.product_ids[0]},
                headers={"X-Viewer-Key": f"viewer-{n}-{viewer}"},
            )
            assert resp.status == 202 and (await resp.json())["counted"] is True
    # invalid UTF-8 in the key: refused on the way in, with a reason
    status = await _raw_event(client, shows[0].session_id, shows[0].product_ids[0], b"\xff\xfe")
    assert status == 400
    for show in shows:

        async def counted(show: Any = show) -> bool:
            report = await _report(client, show.host_token, show.session_id)
            return bool(report["summary"]["card_views"] == 2)

        await wait_for(counted, timeout=5, message="every good event written")

    # and should a bad row ever reach the buffer, the flush writes every other row
    show = shows[1]
    pid = show.product_ids[0]
    services.analytics.note(show.session_id, pid, "card_click", "good-1")
    services.analytics.note(show.session_id, pid, "card_click", "bad-\udcff")
    services.analytics.note(show.session_id, pid, "card_click", "good-2")
    assert await services.analytics.flush() == 2
    report = await _report(client, show.host_token, show.session_id)
    assert report["summary"]["card_clicks"] == 2


# -- finding 16 --------------------------------------------------------------------------


async def test_finding_16_counters_cannot_be_inflated(
    client: Any, make_user: Any, services: Services
) -> None:
    from live_server.commerce.analytics.rules import ANON_KEYS_PER_ADDRESS

    show = await make_show(client, make_user, stocks=[5])
    pid = show.product_ids[0]
    url = f"/api/sessions/{show.session_id}/events"
    # one address claiming many viewer keys counts as a few viewers at most
    answers = []
    for n in range(3 * ANON_KEYS_PER_ADDRESS):
        resp = await client.post(
            url, json={"kind": "card_view", "product_id": pid}, headers={"X-Viewer-Key": f"k{n}"}
        )
        assert resp.status == 202
        answers.append((await resp.json())["counted"])
    assert answers.count(True) == ANON_KEYS_PER_ADDRESS
    # products outside the show's line-up (or that do not exist) are not counted
    foreign = await make_product(client, show.host_token, stock=1)
    for product_id in (foreign, 987_654):
        resp = await client.post(
            url,
            json={"kind": "card_view", "product_id": product_id},
            headers={"X-Viewer-Key": "k0"},
        )
        assert resp.status == 422 and (await resp.json())["error"]["code"] == "not_in_lineup"
    report = await _report(client, show.host_token, show.session_id)
    assert report["summary"]["card_views"] == ANON_KEYS_PER_ADDRESS
    assert [p["product_id"] for p in report["products"]] == [pid]

    # 20 concurrent smiles from one account are one smile, in the table and in the ranking
    clip_id = await services.processing._clips.add_clip(
        show.session_id, None, show.host_id,
        NewClip(0, 10, 10, "/media/x/s.mp4", "/media/x/s.jpg", 320, 180, False, (pid,)),
        show.host_id, "demo",
    )  # fmt: skip
    clip = await services.processing._clips.get(clip_id)
    assert clip is not None
    item_id = await services.feed.add_clip(clip)
    _, fan_token = await make_user()
    puts = await asyncio.gather(
        *(client.put(f"/api/clips/{clip_id}/smile", headers=auth(fan_token)) for _ in range(20))
    )
    assert {r.status for r in puts} == {200}
    assert {(await r.json())["smiles"] for r in puts} == {1}

    async def likes() -> int:
        row = await services.db.fetchone(
            "SELECT likes, views FROM feed_items WHERE id = ?", (item_id,)
        )
        return int(row["likes"])

    assert await likes() == 1
    gone = await asyncio.gather(
        *(client.delete(f"/api/clips/{clip_id}/smile", headers=auth(fan_token)) for _ in range(20))
    )
    assert {r.status for r in gone} == {200}
    assert await likes() == 0

    # "seen": a signed-in viewer counts once; anonymous reports are not counted at all
    for _ in range(5):
        resp = await client.post("/api/feed/seen", json={"item_id": item_id})
        assert resp.status == 204
    for _ in range(3):
        resp = await client.post(
            "/api/feed/seen", json={"item_id": item_id}, headers=auth(fan_token)
        )
        assert resp.status == 204
    row = await services.db.fetchone("SELECT views FROM feed_items WHERE id = ?", (item_id,))
    assert int(row["views"]) == 1


# -- finding 17 --------------------------------------------------------------------------


async def test_finding_17_a_key_replays_only_the_same_request(
    client: Any, make_user: Any, services: Services
) -> None:
    show = await make_show(client, make_user, stocks=[20, 20])
    a, b = show.product_ids
    _, buyer = await make_buyer(client, make_user)

    async def add(pid: int) -> None:
        resp = await client.post("/api/cart/items", json={"product_id": pid}, headers=auth(buyer))
        assert resp.status == 201

    async def checkout(idem: str, body: dict[str, Any]) -> Any:
        return await client.post(
            "/api/checkout", json=body, headers={**auth(buyer), "Idempotency-Key": idem}
        )

    # a key used for a buy-now is not a cart checkout's key: 422, and the cart is kept
    idem = key()
    status, first = await buy(client, buyer, a, idem=idem)
    assert status == 201
    await add(b)
    resp = await checkout(idem, {})
    assert resp.status == 422, await resp.text()
    error = (await resp.json())["error"]
    assert error["code"] == "idempotency_key_reused" and "different request" in error["message"]
    cart = await (await client.get("/api/cart", headers=auth(buyer))).json()
    assert [i["product_id"] for i in cart["items"]] == [b]

    # a cart checkout's key covers the address and the payment method
    idem = key()
    resp = await checkout(idem, {"payment_method": "invoice"})
    assert resp.status == 201, await resp.text()
    order = (await resp.json())["order"]
    assert order["payment"]["method"] == "invoice"
    for changed in (
        {"payment_method": "cod"},
        {},
        {"payment_method": "invoice", "address": {**ADDRESS, "line1": "2 Other St"}},
    ):
        await add(a)
        resp = await checkout(idem, changed)
        assert resp.status == 422, changed
        assert (await resp.json())["error"]["code"] == "idempotency_key_reused"
    # a true replay still answers with the first order
    resp = await checkout(idem, {"payment_method": "invoice"})
    assert resp.status == 201 and resp.headers.get("Idempotent-Replayed") == "true"
    assert (await resp.json())["order"]["id"] == order["id"]
    # and a buy-now with a cart checkout's key is refused the same way
    status, body = await buy(client, buyer, a, idem=idem)
    assert status == 422 and body["error"]["code"] == "idempotency_key_reused"
    assert first["order"]["id"] != order["id"]
