"""Live sessions: scheduling, listings, line-up, moderators, stream keys, states."""

from __future__ import annotations

from typing import Any

from support.helpers import auth

MUG = {"title": "Mug", "price_minor": 1500, "category": "kitchen", "stock": 5}


async def _product(client: Any, token: str) -> int:
    resp = await client.post("/api/products", json=MUG, headers=auth(token))
    return int((await resp.json())["id"])


async def test_schedule_list_and_view(client: Any, make_user: Any) -> None:
    host_user, host = await make_user("host")
    mod_user, _ = await make_user()
    pid = await _product(client, host)
    resp = await client.post(
        "/api/sessions",
        headers=auth(host),
        json={
            "title": "Mugs live",
            "description": "d",
            "starts_at": "2030-01-01T10:00:00Z",
            "product_ids": [pid],
            "moderators": [mod_user["username"]],
        },
    )
    assert resp.status == 201, await resp.text()
    session = await resp.json()
    assert session["state"] == "scheduled"
    assert session["starts_at"] == "2030-01-01T10:00:00Z"
    assert [p["id"] for p in session["products"]] == [pid]
    assert [m["username"] for m in session["moderators"]] == [mod_user["username"]]
    assert session["host"]["username"] == host_user["username"]
    assert "stream_key" not in session
    upcoming = await (await client.get("/api/sessions?state=upcoming")).json()
    assert session["id"] in [s["id"] for s in upcoming["items"]]
    live = await (await client.get("/api/sessions?state=live")).json()
    assert session["id"] not in [s["id"] for s in live["items"]]
    assert (await client.get("/api/sessions?state=bogus")).status == 422


async def test_only_hosts_schedule_and_only_owner_edits(client: Any, make_user: Any) -> None:
    _, viewer = await make_user()
    _, host = await make_user("host")
    _, other = await make_user("host")
    resp = await client.post("/api/sessions", headers=auth(viewer), json={"title": "x"})
    assert resp.status == 403
    sid = (
        await (
            await client.post("/api/sessions", headers=auth(host), json={"title": "Mine"})
        ).json()
    )["id"]
    resp = await client.patch(f"/api/sessions/{sid}", headers=auth(other), json={"title": "y"})
    assert resp.status == 403
    foreign = await _product(client, other)
    resp = await client.put(
        f"/api/sessions/{sid}/products", headers=auth(host), json={"product_ids": [foreign]}
    )
    assert resp.status == 403  # cannot sell another merchant's product
    resp = await client.put(
        f"/api/sessions/{sid}/products", headers=auth(host), json={"product_ids": [999999]}
    )
    assert resp.status == 422
    resp = await client.put(
        f"/api/sessions/{sid}/moderators", headers=auth(host), json={"usernames": ["nobody-here"]}
    )
    assert resp.status == 422


async def test_stream_key_private_and_rotatable(client: Any, make_user: Any, services: Any) -> None:
    _, host = await make_user("host")
    _, viewer = await make_user()
    sid = (
        await (
            await client.post("/api/sessions", headers=auth(host), json={"title": "Keyed"})
        ).json()
    )["id"]
    assert (await client.get(f"/api/sessions/{sid}/stream-key", headers=auth(viewer))).status == 403
    assert (await client.get(f"/api/sessions/{sid}/stream-key")).status == 401
    first = await (await client.get(f"/api/sessions/{sid}/stream-key", headers=auth(host))).json()
    assert first["stream_key"].startswith("sk_") and first["whip_url"].endswith(f"/whip/{sid}")
    assert await services.sessions.check_stream_key(sid, first["stream_key"])
    rotated = await (
        await client.post(f"/api/sessions/{sid}/stream-key/rotate", headers=auth(host))
    ).json()
    assert rotated["stream_key"] != first["stream_key"]
    assert not await services.sessions.check_stream_key(sid, first["stream_key"])
    assert await services.sessions.check_stream_key(sid, rotated["stream_key"])


async def test_state_changes_and_events(client: Any, make_user: Any, services: Any) -> None:
    from live_server.platform.events import SessionStateChanged

    seen: list[SessionStateChanged] = []

    async def record(event: SessionStateChanged) -> None:
        seen.append(event)

    services.events.subscribe(SessionStateChanged, record)
    _, host = await make_user("host")
    sid = (
        await (
            await client.post("/api/sessions", headers=auth(host), json={"title": "Show"})
        ).json()
    )["id"]
    resp = await client.post(f"/api/sessions/{sid}/start", headers=auth(host))
    assert resp.status == 200 and (await resp.json())["state"] == "live"
    mt = await (await client.get(f"/api/sessions/{sid}/media-time")).json()
    assert mt["state"] == "live" and mt["media_time"] >= 0
    live = await (await client.get("/api/sessions?state=live")).json()
    assert sid in [s["id"] for s in live["items"]]
    resp = await client.post(f"/api/sessions/{sid}/end", headers=auth(host))
    assert (await resp.json())["state"] == "ended"
    resp = await client.post(f"/api/sessions/{sid}/start", headers=auth(host))
    assert resp.status == 409
    assert [(e.old, e.new) for e in seen] == [("scheduled", "live"), ("live", "ended")]
    replays = await (await client.get("/api/sessions?state=replays")).json()
    assert sid in [s["id"] for s in replays["items"]]


async def test_mine_lists_hosted_and_moderated(client: Any, make_user: Any) -> None:
    mod_user, mod = await make_user()
    _, host = await make_user("host")
    sid = (
        await (
            await client.post(
                "/api/sessions",
                headers=auth(host),
                json={"title": "Together", "moderators": [mod_user["username"]]},
            )
        ).json()
    )["id"]
    mine = await (await client.get("/api/sessions/mine", headers=auth(mod))).json()
    assert [s["id"] for s in mine["items"]] == [sid]
