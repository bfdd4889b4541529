"""Issue 13 part 5: orders are attributed to where the checkout came from, kept apart:
`live` (the live room), `replay` (the replay page), `clip`, `post`. The server checks the
context the page names: a replay needs the show ended with its replay made (or being
made), a clip or post must exist; a forged context is refused with a sentence."""

from __future__ import annotations

import csv
import io
from typing import Any

from support.commerce import key, make_buyer, make_show
from support.helpers import auth


async def _buy(client: Any, token: str, product_id: int, source: dict[str, Any]) -> Any:
    return await client.post(
        "/api/checkout/buy-now",
        json={"product_id": product_id, "source": source},
        headers={**auth(token), "Idempotency-Key": key()},
    )


async def _order(client: Any, token: str, product_id: int, source: dict[str, Any]) -> Any:
    resp = await _buy(client, token, product_id, source)
    assert resp.status == 201, await resp.text()
    return (await resp.json())["order"]


async def _refused(client: Any, token: str, product_id: int, source: dict[str, Any]) -> str:
    resp = await _buy(client, token, product_id, source)
    assert resp.status == 422, (source, await resp.text())
    error = (await resp.json())["error"]
    assert error["code"] == "invalid_source", error
    assert error["message"][0].isupper() and error["message"].endswith("."), error
    return str(error["message"])


async def test_each_source_is_kept_apart_and_forged_contexts_are_refused(
    client: Any, make_user: Any, services: Any
) -> None:
    show = await make_show(client, make_user, stocks=[50, 50], price=1000)
    sid, (a, b) = show.session_id, show.product_ids
    _, buyer = await make_buyer(client, make_user)
    db = services.db

    # from the live room while the show is live
    order = await _order(client, buyer, a, {"type": "live", "id": sid})
    assert order["source"] == {"type": "live", "id": sid}
    assert (order["creator_id"], order["session_id"]) == (show.host_id, sid)

    # a replay of a show still live: there is no replay yet
    assert "replay" in await _refused(client, buyer, a, {"type": "replay", "id": sid})
    resp = await client.post(f"/api/sessions/{sid}/end", headers=auth(show.host_token))
    assert resp.status == 200, await resp.text()
    # ended, but nothing was recorded or processed: still no replay to buy from
    await _refused(client, buyer, a, {"type": "replay", "id": sid})
    await _refused(client, buyer, a, {"type": "replay", "id": 987654})
    await db.execute(
        "INSERT INTO replays (session_id, recording_id, video_url, poster_url, duration_s,"
        " width, height, created_at) VALUES (?, 1, '/r.mp4', '/r.jpg', 60, 1280, 720, 0)",
        (sid,),
    )
    order = await _order(client, buyer, a, {"type": "replay", "id": sid})
    assert order["source"] == {"type": "replay", "id": sid}
    assert (order["creator_id"], order["session_id"]) == (show.host_id, sid)
    assert order["media_time"] is None

    # a clip of the show tagging product b; a deleted clip and a made-up one are refused
    await db.execute(
        "INSERT INTO clips (id, session_id, host_id, source, start_s, end_s, duration_s,"
        " video_url, poster_url, width, height, created_at, deleted_at) VALUES"
        " (7001, ?, ?, 'demo', 0, 10, 10, '/c.mp4', '/c.jpg', 640, 360, 0, NULL),"
        " (7002, ?, ?, 'demo', 0, 10, 10, '/d.mp4', '/d.jpg', 640, 360, 0, 5)",
        (sid, show.host_id, sid, show.host_id),
    )
    await db.execute(
        "INSERT INTO clip_products (clip_id, product_id, position) VALUES (7001, ?, 0),"
        " (7002, ?, 0)",
        (b, b),
    )
    order = await _order(client, buyer, b, {"type": "clip", "id": 7001})
    assert order["source"] == {"type": "clip", "id": 7001}
    assert order["creator_id"] == show.host_id and order["session_id"] is None
    assert "clip" in await _refused(client, buyer, b, {"type": "clip", "id": 7002})
    await _refused(client, buyer, b, {"type": "clip", "id": 424242})
    # a real clip naming a product it does not show: the order stands, credited to nobody
    forged = await _order(client, buyer, a, {"type": "clip", "id": 7001})
    assert forged["source"] == {"type": "direct", "id": None} and forged["creator_id"] is None

    # a post by another creator tagging product a
    author, _ = await make_user(role="host")
    row = await db.fetchone(
        "INSERT INTO posts (author_id, created_at) VALUES (?, 0) RETURNING id", (author["id"],)
    )
    post_id = int(row["id"])
    await db.execute(
        "INSERT INTO post_products (post_id, product_id, position) VALUES (?, ?, 0)",
        (post_id, a),
    )
    order = await _order(client, buyer, a, {"type": "post", "id": post_id})
    assert order["source"] == {"type": "post", "id": post_id}
    assert order["creator_id"] == author["id"]
    assert "post" in await _refused(client, buyer, a, {"type": "post", "id": 424242})

    # an unknown kind of source is a plain validation refusal
    resp = await _buy(client, buyer, a, {"type": "tv", "id": sid})
    assert resp.status == 422

    # the cart goes through the same check: its line's replay source is the order's
    resp = await client.post(
        "/api/cart/items",
        json={"product_id": b, "source": {"type": "replay", "id": sid}},
        headers=auth(buyer),
    )
    assert resp.status == 201, await resp.text()
    resp = await client.post(
        "/api/checkout", json={}, headers={**auth(buyer), "Idempotency-Key": key()}
    )
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["order"]["source"] == {"type": "replay", "id": sid}

    # the show's export tells its live orders from its replay orders
    resp = await client.get(
        f"/api/sessions/{sid}/analytics.csv?table=orders", headers=auth(show.host_token)
    )
    kinds = sorted(r["source_type"] for r in csv.DictReader(io.StringIO(await resp.text())))
    assert kinds == ["live", "replay", "replay"]
