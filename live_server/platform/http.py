"""Small support.helpers every handler uses: the principal, JSON in and out, path ints."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from aiohttp import web

from live_server.platform.core import PLATFORM
from live_server.platform.errors import BadRequest, NotFound, TooLarge, Unauthorized
from live_server.platform.identity import Principal
from live_server.platform.json_input import JsonRefused, parse_json

PRINCIPAL_KEY: web.RequestKey[Principal] = web.RequestKey("principal", Principal)


def principal(request: web.Request) -> Principal | None:
    """The authenticated user, or None for an anonymous request."""
    return request.get(PRINCIPAL_KEY)


def require_user(request: web.Request) -> Principal:
    """The authenticated user, else 401."""
    who = principal(request)
    if who is None:
        raise Unauthorized("Please log in first.", code="login_required")
    return who


# One rule reads every request body, whatever it holds (JSON, SDP, webhooks, uploads):
# the declared Content-Length is judged before a byte is read, then the body is read to
# EOF (a single `content.read(n)` returns whatever happens to be buffered, not n bytes)
# and refused as soon as it passes the cap. Small bodies are kept in memory
# (`read_bytes`, `read_json`); uploads go to a temporary file (`read_upload`). A route
# makes its own cheap checks (who may send it, the declared type) before reading.
_CHUNK = 256 * 1024


def check_length(request: web.Request, limit: int, what: str = "request bodies") -> None:
    """413 when the declared Content-Length is over `limit`, before any of the body is read."""
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit, what)


def _too_large(limit: int, what: str) -> TooLarge:
    return TooLarge(f"{what} may be at most {_human(limit)}")


async def _body_chunks(request: web.Request, limit: int, what: str) -> AsyncIterator[bytes]:
    check_length(request, limit, what)
    size = 0
    try:
        while chunk := await request.content.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise _too_large(limit, what)
            yield chunk
    except (ValueError, ConnectionError) as exc:
        raise BadRequest("could not read the request body") from exc


async def read_bytes(request: web.Request, limit: int, what: str = "request bodies") -> bytes:
    """The whole raw body in memory, refused with 413 as soon as it passes `limit` bytes
    (for small bodies; see `read_upload` for large ones)."""
    return b"".join([chunk async for chunk in _body_chunks(request, limit, what)])


@dataclass(frozen=True)
class Upload:
    """A request body streamed to a temporary file under the data dir."""

    path: Path  # removed when the `read_upload` block ends, unless moved away inside it
    size: int
    head: bytes  # the first bytes, to tell the file type by its magic number


_HEAD_BYTES = 64
_WRITE_BATCH = 1024 * 1024


@contextlib.asynccontextmanager
async def read_upload(
    request: web.Request, limit: int, what: str = "uploads"
) -> AsyncIterator[Upload]:
    """Streams the body to a temporary file (never whole into memory), 413 past `limit`.

    The file is `<data_dir>/incoming/<random>.part`, on the same file system as the
    media dir so that a service can `os.replace` it into place; whatever is still there
    when the block ends is deleted.
    """
    check_length(request, limit, what)
    folder = request.app[PLATFORM].settings.data_dir / "incoming"
    path = folder / f"{secrets.token_hex(12)}.part"
    try:
        fh = await asyncio.to_thread(_create, path)
        size, head = 0, b""
        try:
            batch: list[bytes] = []
            batched = 0
            async for chunk in _body_chunks(request, limit, what):
                if len(head) < _HEAD_BYTES:
                    head = (head + chunk)[:_HEAD_BYTES]
                size += len(chunk)
                batch.append(chunk)
                batched += len(chunk)
                if batched >= _WRITE_BATCH:  # one thread hop per MiB, not per chunk
                    await asyncio.to_thread(fh.writelines, batch)
                    batch, batched = [], 0
            await asyncio.to_thread(fh.writelines, batch)
        finally:
            await asyncio.to_thread(fh.close)
        yield Upload(path, size, head)
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)


def _create(path: Path) -> IO[bytes]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, "wb")


def _human(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB" if size >= 1024 * 1024 else f"{size} bytes"


async def read_json(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object; 400 for anything else (nesting too deep included), 413
    beyond the size limit."""
    raw = await read_bytes(request, request.app[PLATFORM].settings.max_body_bytes)
    if not raw:
        return {}
    try:
        data = parse_json(raw)
    except JsonRefused as exc:
        raise BadRequest(str(exc), code="invalid_json") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object", code="invalid_json")
    return data


def header_text(request: web.Request, name: str) -> str | None:
    """A request header's value, None when absent; 400 when its bytes are not UTF-8.

    aiohttp keeps undecodable header bytes as lone surrogates, which fail later wherever
    the text is encoded again (SQLite, hashing, logging) with a 500; they are refused here.
    """
    value = request.headers.get(name)
    if value is None:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"the {name} header is not valid UTF-8", code="invalid_header") from None
    return value


def bearer_token(request: web.Request) -> str | None:
    """The token of `Authorization: Bearer <token>`, None without one; 401 when the header
    holds anything but printable ASCII (no token or stream key ever does)."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() != "bearer ":
        return None
    token = header[7:].strip()
    if not (token.isascii() and token.isprintable()):
        raise Unauthorized(
            "the Authorization header must be 'Bearer <token>' in printable ASCII",
            code="invalid_authorization",
        )
    return token or None


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(data, status=status, headers=headers)


_NAMES = {"session": "show", "sale": "flash sale"}


def _not_found(name: str) -> str:
    """ "We couldn't find that show." for `session_id`."""
    what = name.removesuffix("_id")
    return f"We couldn't find that {_NAMES.get(what, what.replace('_', ' '))}."


def path_int(request: web.Request, name: str) -> int:
    """An integer path parameter; 404 when it is not one (the resource cannot exist)."""
    try:
        value = int(request.match_info[name])
    except (KeyError, ValueError) as exc:
        raise NotFound(_not_found(name)) from exc
    if value < 1 or value > 2**62:
        raise NotFound(_not_found(name))
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
