"""Admin REST: list and search users, change a user's role, disable or enable an account."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from live_server.accounts.admin import AccountRow, parse_role
from live_server.accounts.keys import ACCOUNT_ADMIN
from live_server.accounts.models import AccountOut, AccountPage, DisabledBody, RoleBody
from live_server.platform.http import json_response, path_int, principal, query_int
from live_server.platform.openapi import document, op, query_param
from live_server.platform.schemas import read_body
from live_server.platform.timefmt import iso


def account_json(row: AccountRow) -> dict[str, Any]:
    user = row.user
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role.value,
        "created_at": iso(user.created_at),
        "disabled": row.disabled_at is not None,
        "disabled_at": iso(row.disabled_at),
    }


async def list_users(request: web.Request) -> web.Response:
    rows = await request.app[ACCOUNT_ADMIN].search(
        principal(request),
        request.query.get("q", ""),
        request.query.get("role") or None,
        query_int(request, "limit", 50, 1, 200),
        query_int(request, "offset", 0, 0, 10**9),
    )
    return json_response({"items": [account_json(r) for r in rows]})


async def set_role(request: web.Request) -> web.Response:
    who = principal(request)
    user_id = path_int(request, "user_id")
    admin = request.app[ACCOUNT_ADMIN]
    body = await read_body(request, RoleBody)
    row = await admin.set_role(who, user_id, parse_role(body.role))
    return json_response(account_json(row))


async def set_disabled(request: web.Request) -> web.Response:
    who = principal(request)
    user_id = path_int(request, "user_id")
    body = await read_body(request, DisabledBody)
    row = await request.app[ACCOUNT_ADMIN].set_disabled(who, user_id, body.disabled)
    return json_response(account_json(row))


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/admin/users", list_users)
    r.add_put("/api/admin/users/{user_id}/role", set_role)
    r.add_put("/api/admin/users/{user_id}/disabled", set_disabled)
    document(
        app,
        {
            "/api/admin/users": {
                "GET": op(
                    "Users, newest first, searched by username or display name (admins)",
                    tag="admin",
                    auth=True,
                    params=[
                        query_param("q", "part of a username or display name"),
                        query_param(
                            "role", "only this role", schema={"enum": ["viewer", "host", "admin"]}
                        ),
                        query_param("limit", "1-200 (clamped)", "integer"),
                        query_param("offset", "paging offset", "integer"),
                    ],
                    response=AccountPage,
                    errors=(401, 403, 422),
                )
            },
            "/api/admin/users/{user_id}/role": {
                "PUT": op(
                    "Make a user a viewer, host or admin (admins; not their own account);"
                    " the user's tokens are revoked",
                    tag="admin",
                    auth=True,
                    body=RoleBody,
                    response=AccountOut,
                    errors=(401, 403, 404),
                )
            },
            "/api/admin/users/{user_id}/disabled": {
                "PUT": op(
                    "Disable an account (it cannot log in, its tokens stop working) or enable"
                    " it (admins; not their own account)",
                    tag="admin",
                    auth=True,
                    body=DisabledBody,
                    response=AccountOut,
                    errors=(401, 403, 404),
                )
            },
        },
    )
