"""Accounts: register, log in, the current user and their interests."""

from __future__ import annotations

from aiohttp import web

from live_server.accounts.keys import ACCOUNTS
from live_server.accounts.models import (
    Credentials,
    InterestsBody,
    InterestsOut,
    Login,
    MeOut,
    PasswordChange,
    Registration,
)
from live_server.accounts.rules import INTERESTS, MIN_INTERESTS
from live_server.accounts.serializers import user_json
from live_server.accounts.service import LoginResult
from live_server.platform.addresses import client_address
from live_server.platform.http import json_response, require_user
from live_server.platform.openapi import document, op
from live_server.platform.schemas import read_body
from live_server.platform.timefmt import iso


def _login_json(result: LoginResult) -> dict[str, object]:
    return {
        "user": user_json(result.user, private=True),
        "token": result.token,
        "expires_at": iso(result.expires_at),
    }


async def register(request: web.Request) -> web.Response:
    body = await read_body(request, Registration)
    result = await request.app[ACCOUNTS].register(
        body.username,
        body.password,
        body.display_name,
        body.interests,
        client=client_address(request),
    )
    return json_response(_login_json(result), status=201)


async def login(request: web.Request) -> web.Response:
    body = await read_body(request, Credentials)
    result = await request.app[ACCOUNTS].login(
        body.username, body.password, client_address(request)
    )
    return json_response(_login_json(result))


async def logout(request: web.Request) -> web.Response:
    who = require_user(request)
    await request.app[ACCOUNTS].log_out(who.user_id)
    return web.Response(status=204)


async def change_password(request: web.Request) -> web.Response:
    who = require_user(request)
    body = await read_body(request, PasswordChange)
    result = await request.app[ACCOUNTS].change_password(
        who.user_id,
        body.current_password,
        body.new_password,
        client_address(request),
    )
    return json_response(_login_json(result))


async def me(request: web.Request) -> web.Response:
    who = require_user(request)
    user = await request.app[ACCOUNTS].get_user(who.user_id)
    return json_response(user_json(user, private=True))


async def set_interests(request: web.Request) -> web.Response:
    who = require_user(request)
    body = await read_body(request, InterestsBody)
    user = await request.app[ACCOUNTS].set_interests(who.user_id, body.interests)
    return json_response(user_json(user, private=True))


async def interests(request: web.Request) -> web.Response:
    return json_response({"interests": list(INTERESTS), "min": MIN_INTERESTS})


def setup(app: web.Application) -> None:
    app.router.add_post("/api/auth/register", register)
    app.router.add_post("/api/auth/login", login)
    app.router.add_post("/api/auth/logout", logout)
    app.router.add_put("/api/me/password", change_password)
    app.router.add_get("/api/me", me)
    app.router.add_put("/api/me/interests", set_interests)
    app.router.add_get("/api/interests", interests)
    document(
        app,
        {
            "/api/auth/register": {
                "POST": op(
                    "Create an account (interests: at least 5) and log in",
                    tag="accounts",
                    body=Registration,
                    ok=201,
                    response=Login,
                    errors=(409, 429),
                )
            },
            "/api/auth/login": {
                "POST": op(
                    "Log in; returns a signed bearer token",
                    tag="accounts",
                    body=Credentials,
                    response=Login,
                    errors=(401, 429),
                )
            },
            "/api/auth/logout": {
                "POST": op(
                    "Log out everywhere: every token of the current user stops working",
                    tag="accounts",
                    auth=True,
                    ok=204,
                    errors=(401,),
                )
            },
            "/api/me": {"GET": op("The current user", tag="accounts", auth=True, response=MeOut)},
            "/api/me/password": {
                "PUT": op(
                    "Change the password; revokes every other token and returns a fresh one",
                    tag="accounts",
                    auth=True,
                    body=PasswordChange,
                    response=Login,
                    errors=(403, 429),
                )
            },
            "/api/me/interests": {
                "PUT": op(
                    "Replace the current user's interests (at least 5)",
                    tag="accounts",
                    auth=True,
                    body=InterestsBody,
                    response=MeOut,
                )
            },
            "/api/interests": {
                "GET": op(
                    "The categories users pick interests from",
                    tag="accounts",
                    response=InterestsOut,
                )
            },
        },
    )
