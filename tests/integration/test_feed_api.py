"""The feed endpoint over the real app: personalised order, cursor pages without repeats,
seen items drop, anonymous popular feed, sponsored labels, bad cursors, and the SQL
ranking matching the domain's reference score."""

from __future__ import annotations

from typing import Any

import pytest

from live_server.content.clips.store import NewClip
from live_server.content.feed.rules import FeedCursor, ItemSignals, category_mask, score
from support.content import create_products, create_session
from support.helpers import auth
from support.services import Services

CATS = ["tech", "gaming", "books", "art", "toys", "beauty", "fashion", "jewelry", "home", "kitchen"]
TECHIE = ["tech", "gaming", "books", "art", "toys"]
STYLISH = ["beauty", "fashion", "jewelry", "home", "kitchen"]


async def _seed_clips(
    client: Any, services: Services, make_user: Any, per_cat: int = 4
) -> dict[str, Any]:
    """A host with one product per category and `per_cat` clips per product, in the feed."""
    host, token = await make_user("host")
    products = await create_products(client, token, CATS)
    session_id = await create_session(client, token, products)
    assert services.processing is not None and services.feed is not None
    clips = services.processing._clips
    cat_of: dict[int, str] = {}
    for n in range(per_cat):
        for pid, cat in zip(products, CATS, strict=True):
            clip_id = await clips.add_clip(
                session_id, None, host["id"],
                NewClip(n, n + 30, 30, f"/media/x/{pid}-{n}.mp4", f"/media/x/{pid}-{n}.jpg",
                        320, 180, False, (pid,)),
                host["id"], "demo",
            )  # fmt: skip
            clip = await clips.get(clip_id)
            assert clip is not None
            await services.feed.add_clip(clip)
            cat_of[clip_id] = cat
    return {"host": host, "token": token, "cat_of": cat_of, "session_id": session_id}


async def _user(client: Any, make_user: Any, interests: list[str]) -> tuple[dict[str, Any], str]:
    user, token = await make_user()
    resp = await client.put("/api/me/interests", json={"interests": interests}, headers=auth(token))
    assert resp.status == 200, await resp.text()
    return user, token


async def _scroll(client: Any, token: str | None, limit: int) -> list[list[dict[str, Any]]]:
    pages, cursor = [], None
    headers = auth(token) if token else {}
    for _ in range(100):
        url = f"/api/feed?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        resp = await client.get(url, headers=headers)
        assert resp.status == 200, await resp.text()
        body = await resp.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("the scroll never ended")


async def test_interests_change_the_order_and_pages_never_repeat(
    client: Any, services: Services, make_user: Any
) -> None:
    seeded = await _seed_clips(client, services, make_user)
    cat_of = seeded["cat_of"]
    _, techie = await _user(client, make_user, TECHIE)
    _, stylish = await _user(client, make_user, STYLISH)

    a_pages = await _scroll(client, techie, 7)
    b_pages = await _scroll(client, stylish, 7)
    a_ids = [i["id"] for p in a_pages for i in p]
    b_ids = [i["id"] for p in b_pages for i in p]
    assert len(a_ids) == len(set(a_ids)) == len(cat_of)  # every clip once, none twice
    assert len(b_ids) == len(set(b_ids)) == len(cat_of)
    assert a_ids != b_ids
    # the first half of each feed is the viewer's interests
    half = len(cat_of) // 2
    assert {cat_of[i] for i in a_ids[:half]} == set(TECHIE)
    assert {cat_of[i] for i in b_ids[:half]} == set(STYLISH)


async def test_no_repeats_while_signals_change_mid_scroll(
    client: Any, services: Services, make_user: Any
) -> None:
    seeded = await _seed_clips(client, services, make_user, per_cat=3)
    _, token = await _user(client, make_user, TECHIE)
    others = [await _user(client, make_user, STYLISH) for _ in range(3)]
    seen: list[int] = []
    cursor = None
    while True:
        url = "/api/feed?limit=4" + (f"&cursor={cursor}" if cursor else "")
        body = await (await client.get(url, headers=auth(token))).json()
        seen += [i["id"] for i in body["items"]]
        # between pages, other viewers pile engagement onto an item not yet served
        unseen = [c for c in seeded["cat_of"] if c not in seen]
        if unseen:
            for _, other in others:
                await client.put(f"/api/clips/{unseen[-1]}/smile", headers=auth(other))
                await client.post(
                    f"/api/clips/{unseen[-1]}/comments", json={"text": "wow"}, headers=auth(other)
                )
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == len(seeded["cat_of"])


