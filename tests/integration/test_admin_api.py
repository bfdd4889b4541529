"""The admin screen's API: users and roles, disabling accounts, moderation reports."""

from __future__ import annotations

import time
from typing import Any

from live_server.cli import main as cli_main
from support.helpers import auth

SHOW = {"title": "Admin-made host's first show"}


async def test_only_admins_list_and_change_users(client: Any, make_user: Any) -> None:
    _, admin = await make_user("admin")
    viewer, viewer_token = await make_user(username="casey.viewer")
    _, host = await make_user("host")
    assert (await client.get("/api/admin/users")).status == 401
    for token in (viewer_token, host):
        resp = await client.get("/api/admin/users", headers=auth(token))
        assert resp.status == 403
        assert (await resp.json())["error"]["code"] == "admins_only"
        put = await client.put(
            f"/api/admin/users/{viewer['id']}/role", json={"role": "host"}, headers=auth(token)
        )
        assert put.status == 403
    resp = await client.get("/api/admin/users?q=CASEY", headers=auth(admin))
    assert resp.status == 200
    items = (await resp.json())["items"]
    assert [u["username"] for u in items] == ["casey.viewer"]
    assert items[0]["role"] == "viewer" and items[0]["disabled"] is False
    # LIKE wildcards in the query are plain characters
    assert (await (await client.get("/api/admin/users?q=%25", headers=auth(admin))).json())[
        "items"
    ] == []
    bad = await client.get("/api/admin/users?role=king", headers=auth(admin))
    assert bad.status == 422


async def test_admin_makes_a_viewer_a_host_who_then_schedules(client: Any, make_user: Any) -> None:
    admin_user, admin = await make_user("admin")
    viewer, token = await make_user(username="future.host", password="pw-future-1")
    refused = await client.post("/api/sessions", json=SHOW, headers=auth(token))
    assert refused.status == 403
    resp = await client.put(
        f"/api/admin/users/{viewer['id']}/role", json={"role": "host"}, headers=auth(admin)
    )
    assert resp.status == 200 and (await resp.json())["role"] == "host"
    # the old token carried the old role: it is revoked
    assert (await client.get("/api/me", headers=auth(token))).status == 401
    login = await client.post(
        "/api/auth/login", json={"username": "future.host", "password": "pw-future-1"}
    )
    fresh = (await login.json())["token"]
    created = await client.post("/api/sessions", json=SHOW, headers=auth(fresh))
    assert created.status == 201, await created.text()
    # an admin never changes their own role; a bad role is a sentence
    own = await client.put(
        f"/api/admin/users/{admin_user['id']}/role", json={"role": "viewer"}, headers=auth(admin)
    )
    assert own.status == 403 and (await own.json())["error"]["code"] == "own_account"
    bad = await client.put(
        f"/api/admin/users/{viewer['id']}/role", json={"role": "king"}, headers=auth(admin)
    )
    assert bad.status == 422 and "viewer, host or admin" in (await bad.json())["error"]["message"]
    missing = await client.put(
        "/api/admin/users/999999/role", json={"role": "host"}, headers=auth(admin)
    )
    assert missing.status == 404


async def test_disabled_account_is_refused_and_its_tokens_stop(client: Any, make_user: Any) -> None:
    admin_user, admin = await make_user("admin")
    user, token = await make_user(username="soon.disabled", password="pw-disabled-1")
    assert (await client.get("/api/me", headers=auth(token))).status == 200
    resp = await client.put(
        f"/api/admin/users/{user['id']}/disabled", json={"disabled": True}, headers=auth(admin)
    )
    body = await resp.json()
    assert resp.status == 200 and body["disabled"] is True and body["disabled_at"]
    assert (await client.get("/api/me", headers=auth(token))).status == 401
    creds = {"username": "soon.disabled", "password": "pw-disabled-1"}
    login = await client.post("/api/auth/login", json=creds)
    assert login.status == 403
    assert (await login.json())["error"]["code"] == "account_disabled"
    own_url = f"/api/admin/users/{admin_user['id']}/disabled"
    own = await client.put(own_url, json={"disabled": True}, headers=auth(admin))
    assert own.status == 403
    resp = await client.put(
        f"/api/admin/users/{user['id']}/disabled", json={"disabled": False}, headers=auth(admin)
    )
    assert (await resp.json())["disabled"] is False
    assert (await client.post("/api/auth/login", json=creds)).status == 200


