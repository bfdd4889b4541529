"""Small support.helpers every handler uses: the principal, JSON in and out, path ints."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from live_server.platform.core import PLATFORM
from live_server.platform.errors import BadRequest, NotFound, TooLarge, Unauthorized
from live_server.platform.identity import Principal

PRINCIPAL_KEY: web.RequestKey[Principal] = web.RequestKey("principal", Principal)


def principal(request: web.Request) -> Principal | None:
    """The authenticated user, or None for an anonymous request."""
    return request.get(PRINCIPAL_KEY)


def require_user(request: web.Request) -> Principal:
    """The authenticated user, else 401."""
    who = principal(request)
    if who is None:
        raise Unauthorized("log in first (Authorization: Bearer <token>)", code="login_required")
    return who


async def read_bytes(request: web.Request, limit: int) -> bytes:
    """The whole raw body, refused with 413 as soon as it passes `limit` bytes.

    `StreamReader.read(n)` returns whatever is buffered (up to n), not n bytes, so the
    body is read chunk by chunk until EOF; nothing past the limit is ever buffered.
    """
    too_large = TooLarge(f"request bodies may be at most {_human(limit)}")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := await request.content.read(256 * 1024):
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    except (ValueError, ConnectionError) as exc:
        raise BadRequest("could not read the request body") from exc
    return b"".join(chunks)


def _human(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB" if size >= 1024 * 1024 else f"{size} bytes"


async def read_json(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object; 400 for anything else, 413 beyond the size limit."""
    raw = await read_bytes(request, request.app[PLATFORM].settings.max_body_bytes)
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest("the body is not valid JSON", code="invalid_json") from exc
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object", code="invalid_json")
    return data


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(data, status=status, headers=headers)


def path_int(request: web.Request, name: str) -> int:
    """An integer path parameter; 404 when it is not one (the resource cannot exist)."""
    try:
        value = int(request.match_info[name])
    except (KeyError, ValueError) as exc:
        raise NotFound(f"no such {name.removesuffix('_id')}") from exc
    if value < 1 or value > 2**62:
        raise NotFound(f"no such {name.removesuffix('_id')}")
    return value


def query_int(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise BadRequest(f"{name} must be an integer") from exc
    return max(lo, min(hi, value))
