"""Registration, log-in, throttling and interests through the HTTP API."""

from __future__ import annotations

from typing import Any

from support.helpers import auth

INTERESTS5 = ["fashion", "beauty", "home", "kitchen", "tech"]


async def test_register_requires_five_interests(client: Any) -> None:
    resp = await client.post(
        "/api/auth/register",
        json={"username": "ana", "password": "pw-1234", "interests": INTERESTS5[:4]},
    )
    assert resp.status == 422
    body = await resp.json()
    assert body["error"]["code"] == "not_enough_interests"
    assert "at least 5" in body["error"]["message"]
    resp = await client.post(
        "/api/auth/register",
        json={"username": "ana", "password": "pw-1234", "interests": INTERESTS5},
    )
    assert resp.status == 201
    body = await resp.json()
    assert body["user"]["interests"] == INTERESTS5 and body["token"]
    assert "password" not in str(body) and "pw-1234" not in str(body)


async def test_duplicate_username_is_409_case_insensitive(client: Any) -> None:
    payload = {"username": "Bob", "password": "pw-1234", "interests": INTERESTS5}
    assert (await client.post("/api/auth/register", json=payload)).status == 201
    resp = await client.post("/api/auth/register", json={**payload, "username": "bob"})
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "username_taken"


async def test_password_stored_hashed(client: Any, services: Any) -> None:
    await client.post(
        "/api/auth/register",
        json={"username": "cleo", "password": "super-secret-pw", "interests": INTERESTS5},
    )
    stored = await services.db.fetchval("SELECT password_hash FROM users WHERE username='cleo'")
    assert stored.startswith("scrypt$") and "super-secret-pw" not in stored


async def test_login_and_failures_are_throttled(client: Any, settings: Any) -> None:
    await client.post(
        "/api/auth/register",
        json={"username": "dora", "password": "right-pw", "interests": INTERESTS5},
    )
    ok = await client.post("/api/auth/login", json={"username": "dora", "password": "right-pw"})
    assert ok.status == 200
    token = (await ok.json())["token"]
    assert (await client.get("/api/me", headers=auth(token))).status == 200
    for _ in range(settings.login_max_failures):
        bad = await client.post("/api/auth/login", json={"username": "dora", "password": "nope"})
        assert bad.status == 401
        assert (await bad.json())["error"]["code"] == "bad_credentials"
    blocked = await client.post(
        "/api/auth/login", json={"username": "dora", "password": "right-pw"}
    )
    assert blocked.status == 429
    assert int(blocked.headers["Retry-After"]) > 0


async def test_unknown_user_and_bad_token(client: Any) -> None:
    resp = await client.post("/api/auth/login", json={"username": "ghost", "password": "x"})
    assert resp.status == 401
    resp = await client.get("/api/me", headers=auth("forged.token"))
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "login_required"


async def test_update_interests(client: Any, make_user: Any) -> None:
    _, token = await make_user()
    resp = await client.put("/api/me/interests", json={"interests": ["pets"]}, headers=auth(token))
    assert resp.status == 422
    new = ["pets", "toys", "books", "outdoors", "fitness"]
    resp = await client.put("/api/me/interests", json={"interests": new}, headers=auth(token))
    assert resp.status == 200 and (await resp.json())["interests"] == new
    listing = await (await client.get("/api/interests")).json()
    assert len(listing["interests"]) >= 10 and listing["min"] == 5
