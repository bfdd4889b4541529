"""Search over the real app (FTS5 in SQLite): a product found leads to its shows and clips,
private shows stay hidden, hostile queries never give a 500, the indexes follow edits and
deletes; the creator page; the feed's Following tab."""

from __future__ import annotations

from typing import Any

import pytest

from live_server.content.clips.store import NewClip
from support.content import create_products, create_session
from support.helpers import auth
from support.services import Services


async def _clip(services: Services, session_id: int, host_id: int, product_id: int) -> int:
    """A clip of the show tagged with the product, in the feed (as processing makes them)."""
    assert services.processing is not None and services.feed is not None
    clips = services.processing._clips
    clip_id = await clips.add_clip(
        session_id, None, host_id,
        NewClip(0, 20, 20, f"/media/x/{product_id}.mp4", f"/media/x/{product_id}.jpg",
                320, 180, False, (product_id,), title="Beanie close-up"),
        host_id, "demo",
    )  # fmt: skip
    clip = await clips.get(clip_id)
    assert clip is not None
    await services.feed.add_clip(clip)
    return clip_id


async def _search(client: Any, q: str, token: str | None = None, **extra: str) -> Any:
    resp = await client.get(
        "/api/search", params={"q": q, **extra}, headers=auth(token) if token else {}
    )
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def _rename_product(client: Any, token: str, pid: int, title: str) -> None:
    resp = await client.patch(f"/api/products/{pid}", json={"title": title}, headers=auth(token))
    assert resp.status == 200, await resp.text()


@pytest.fixture
async def shop(client: Any, services: Services, make_user: Any) -> dict[str, Any]:
    """A host with a merino beanie in a public show (with a clip) and a private show."""
    host, token = await make_user("host", username="knitwitch")
    [beanie, mug] = await create_products(client, token, ["fashion", "kitchen"])
    await _rename_product(client, token, beanie, "Merino beanie")
    public = await create_session(client, token, [beanie, mug])
    resp = await client.patch(
        f"/api/sessions/{public}", json={"title": "Winter knits live"}, headers=auth(token)
    )
    assert resp.status == 200
    secret = await create_session(client, token, [beanie])
    resp = await client.patch(
        f"/api/sessions/{secret}",
        json={"title": "Secret knits preview", "visibility": "private"},
        headers=auth(token),
    )
    assert resp.status == 200
    clip_id = await _clip(services, public, host["id"], beanie)
    secret_clip = await _clip(services, secret, host["id"], beanie)
    return {
        "host": host, "token": token, "beanie": beanie, "mug": mug, "public": public,
        "secret": secret, "clip": clip_id, "secret_clip": secret_clip,
    }  # fmt: skip


async def test_a_product_found_leads_to_its_show_and_clip(
    client: Any, make_user: Any, shop: dict[str, Any]
) -> None:
    _, viewer = await make_user()
    body = await _search(client, "merino bean", viewer)  # a prefix finds "beanie"
    assert [p["product"]["id"] for p in body["products"]] == [shop["beanie"]]
    found = body["products"][0]
    assert [s["id"] for s in found["shows"]] == [shop["public"]]
    assert found["shows"][0]["url"] == f"/session.html?id={shop['public']}"
    assert found["shows"][0]["host"]["id"] == shop["host"]["id"]
    assert [c["id"] for c in found["clips"]] == [shop["clip"]]
    assert found["clips"][0]["url"] == f"/feed.html?clip={shop['clip']}"
    assert found["clips"][0]["title"] == "Beanie close-up"
    # shows by title, creators by name; `kind` narrows
    body = await _search(client, "knits", viewer)
    assert [s["id"] for s in body["shows"]] == [shop["public"]]
    body = await _search(client, "KNITWI", viewer, kind="creators")
    assert [u["id"] for u in body["creators"]] == [shop["host"]["id"]]
    assert body["products"] == [] and body["shows"] == []


async def test_private_shows_and_their_clips_only_for_those_who_may_see_them(
    client: Any, make_user: Any, shop: dict[str, Any]
) -> None:
    _, outsider = await make_user()
    for token in (None, outsider):
        body = await _search(client, "secret", token)
        assert body["shows"] == []
        body = await _search(client, "beanie", token)
        assert [s["id"] for s in body["products"][0]["shows"]] == [shop["public"]]
        assert [c["id"] for c in body["products"][0]["clips"]] == [shop["clip"]]
    body = await _search(client, "secret", shop["token"])  # the host sees it
    assert [s["id"] for s in body["shows"]] == [shop["secret"]]
    body = await _search(client, "beanie", shop["token"])
    assert {c["id"] for c in body["products"][0]["clips"]} == {shop["clip"], shop["secret_clip"]}
    # the creator page follows the same rule
    resp = await client.get(f"/api/creators/{shop['host']['id']}", headers=auth(outsider))
    assert resp.status == 200
    page = await resp.json()
    assert [s["id"] for s in page["upcoming"]] == [shop["public"]]
    assert [c["id"] for c in page["clips"]] == [shop["clip"]]