async def test_seen_items_drop_and_anonymous_get_popular(
    client: Any, services: Services, make_user: Any
) -> None:
    seeded = await _seed_clips(client, services, make_user, per_cat=2)
    _, token = await _user(client, make_user, TECHIE)
    first = (await (await client.get("/api/feed?limit=3", headers=auth(token))).json())["items"]
    top = first[0]
    resp = await client.post(
        "/api/feed/seen", json={"item_id": top["item_id"]}, headers=auth(token)
    )
    assert resp.status == 204
    again = (await (await client.get("/api/feed?limit=50", headers=auth(token))).json())["items"]
    position = [i["item_id"] for i in again].index(top["item_id"])
    assert position >= len(again) // 2  # watched: now below every unwatched match
    assert again[0]["item_id"] != top["item_id"]
    assert (await (await client.get(f"/api/clips/{top['id']}")).json())["counts"]["views"] == 1

    # anonymous viewers: the most engaged clip leads
    popular = list(seeded["cat_of"])[5]
    fans = [await _user(client, make_user, STYLISH) for _ in range(3)]
    for _, fan in fans:
        assert (await client.put(f"/api/clips/{popular}/smile", headers=auth(fan))).status == 200
        for _ in range(2):
            await client.post(
                f"/api/clips/{popular}/comments", json={"text": "so good"}, headers=auth(fan)
            )
    anon = (await (await client.get("/api/feed?limit=5")).json())["items"]
    assert anon[0]["id"] == popular
    assert anon[0]["counts"]["smiles"] == 3 and anon[0]["counts"]["comments"] == 6
    assert anon[0]["smiled"] is False


async def test_sponsored_label_and_bad_requests(
    client: Any, services: Services, make_user: Any
) -> None:
    await _seed_clips(client, services, make_user, per_cat=1)
    _, admin = await make_user("admin")
    _, viewer = await _user(client, make_user, TECHIE)
    items = (await (await client.get("/api/feed?limit=50", headers=auth(viewer))).json())["items"]
    target = items[-1]["item_id"]
    url = f"/api/feed/items/{target}/sponsored"
    assert (await client.put(url, json={"sponsored": True}, headers=auth(viewer))).status == 403
    assert (await client.put(url, json={"sponsored": "yes"}, headers=auth(admin))).status == 422
    assert (await client.put(url, json={"sponsored": True}, headers=auth(admin))).status == 200
    assert (
        await client.put(
            "/api/feed/items/999999/sponsored", json={"sponsored": True}, headers=auth(admin)
        )
    ).status == 404
    items = (await (await client.get("/api/feed?limit=50", headers=auth(viewer))).json())["items"]
    labelled = [i for i in items if i["sponsored"]]
    assert [i["item_id"] for i in labelled] == [target]

    for bad in ("junk", "eyJmIjoxfQ", "%00"):
        resp = await client.get(f"/api/feed?cursor={bad}", headers=auth(viewer))
        assert resp.status == 400 and (await resp.json())["error"]["code"] == "invalid_cursor"
    other_user_cursor = FeedCursor.start(123456, 1.0).encode()
    resp = await client.get(f"/api/feed?cursor={other_user_cursor}", headers=auth(viewer))
    assert resp.status == 400
    resp = await client.get("/api/feed?limit=lots")
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "invalid_limit"
    resp = await client.post("/api/feed/seen", json={"item_id": "1"})
    assert resp.status == 422
    resp = await client.post("/api/feed/seen", json={"item_id": 987654})
    assert resp.status == 404


def _signals(r: Any) -> ItemSignals:
    return ItemSignals(
        r["id"], r["category_mask"], r["creator_id"], r["created_at"], r["engagement"],
        bool(r["sponsored"]),
    )  # fmt: skip


async def test_sql_ranking_matches_the_reference_score(
    client: Any, services: Services, make_user: Any
) -> None:
    seeded = await _seed_clips(client, services, make_user, per_cat=3)
    user, token = await _user(client, make_user, TECHIE)
    some = list(seeded["cat_of"])
    await client.put(f"/api/clips/{some[-1]}/smile", headers=auth(token))  # liked: beauty..kitchen
    await client.put(f"/api/users/{seeded['host']['id']}/follow", headers=auth(token))
    body = (await (await client.get("/api/feed?limit=3", headers=auth(token))).json())["items"]
    await client.post("/api/feed/seen", json={"item_id": body[1]["item_id"]}, headers=auth(token))

    repo = services.feed._feed
    profile = await repo.profile(user["id"])
    assert profile.interest_mask == category_mask(TECHIE)
    rows = await services.db.fetchall("SELECT * FROM feed_items WHERE hidden = 0")
    seen = {
        r[0]
        for r in await services.db.fetchall(
            "SELECT item_id FROM feed_seen WHERE user_id = ?", (user["id"],)
        )
    }
    as_of = max(r["created_at"] for r in rows) + 3600
    expected = sorted(
        rows,
        key=lambda r: (
            -score(
                _signals(r),
                profile, followed=True, seen=r["id"] in seen, as_of=as_of,
            ),
            -r["id"],
        ),
    )  # fmt: skip
    ranked = await repo.rank(profile, as_of=as_of, feed_id="cmpcmpcmp", limit=1000)
    assert [r.item_id for r in ranked] == [r["id"] for r in expected]
    # the two-stage path (indexed candidates, then exact scores) agrees on a first page
    top = await repo.rank(profile, as_of=as_of, feed_id="cmpcmpcmp", limit=10)
    assert [r.item_id for r in top] == [r["id"] for r in expected[:10]]
    assert ranked[0].score == pytest.approx(
        score(
            ItemSignals(expected[0]["id"], expected[0]["category_mask"], expected[0]["creator_id"],
                        expected[0]["created_at"], expected[0]["engagement"]),
            profile, followed=True, seen=False, as_of=as_of,
        )
    )  # fmt: skip
