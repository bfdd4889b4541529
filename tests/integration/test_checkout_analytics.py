"""Session analytics from real events, room stats and orders; CSV export."""

from __future__ import annotations

import csv
import io
import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from support.commerce import buy, make_buyer, make_show
from support.helpers import auth


def _iso_utc(text: str) -> datetime:
    """Parses an ISO 8601 date of a CSV cell; it must say UTC (a trailing Z)."""
    assert text.endswith("Z"), text
    parsed = datetime.fromisoformat(text)
    assert parsed.utcoffset() == timedelta(0), text
    return parsed


async def test_session_report_and_csv(client: Any, make_user: Any, services: Any) -> None:
    show = await make_show(client, make_user, stocks=[20, 20], price=1000)
    a, b = show.product_ids
    sid = show.session_id
    minute = int(time.time() // 60) * 60
    # what the room area records: two minutes of audience, three unique viewers
    await services.db.execute(
        "INSERT INTO room_minute_stats (session_id, minute, viewers_max, reactions, chat_messages)"
        " VALUES (?, ?, 4, 10, 2), (?, ?, 6, 3, 1)",
        (sid, minute - 60, sid, minute),
    )
    await services.db.execute(
        "INSERT INTO session_viewers (session_id, viewer_key, first_seen, last_seen,"
        " watch_seconds) VALUES (?, 'u1', 0, 0, 60), (?, 'u2', 0, 0, 30), (?, 'a3', 0, 0, 30)",
        (sid, sid, sid),
    )
    buyers = [await make_buyer(client, make_user) for _ in range(2)]
    for _, token in buyers:
        for kind in ("card_view", "card_view", "card_click"):
            resp = await client.post(
                f"/api/sessions/{sid}/events",
                json={"kind": kind, "product_id": a},
                headers=auth(token),
            )
            assert resp.status == 202
    resp = await client.post(
        f"/api/sessions/{sid}/events",
        json={"kind": "card_view", "product_id": b},
        headers={"X-Viewer-Key": "anon-1"},
    )
    assert resp.status == 202 and (await resp.json())["counted"] is True
    resp = await client.post(f"/api/sessions/{sid}/events", json={"kind": "hack", "product_id": a})
    assert resp.status == 422
    _, t0 = buyers[0]
    resp = await client.post(
        "/api/cart/items",
        json={"product_id": b, "source": {"type": "live", "id": sid}},
        headers=auth(t0),
    )
    assert resp.status == 201
    assert (await buy(client, t0, a, quantity=3, session_id=sid))[0] == 201
    assert (await buy(client, buyers[1][1], a, session_id=sid))[0] == 201

    resp = await client.get(f"/api/sessions/{sid}/analytics", headers=auth(buyers[0][1]))
    assert resp.status == 403
    resp = await client.get(f"/api/sessions/{sid}/analytics", headers=auth(show.host_token))
    assert resp.status == 200
    report = await resp.json()
    s = report["summary"]
    assert (s["peak_viewers"], s["unique_viewers"], s["watch_seconds"]) == (6, 3, 120.0)
    assert (s["reactions"], s["orders"], s["units"], s["revenue_minor"]) == (13, 2, 4, 4000)
    assert (s["card_views"], s["card_clicks"], s["add_to_carts"]) == (3, 2, 1)
    assert s["conversion_rate"] == round(2 / 3, 4)
    by_product = {p["product_id"]: p for p in report["products"]}
    assert by_product[a]["orders"] == 2 and by_product[a]["card_views"] == 2
    assert by_product[a]["click_through_rate"] == 1.0
    assert by_product[b]["add_to_carts"] == 1 and by_product[b]["orders"] == 0
    timeline = {row["minute"]: row for row in report["timeline"]}
    assert timeline[minute - 60]["viewers"] == 4 and timeline[minute - 60]["orders"] == 0
    assert timeline[minute]["orders"] == 2 and timeline[minute]["reactions"] == 3

    resp = await client.get(
        f"/api/sessions/{sid}/analytics.csv?table=products", headers=auth(show.host_token)
    )
    assert resp.status == 200 and resp.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert {int(r["product_id"]): int(r["orders"]) for r in rows} == {a: 2, b: 0}
    resp = await client.get(
        f"/api/sessions/{sid}/analytics.csv?table=orders", headers=auth(show.host_token)
    )
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert sorted(int(r["quantity"]) for r in rows) == [1, 3]
    assert "buyer_id" not in rows[0]  # no personal data in the merchant's export
    for r in rows:  # dates are ISO 8601 UTC, never epoch seconds
        assert _iso_utc(r["created_at"]).timestamp() == pytest.approx(time.time(), abs=120)
    resp = await client.get(
        f"/api/sessions/{sid}/analytics.csv?table=timeline", headers=auth(show.host_token)
    )
    timeline_rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert len(timeline_rows) == 2
    assert [_iso_utc(r["minute_utc"]).timestamp() for r in timeline_rows] == [minute - 60, minute]
    resp = await client.get(
        f"/api/sessions/{sid}/analytics.csv?table=secrets", headers=auth(show.host_token)
    )
    assert resp.status == 422