@pytest.mark.parametrize(
    "q",
    ['"', '""', "*", "NEAR(", "NEAR(a b", "-", "- -beanie", "bean*", "a OR", "NOT", "AND",
     "title:beanie", "^bean", "(", ")", "'; DROP TABLE products; --", "\x00", "🧶", "%",
     "merino\"beanie", "{}", "     "],
)  # fmt: skip
async def test_hostile_queries_answer_200_never_500(
    client: Any, shop: dict[str, Any], q: str
) -> None:
    resp = await client.get("/api/search", params={"q": q})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert set(body) == {"query", "terms", "products", "shows", "creators"}


async def test_bad_parameters_answer_400_in_words(client: Any) -> None:
    for params in ({"q": "x" * 201}, {"q": "a", "kind": "users"}, {"q": "a", "limit": "0"},
                   {"q": "a", "limit": "9" * 5000}):  # fmt: skip
        resp = await client.get("/api/search", params=params)
        assert resp.status == 400, params
        error = (await resp.json())["error"]
        assert error["message"][0].isupper() and error["code"]
    body = await _search(client, "")
    assert body["products"] == body["shows"] == body["creators"] == []


async def test_the_index_follows_edits_and_deletes(
    client: Any, services: Services, shop: dict[str, Any]
) -> None:
    token, beanie = shop["token"], shop["beanie"]
    await _rename_product(client, token, beanie, "Alpaca scarf")
    assert (await _search(client, "merino"))["products"] == []
    assert [p["product"]["id"] for p in (await _search(client, "alpaca"))["products"]] == [beanie]
    resp = await client.delete(f"/api/products/{shop['mug']}", headers=auth(token))
    assert resp.status == 204
    assert (await _search(client, "kitchen"))["products"] == []
    resp = await client.patch(
        f"/api/sessions/{shop['public']}", json={"title": "Spring sale"}, headers=auth(token)
    )
    assert resp.status == 200
    assert (await _search(client, "winter"))["shows"] == []
    assert [s["id"] for s in (await _search(client, "spring"))["shows"]] == [shop["public"]]
    # a row removed outright (the sqlite3 shell) leaves the index too: FTS integrity holds
    for sql in (
        "DELETE FROM session_products WHERE session_id = ?",
        "DELETE FROM clips WHERE session_id = ?",
        "DELETE FROM live_sessions WHERE id = ?",
    ):
        await services.db.execute(sql, (shop["secret"],))
    for table in ("products_fts", "live_sessions_fts", "users_fts"):
        await services.db.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
    assert (await _search(client, "secret", token))["shows"] == []


async def test_creator_page_and_follow(client: Any, make_user: Any, shop: dict[str, Any]) -> None:
    viewer, token = await make_user()
    host_id = shop["host"]["id"]
    page = await (await client.get(f"/api/creators/{host_id}", headers=auth(token))).json()
    assert page["creator"]["username"] == "knitwitch"
    assert page["following"] is False and page["followers"] == 0
    resp = await client.put(f"/api/users/{host_id}/follow", headers=auth(token))
    assert resp.status == 200
    page = await (await client.get(f"/api/creators/{host_id}", headers=auth(token))).json()
    assert page["following"] is True and page["followers"] == 1
    # a plain viewer has no creator page; nor does a missing user
    for uid in (viewer["id"], 999_999):
        resp = await client.get(f"/api/creators/{uid}")
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "creator_not_found"


async def test_following_tab_lists_followed_creators_newest_first(
    client: Any, services: Services, make_user: Any, shop: dict[str, Any]
) -> None:
    other, other_token = await make_user("host")
    [pid] = await create_products(client, other_token, ["tech"])
    other_show = await create_session(client, other_token, [pid])
    await _clip(services, other_show, other["id"], pid)  # not followed: never listed
    host_id = shop["host"]["id"]
    newer = await _clip(services, shop["public"], host_id, shop["beanie"])
    _, token = await make_user()
    resp = await client.get("/api/feed?filter=following", headers=auth(token))
    assert resp.status == 200
    assert (await resp.json())["items"] == []  # follows nobody yet
    await client.put(f"/api/users/{host_id}/follow", headers=auth(token))
    seen: list[int] = []
    cursor = None
    for _ in range(5):
        url = "/api/feed?filter=following&limit=1" + (f"&cursor={cursor}" if cursor else "")
        body = await (await client.get(url, headers=auth(token))).json()
        seen += [i["id"] for i in body["items"]]
        assert all(i["creator"]["id"] == host_id and i["following"] for i in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [newer, shop["clip"]]  # newest first; the private show's clip left out
    resp = await client.get("/api/feed?filter=following")  # anonymous: follows nobody
    assert resp.status == 200
    assert await resp.json() == {"items": [], "next_cursor": None}
    for bad in ("/api/feed?filter=following&cursor=nope", "/api/feed?filter=friends"):
        resp = await client.get(bad, headers=auth(token))
        assert resp.status == 400, bad
