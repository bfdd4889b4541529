"""The host's after-show summary: GET /api/sessions/{id}/summary joins commerce's sales and
content's replay and clips; only the host, moderators and admins may read it."""

from __future__ import annotations

from typing import Any

from support.commerce import buy, make_buyer, make_show
from support.helpers import auth


async def test_summary_after_the_show(client: Any, make_user: Any, services: Any) -> None:
    show = await make_show(client, make_user, stocks=[20, 20], price=1500)
    a, b = show.product_ids
    sid = show.session_id
    await services.db.execute(
        "INSERT INTO session_viewers (session_id, viewer_key, first_seen, last_seen,"
        " watch_seconds) VALUES (?, 'u1', 0, 0, 60), (?, 'u2', 0, 0, 30)",
        (sid, sid),
    )
    _buyer, token = await make_buyer(client, make_user)
    assert (await buy(client, token, b, quantity=2, session_id=sid))[0] == 201
    assert (await buy(client, token, a, session_id=sid))[0] == 201

    # while live: the numbers so far
    resp = await client.get(f"/api/sessions/{sid}/summary", headers=auth(show.host_token))
    assert resp.status == 200, await resp.text()
    live = await resp.json()
    assert live["state"] == "live" and live["ended_at"] is None

    resp = await client.post(f"/api/sessions/{sid}/end", headers=auth(show.host_token))
    assert resp.status == 200
    resp = await client.get(f"/api/sessions/{sid}/summary", headers=auth(show.host_token))
    summary = await resp.json()
    assert summary["state"] == "ended" and summary["ended_at"] is not None
    assert summary["duration_s"] >= 0
    assert (summary["orders"], summary["units"], summary["revenue_minor"]) == (2, 3, 4500)
    assert summary["currency"] == "USD"
    assert summary["viewers"]["total"] == 2
    # best seller first: two units of b beat one of a
    assert [p["product_id"] for p in summary["top_products"]] == [b, a]
    assert summary["top_products"][0]["revenue_minor"] == 3000
    assert summary["replay"] == {"ready": False, "url": f"/replay.html?id={sid}"}
    assert summary["processing"] == [] and summary["clips"] == 0

    # viewers and strangers: refused with a sentence, never the numbers
    resp = await client.get(f"/api/sessions/{sid}/summary", headers=auth(token))
    assert resp.status == 403
    assert (await resp.json())["error"]["message"].endswith(".")
    assert (await client.get(f"/api/sessions/{sid}/summary")).status == 401
    assert (
        await client.get("/api/sessions/999999/summary", headers=auth(show.host_token))
    ).status == 404
