"""Middlewares: JSON errors (never a stack trace), bearer-token authentication, logging."""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Awaitable, Callable

from aiohttp import web

from live_server.platform.core import PLATFORM, TOKEN_VERIFIER
from live_server.platform.errors import DomainError, TooManyRequests, Unavailable
from live_server.platform.http import PRINCIPAL_KEY, bearer_token

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("liveshop.access")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, dict[str, str]]:
    """`{"error": {code, message}}`, with `field` when the error is about one input."""
    error = {"code": code, "message": message}
    if field:
        error["field"] = field
    return {"error": error}


def error_response(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    field: str | None = None,
) -> web.Response:
    return web.json_response(error_body(code, message, field), status=status, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Maps domain errors and aiohttp's HTTP errors to `{"error": {code, message}}`."""
    try:
        allow = _exact_allow(request)
        if allow is not None and request.method not in allow.split(","):
            raise web.HTTPMethodNotAllowed(request.method, allow.split(","))
        return await handler(request)
    except DomainError as exc:
        headers = {}
        if isinstance(exc, TooManyRequests | Unavailable):
            headers["Retry-After"] = str(exc.retry_after)
        return error_response(exc.status, exc.code, exc.message, headers, exc.field)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _STATUS_CODES.get(exc.status, "http_error")
        message = (
            exc.reason if exc.text is None or exc.text.startswith(str(exc.status)) else exc.text
        )
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
        if exc.status == 405 and (allow := _exact_allow(request)) is not None:
            headers["Allow"] = allow
        return error_response(exc.status, code, message, headers)
    except Exception:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal", "something went wrong on our side")


_PLAIN_METHODS: weakref.WeakKeyDictionary[web.Application, dict[str, frozenset[str]]] = (
    weakref.WeakKeyDictionary()
)


def _exact_allow(request: web.Request) -> str | None:
    """The methods of the route whose path is exactly the request's, if there is one.

    A literal path wins over a parameter: aiohttp's 405 listed the methods of every route
    whose pattern matches (`/api/sessions/mine` advertised PATCH, from
    `/api/sessions/{session_id}`), and `GET /api/posts/media` ran the post reader with
    the id "media" (404) instead of answering that the path has no GET.
    """
    app = request.app
    plain = _PLAIN_METHODS.get(app)
    if plain is None:
        plain = {}
        for resource in app.router.resources():
            path = resource.get_info().get("path")
            if isinstance(path, str):
                plain[path] = frozenset(route.method for route in resource)
        if app.frozen:  # routes can no longer change: keep the table
            _PLAIN_METHODS[app] = plain
    methods = plain.get(request.path)
    if methods is None or "*" in methods:  # no such literal path, or one that takes any method
        return None
    return ",".join(sorted(methods))


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Sets request["principal"] from a valid `Authorization: Bearer` token (401 for a
    header that is not printable ASCII; an unknown or expired token stays anonymous)."""
    token = bearer_token(request)
    if token is not None:
        principal = await request.app[TOKEN_VERIFIER](token)
        if principal is not None:
            request[PRINCIPAL_KEY] = principal
    return await handler(request)


@web.middleware
async def access_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One structured line per request: method, path, status, duration, user."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        principal = request.get(PRINCIPAL_KEY)
        elapsed = time.perf_counter() - started
        http = request.app[PLATFORM].http
        status_class = f"{status // 100}xx"
        http.requests.labels(method=request.method, status=status_class).inc()
        http.duration.labels(method=request.method, status=status_class).observe(elapsed)
        access_logger.info(
            "%s %s %d %.1fms user=%s",
            request.method,
            request.path,
            status,
            elapsed * 1000,
            getattr(principal, "user_id", "-"),
        )
