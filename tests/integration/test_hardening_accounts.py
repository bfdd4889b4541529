"""Issue 12 (hardening), the accounts findings: one regression test per finding."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import stat
import uuid
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp import web
from aiohttp.test_utils import TestClient

from live_server.app import create_app
from live_server.platform.identity import Role
from live_server.settings import Settings
from support.helpers import auth, start_server_process, wait_for
from support.room import RoomClient
from support.services import Services

INTERESTS5 = ["fashion", "beauty", "home", "kitchen", "tech"]
PROXY = "127.0.0.1"  # the test client's address: the reverse proxy in these tests


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings.load(
        {"data_dir": tmp_path / "var", "secret": "test-secret", **overrides}, env={}
    )


async def _client(aiohttp_client: Any, settings: Settings) -> TestClient[Any, Any]:
    app: web.Application = create_app(settings)
    c: TestClient[Any, Any] = await aiohttp_client(app)
    return c


async def _register(client: TestClient[Any, Any], name: str, password: str = "right-pw-1") -> Any:
    resp = await client.post(
        "/api/auth/register",
        json={"username": name, "password": password, "interests": INTERESTS5},
    )
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def _login(
    client: TestClient[Any, Any], name: str, password: str, via: str | None = None
) -> Any:
    headers = {"X-Forwarded-For": via} if via else {}
    return await client.post(
        "/api/auth/login", json={"username": name, "password": password}, headers=headers
    )


# -- finding 8: the log-in throttle slows guessing but never locks anyone out -------------
async def test_finding_08_wrong_passwords_never_lock_the_owner_out(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    # Five wrong passwords locked the account for 300 s, the right password included.
    settings = _settings(tmp_path, login_backoff_base_s=3.0)
    client = await _client(aiohttp_client, settings)
    await _register(client, "owner8")
    for _ in range(settings.login_max_failures):
        bad = await _login(client, "owner8", "a-guess")
        assert bad.status == 401
    guess = await _login(client, "owner8", "another-guess")
    assert guess.status == 429  # guessing is slowed down ...
    assert (await guess.json())["error"]["code"] == "login_throttled"
    assert 1 <= int(guess.headers["Retry-After"]) <= 3
    answers: list[int] = []

    async def owner_gets_in() -> bool:
        resp = await _login(client, "owner8", "right-pw-1")
        answers.append(resp.status)
        return resp.status == 200

    # ... but the right password passes as soon as the wait is over (3 s here)
    await wait_for(owner_gets_in, timeout=15, interval=0.25, message="the owner's log-in")
    assert set(answers) <= {429, 200}
    # and the success forgave the failures: a typo now is a plain 401, not a wait
    assert (await _login(client, "owner8", "typo")).status == 401
    assert (await _login(client, "owner8", "right-pw-1")).status == 200


async def test_finding_08_a_success_clears_the_address_count(
    client: TestClient[Any, Any], settings: Settings
) -> None:
    # Everyone behind one address (an office, a proxy): the address's count of failures
    # was never cleared by a success, so a few people's typos locked them all out.
    people = [f"staff8{i}" for i in range(4)]
    for name in people:
        await _register(client, name)
    for name in people:
        for _ in range(settings.login_max_failures - 1):
            assert (await _login(client, name, "typo")).status == 401
        ok = await _login(client, name, "right-pw-1")
        assert ok.status == 200, await ok.text()


async def test_finding_08_trusted_proxy_forwarded_for_names_the_client(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    # Behind a proxy every log-in came from the proxy's address: one guesser locked out
    # everyone. With the proxy trusted, X-Forwarded-For's right-most untrusted hop counts.
    # a long first wait, so that "slowed down" cannot depend on the machine's speed
    settings = _settings(tmp_path, trusted_proxies=(PROXY, "10.0.0.0/8"), login_backoff_base_s=60)
    client = await _client(aiohttp_client, settings)
    await _register(client, "victim8")
    await _register(client, "bystander8")
    attacker = "203.0.113.9"
    for n in range(settings.login_max_failures + 3):
        # the attacker forges hops of their own; the proxies append the real ones
        resp = await _login(
            client, f"nobody{n}", "guess", via=f"198.51.100.7, {attacker}, 10.1.2.3"
        )
        assert resp.status in (401, 429)
    blocked = await _login(client, "someone-else", "guess", via=attacker)
    assert blocked.status == 429  # the guessing address is slowed down ...
    ok = await _login(client, "bystander8", "right-pw-1", via="198.51.100.7")
    assert ok.status == 200, await ok.text()  # ... nobody else is
    # a forged header from an untrusted peer is ignored: the peer address is the client
    direct = _settings(tmp_path / "direct", login_backoff_base_s=60)
    other = await _client(aiohttp_client, direct)
    for n in range(direct.login_max_failures):
        assert (await _login(other, f"nobody{n}", "guess", via=f"192.0.2.{n}")).status == 401
    spoofed = await _login(other, "nobody-else", "guess", via="192.0.2.200")
    assert spoofed.status == 429


# -- finding 12: concurrent sign-ups never answer 409 for a new name ----------------------
@pytest.mark.slow
async def test_finding_12_concurrent_signups_never_answer_taken_for_a_new_name(
    tmp_path: Path,
) -> None:
    # The account row was committed on the writer and read back through the shared reader,
    # whose snapshot an open statement of another request could still hold: 2 in 200 with
    # 12 in flight answered 409 username_taken for an account they had just created. With
    # the reads of other users alongside, the code before 1db0df9 fails 6-9 in 200 here.
    signups, in_flight = 200, 12
    server = start_server_process(
        tmp_path / "var", demo=False, env={"LIVESHOP_SIGNUP_BURST": str(signups + 1)}
    )
    try:
        gate = asyncio.Semaphore(in_flight)
        tag = uuid.uuid4().hex[:6]
        timeout = aiohttp.ClientTimeout(total=120)

        async with aiohttp.ClientSession(server.url, timeout=timeout) as http:

            async def sign_up(i: int) -> tuple[int, str, dict[str, Any]]:
                name = f"su{tag}{i}"
                async with gate:
                    resp = await http.post(
                        "/api/auth/register",
                        json={"username": name, "password": "pw-secret-1", "interests": INTERESTS5},
                    )
                    return resp.status, name, await resp.json()

            # Others browse meanwhile: their reads share the reader connection with the
            # sign-ups' read-backs, as they do on a real server.
            first = await sign_up(signups)
            assert first[0] == 201, first
            viewer = {"Authorization": "Bearer " + str(first[2]["token"])}
            done = asyncio.Event()

            async def browse() -> int:
                reads = 0
                while not done.is_set():
                    async with http.get("/api/me", headers=viewer) as resp:
                        assert resp.status == 200, await resp.text()
                    reads += 1
                return reads

            browsers = [asyncio.create_task(browse()) for _ in range(4)]
            try:
                answers = await asyncio.gather(*(sign_up(i) for i in range(signups)))
            finally:
                done.set()
                reads = await asyncio.gather(*browsers)
            assert sum(reads) > 0
        wrong = [(name, status, body) for status, name, body in answers if status != 201]
        assert not wrong, f"{len(wrong)} of {signups} sign-ups failed: {wrong[:3]}"
        returned = [body["user"]["username"] for _, _, body in answers]
        assert sorted(returned) == sorted(name for _, name, _ in answers)
        ids = {body["user"]["id"] for _, _, body in answers}
        assert len(ids) == signups
    finally:
        server.stop()
    with sqlite3.connect(tmp_path / "var" / "liveshop.db") as conn:
        names = [row[0] for row in conn.execute("SELECT username FROM users")]
    assert len(names) == len(set(n.lower() for n in names)) == signups + 1


def test_finding_08_a_bad_trusted_proxy_entry_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=re.escape("'10.0.0.0/33' is not an IP address")):
        create_app(_settings(tmp_path, trusted_proxies=("127.0.0.1", "10.0.0.0/33")))


# -- finding 19: log-out and revocation, a sign-up throttle, private files -----------------
async def _me(client: TestClient[Any, Any], token: str) -> int:
    resp = await client.get("/api/me", headers=auth(token))
    return resp.status


async def test_finding_19_log_out_revokes_every_token_of_the_user(
    client: TestClient[Any, Any],
) -> None:
    # There was no log-out: a token worked for its 7 days whatever happened.
    phone = (await _register(client, "leaver19"))["token"]
    laptop = (await (await _login(client, "leaver19", "right-pw-1")).json())["token"]
    assert await _me(client, phone) == 200 and await _me(client, laptop) == 200
    resp = await client.post("/api/auth/logout", headers=auth(phone))
    assert resp.status == 204
    assert await _me(client, phone) == 401  # at once on this node ...
    assert await _me(client, laptop) == 401  # ... and on every device
    again = await client.post("/api/auth/logout", headers=auth(phone))
    assert again.status == 401
    assert (await again.json())["error"]["code"] == "login_required"
    fresh = (await (await _login(client, "leaver19", "right-pw-1")).json())["token"]
    assert await _me(client, fresh) == 200


async def test_finding_19_role_change_and_disabling_revoke_at_once(
    client: TestClient[Any, Any], services: Services
) -> None:
    # Tokens carry the role: a demoted host kept hosting for up to 7 days.
    body = await _register(client, "demoted19")
    user_id, token = body["user"]["id"], body["token"]
    accounts = services.accounts
    await accounts.set_role(user_id, Role.HOST)
    assert await _me(client, token) == 401
    host = await (await _login(client, "demoted19", "right-pw-1")).json()
    assert host["user"]["role"] == "host" and await _me(client, host["token"]) == 200
    await accounts.set_disabled(user_id, True)
    assert await _me(client, host["token"]) == 401
    refused = await _login(client, "demoted19", "right-pw-1")
    assert refused.status == 403
    assert (await refused.json())["error"]["code"] == "account_disabled"
    await accounts.set_disabled(user_id, False)
    assert (await _login(client, "demoted19", "right-pw-1")).status == 200


async def test_finding_19_a_role_changed_in_the_database_revokes_within_the_cache_time(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    # An operator's UPDATE in the sqlite3 shell (or another node's change) is seen once this
    # node's cached version is token_cache_s old: the database trigger raised the version.
    settings = _settings(tmp_path, token_cache_s=0.5)
    client = await _client(aiohttp_client, settings)
    body = await _register(client, "shell19")
    assert await _me(client, body["token"]) == 200
    with sqlite3.connect(settings.db_path) as conn:
        conn.execute("UPDATE users SET role = 'admin' WHERE id = ?", (body["user"]["id"],))
    await wait_for(
        lambda: _is(_me(client, body["token"]), 401), timeout=10, message="the old token refused"
    )
    # a node that did not revoke it learns it the same way: a second app on the database
    other = await _client(aiohttp_client, settings)
    fresh = (await (await _login(other, "shell19", "right-pw-1")).json())["token"]
    assert await _me(client, fresh) == 200  # a newer token is read again at once
    assert (await other.post("/api/auth/logout", headers=auth(fresh))).status == 204
    assert await _me(other, fresh) == 401
    await wait_for(lambda: _is(_me(client, fresh), 401), timeout=10, message="the other node")


async def _is(status: Awaitable[int], expected: int) -> bool:
    return await status == expected


async def test_finding_19_changing_the_password_revokes_the_other_tokens(
    client: TestClient[Any, Any],
) -> None:
    old = (await _register(client, "mover19"))["token"]
    other = (await (await _login(client, "mover19", "right-pw-1")).json())["token"]
    wrong = await client.put(
        "/api/me/password",
        json={"current_password": "not-it", "new_password": "new-pw-22"},
        headers=auth(old),
    )
    assert wrong.status == 403 and (await wrong.json())["error"]["code"] == "wrong_password"
    resp = await client.put(
        "/api/me/password",
        json={"current_password": "right-pw-1", "new_password": "new-pw-22"},
        headers=auth(old),
    )
    assert resp.status == 200, await resp.text()
    fresh = (await resp.json())["token"]
    assert await _me(client, old) == 401 and await _me(client, other) == 401
    assert await _me(client, fresh) == 200
    assert (await _login(client, "mover19", "right-pw-1")).status == 401
    assert (await _login(client, "mover19", "new-pw-22")).status == 200


async def test_finding_19_revoked_tokens_leave_the_live_room(
    client: TestClient[Any, Any],
) -> None:
    body = await _register(client, "watcher19")
    token = body["token"]
    base_url = str(client.make_url("/")).rstrip("/")
    socket = await RoomClient(base_url, token).connect()
    try:
        assert (await client.post("/api/auth/logout", headers=auth(token))).status == 204
        await asyncio.wait_for(socket.disconnected.wait(), timeout=10)
    finally:
        await socket.close()
    stale = RoomClient(base_url, token)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await stale.connect()
    await stale.close()


async def test_finding_19_signups_are_throttled_per_client_address(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    # 12-18 sign-ups per second from one address, each a scrypt hash, nothing in the way.
    settings = _settings(tmp_path, signup_burst=3, signup_per_hour=60, trusted_proxies=(PROXY,))
    client = await _client(aiohttp_client, settings)

    async def sign_up(name: str, via: str) -> Any:
        return await client.post(
            "/api/auth/register",
            json={"username": name, "password": "right-pw-1", "interests": INTERESTS5},
            headers={"X-Forwarded-For": via},
        )

    for n in range(3):
        assert (await sign_up(f"flood19{n}", "203.0.113.5")).status == 201
    refused = await sign_up("flood19x", "203.0.113.5")
    assert refused.status == 429
    assert (await refused.json())["error"]["code"] == "signup_throttled"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60  # one more per minute
    assert (await sign_up("elsewhere19", "198.51.100.8")).status == 201  # other addresses


@pytest.mark.slow
def test_finding_19_data_dir_database_and_secret_are_private(tmp_path: Path) -> None:
    # The database was created 0644 (password hashes, orders) in a 0755 data dir.
    made = tmp_path / "made" / "var"
    create_app(Settings.load({"data_dir": made}, env={}))
    assert _mode(made) == 0o700  # the server creates its data dir private
    assert _mode(made / "secret.key") == 0o600
    fresh = tmp_path / "fresh" / "var"  # (start_server_process makes this one itself)
    server = start_server_process(fresh, demo=False)
    try:
        for name in ("liveshop.db", "liveshop.db-wal", "liveshop.db-shm", "secret.key"):
            assert _mode(fresh / name) == 0o600, name
    finally:
        server.stop()
    assert _mode(fresh / "liveshop.db") == 0o600
    # files an older version left readable are tightened at the next start
    for name in ("liveshop.db", "secret.key"):
        os.chmod(fresh / name, 0o644)
    server = start_server_process(fresh, demo=False)
    try:
        for name in ("liveshop.db", "liveshop.db-wal", "liveshop.db-shm", "secret.key"):
            assert _mode(fresh / name) == 0o600, name
    finally:
        server.stop()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)