async def test_moderation_reports_name_show_people_and_message(
    client: Any, make_user: Any, services: Any
) -> None:
    _, admin = await make_user("admin")
    host, host_token = await make_user("host", username="report.host")
    viewer, viewer_token = await make_user(username="rude.viewer")
    show = await (await client.post("/api/sessions", json=SHOW, headers=auth(host_token))).json()
    now = time.time()
    msg_id = await services.db.fetchval(
        "INSERT INTO chat_messages(session_id, user_id, text, created_at, deleted_at,"
        " deleted_by) VALUES (?, ?, 'buy my spam', ?, ?, ?) RETURNING id",
        (show["id"], viewer["id"], now, now, host["id"]),
    )
    for action, message in (("delete", msg_id), ("ban", None), ("pin", None)):
        await services.db.execute(
            "INSERT INTO moderation_log(session_id, actor_id, action, target_user_id,"
            " target_message_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (show["id"], host["id"], action, viewer["id"], message, now),
        )
    assert (await client.get("/api/admin/moderation", headers=auth(viewer_token))).status == 403
    resp = await client.get("/api/admin/moderation", headers=auth(admin))
    items = (await resp.json())["items"]
    assert [i["action"] for i in items] == ["ban", "delete"]  # pins are not chat reports
    deleted = items[1]
    assert deleted["message"] == "buy my spam"
    assert deleted["show"]["title"] == SHOW["title"]
    assert deleted["actor"]["username"] == "report.host"
    assert deleted["target"]["username"] == "rude.viewer"


async def test_first_admin_from_the_command_line(settings: Any, tmp_path: Any) -> None:
    from live_server import accounts
    from live_server.platform.core import build_platform
    from live_server.platform.identity import Role

    platform = build_platform(settings)
    users = accounts.build(platform)
    await platform.db.open()
    try:
        await users.service.ensure_user("first.admin", "pw-first-1", Role.VIEWER, "First")
    finally:
        await platform.db.close()
    args = ["--data-dir", str(settings.data_dir)]
    assert await _in_thread(cli_main, ["set-role", "first.admin", "admin", *args]) == 0
    assert await _in_thread(cli_main, ["set-role", "nobody.here", "admin", *args]) == 1
    await platform.db.open()
    try:
        user = await users.users.by_username("first.admin")
        assert user is not None and user.role is Role.ADMIN
    finally:
        await platform.db.close()


async def _in_thread(fn: Any, argv: list[str]) -> Any:
    import asyncio

    return await asyncio.to_thread(fn, argv)


async def test_chat_caught_by_blocked_words_is_flagged_for_admins(
    client: Any, make_user: Any
) -> None:
    from support.room import make_room

    _, admin = await make_user("admin")
    room = await make_room(client, make_user, str(client.make_url("/")).rstrip("/"))
    try:
        mod = await room.client(room.mod_token)
        viewer = await room.client(room.viewer_token)
        sid = room.session_id
        await mod.call("mod:blocked_words", {"session_id": sid, "words": ["scam"]})
        refused = await viewer.call("chat:send", {"session_id": sid, "text": "total SCAM here"})
        assert refused["error"]["code"] == "blocked_word"
        ok = await viewer.call("chat:send", {"session_id": sid, "text": "nice shirt"})
        assert ok["ok"]
        # a spammer's refusals are capped per hour
        for _ in range(25):
            await viewer.call("chat:send", {"session_id": sid, "text": "scam again"})
    finally:
        await room.close()
    assert (await client.get("/api/admin/flags", headers=auth(room.viewer_token))).status == 403
    items = (await (await client.get("/api/admin/flags?limit=200", headers=auth(admin))).json())[
        "items"
    ]
    assert len(items) == 20
    first = items[-1]
    assert first["message"] == "total SCAM here" and first["word"] == "scam"
    assert first["user"]["id"] == room.viewer["id"] and first["show"]["id"] == room.session_id
    assert all(i["message"] != "nice shirt" for i in items)
