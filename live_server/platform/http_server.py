"""The HTTP server: aiohttp's runner, with a lifetime for every connection.

aiohttp 3.14 closes a connection that has no request for `keepalive_timeout` (counted from
the connection's start and from the end of each response), but it has no header or body
read timeout: a client that sends a request head, or a body, one byte at a time keeps its
connection, its parser buffers and (for a body) a running handler for as long as it likes.
`run` serves the app with three deadlines, all settings:

- **idle** (`http_idle_timeout_s`): aiohttp's own keep-alive timeout: a connection with no
  request under way is closed that long after it opened or its last response ended.
- **header** (`http_header_timeout_s`): a request head must be complete that long after
  its first byte (for a new connection: after it opened). Past it the client gets
  `408 {"error": {"code": "header_timeout", ...}}` (nothing, if it sent nothing) and the
  connection is closed.
- **body** (`http_body_timeout_s`, `http_body_min_rate`): a body may take that long plus
  one second per `http_body_min_rate` bytes received (Apache mod_reqtimeout's rule: a
  legitimate slow upload keeps extending its deadline, a drip-fed one does not). Past it
  the handler's read fails with `RequestTimeout`, which answers 408 `body_timeout`, and
  the connection is closed after that answer. This covers every reader of a body (the
  platform's `read_bytes`, WHIP/WHEP offers, engine.io's polling POSTs) in one place.

aiohttp has no public hook for the per-connection part, so `TimedRequestHandler` (its
protocol, subclassed) reads a few of `RequestHandler`'s private attributes: `_waiter` (the
future its request loop parks on while no request head is complete), `_messages` (parsed
requests with their payloads), `_request_count`, `_request_in_progress`, `_close` and
`_lingering_time`; `TimedServer` builds the protocol from `Server._loop` / `Server._kwargs`
and `TimedAppRunner` overrides `AppRunner._make_server`. `verify_aiohttp_internals()` is
the canary (the release this was written for, and the shape of each of those); the entry
point calls it at start-up and `tests/unit/test_http_server_internals.py` runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import inspect
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import streams, web, web_protocol, web_runner, web_server

from live_server.platform.errors import RequestTimeout

logger = logging.getLogger(__name__)

AIOHTTP_VERSION = "3.14.5"


@dataclass(frozen=True)
class HttpTimeouts:
    """The deadlines of every HTTP connection (see the module docstring)."""

    header_s: float = 10.0
    body_s: float = 20.0
    body_min_rate: int = 16 * 1024  # bytes per second that extend the body deadline by 1 s
    idle_s: float = 30.0


def _timeout_response(code: str, message: str) -> bytes:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class TimedRequestHandler(web_protocol.RequestHandler):
    """aiohttp's HTTP/1.1 protocol with a deadline on each request head and body."""

    def __init__(self, manager: web_server.Server, timeouts: HttpTimeouts, **kwargs: Any):
        super().__init__(manager, **kwargs)
        self._timeouts = timeouts
        self._head_deadline: asyncio.TimerHandle | None = None
        self._head_bytes = False  # a byte of the awaited head has arrived
        # one at most: a body must be complete before the next head can be parsed
        self._body_deadline: asyncio.TimerHandle | None = None

    # -- the head ------------------------------------------------------------------------

    def _waiting_for_head(self) -> bool:
        # start() parks on _waiter exactly while no complete request is queued or handled
        waiter = self._waiter
        return waiter is not None and not waiter.done()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Start the first head's deadline with the connection."""
        super().connection_made(transport)
        self._arm_head_deadline()

    def _arm_head_deadline(self) -> None:
        self._head_deadline = self._loop.call_later(
            self._timeouts.header_s, self._head_deadline_passed
        )

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None
        self._head_bytes = False

    def _head_deadline_passed(self) -> None:
        self._head_deadline = None
        if not self._waiting_for_head() and (self._messages or self._request_in_progress):
            return  # a request is being handled (or about to be): its head is complete
        transport = self.transport
        if transport is None or self._close or self._force_close:
            return
        if self._head_bytes:
            logger.info(
                "%s: request head not complete after %.0fs: 408",
                self.peername,
                self._timeouts.header_s,
            )
            transport.write(
                _timeout_response(
                    "header_timeout",
                    f"the request headers did not arrive within {self._timeouts.header_s:g} s",
                )
            )
        self.force_close()  # close() flushes what was written first

    def data_received(self, data: bytes) -> None:
        """Parse as aiohttp does; arm a head's deadline at its first byte, disarm it once the
        head is complete, and give each body that follows a deadline of its own."""
        waiting = self._waiting_for_head()
        heads = self._request_count
        super().data_received(data)
        parsed = self._request_count - heads
        if parsed:
            self._disarm_head_deadline()
            for _message, payload in list(self._messages)[-parsed:]:
                if not payload.is_eof():
                    self._arm_body_deadline(payload, self._loop.time())
        elif data and (waiting or self._head_deadline is not None):
            self._head_bytes = True
            if self._head_deadline is None:
                self._arm_head_deadline()

    # -- the body ------------------------------------------------------------------------

    def _body_allowance(self, payload: streams.StreamReader, started: float) -> float:
        t = self._timeouts
        return started + t.body_s + payload.total_bytes / max(1, t.body_min_rate)

    def _arm_body_deadline(self, payload: streams.StreamReader, started: float) -> None:
        if self._body_deadline is not None:
            self._body_deadline.cancel()
        self._body_deadline = self._loop.call_at(
            self._body_allowance(payload, started),
            self._body_deadline_passed,
            payload,
            started,
        )

    def _body_deadline_passed(self, payload: streams.StreamReader, started: float) -> None:
        self._body_deadline = None
        if payload.is_eof() or self.transport is None or self._force_close:
            return
        allowed = self._body_allowance(payload, started)
        if self._loop.time() < allowed:  # bytes kept arriving: the deadline moved on
            self._arm_body_deadline(payload, started)
            return
        if not self._request_in_progress:
            return  # answered already: aiohttp's lingering read (10 s at most) ends it
        logger.info(
            "%s: request body incomplete after %.0fs (%d bytes): 408",
            self.peername,
            self._loop.time() - started,
            payload.total_bytes,
        )
        # the handler's read fails and answers 408; nothing more is read, no lingering
        # read waits for the rest, and the connection closes after that answer
        self._lingering_time = 0.0
        self.close()
        payload.set_exception(
            RequestTimeout(
                f"the request body did not arrive in time (at least"
                f" {self._timeouts.body_min_rate} bytes a second after the first"
                f" {self._timeouts.body_s:g} s)",
                code="body_timeout",
            )
        )

    def connection_lost(self, exc: BaseException | None) -> None:
        """Drop the deadlines with the connection."""
        self._disarm_head_deadline()
        if self._body_deadline is not None:
            self._body_deadline.cancel()
            self._body_deadline = None
        super().connection_lost(exc)


class TimedServer(web_server.Server):
    """aiohttp's low-level server, making `TimedRequestHandler` protocols."""

    timeouts = HttpTimeouts()

    def __call__(self) -> web_protocol.RequestHandler:
        """A protocol for one new connection."""
        return TimedRequestHandler(self, self.timeouts, loop=self._loop, **self._kwargs)


class TimedAppRunner(web.AppRunner):
    """`web.AppRunner` whose server makes `TimedRequestHandler` protocols."""

    def __init__(self, app: web.Application, timeouts: HttpTimeouts, **kwargs: Any) -> None:
        super().__init__(app, keepalive_timeout=timeouts.idle_s, **kwargs)
        self._timeouts = timeouts

    async def _make_server(self) -> web_server.Server:
        plain = await super()._make_server()  # starts the app, as AppRunner does
        server = TimedServer(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=plain._loop,
            **plain._kwargs,
        )
        server.timeouts = self._timeouts
        return server


def run(
    app: web.Application,
    timeouts: HttpTimeouts,
    *,
    host: str | None = None,
    port: int | None = None,
    sock: Any = None,
    on_listening: Callable[[], None] | None = None,
    shutdown_timeout: float = 10.0,
) -> None:
    """Serve `app` until SIGINT/SIGTERM, like `web.run_app`, with `timeouts` on every
    connection. `on_listening` is called once the socket accepts connections."""
    loop = asyncio.new_event_loop()
    main = loop.create_task(_serve(app, timeouts, host, port, sock, on_listening, shutdown_timeout))
    try:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        try:
            if not main.done():
                main.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    loop.run_until_complete(main)
        finally:
            _cancel_remaining(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


async def _serve(
    app: web.Application,
    timeouts: HttpTimeouts,
    host: str | None,
    port: int | None,
    sock: Any,
    on_listening: Callable[[], None] | None,
    shutdown_timeout: float,
) -> None:
    runner = TimedAppRunner(
        app, timeouts, handle_signals=True, access_log=None, shutdown_timeout=shutdown_timeout
    )
    await runner.setup()
    try:
        site: web.BaseSite
        site = web.SockSite(runner, sock) if sock is not None else web.TCPSite(runner, host, port)
        await site.start()
        if on_listening is not None:
            on_listening()
        while True:
            await asyncio.sleep(3600)
    finally:
        await runner.cleanup()


def _cancel_remaining(loop: asyncio.AbstractEventLoop) -> None:
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


# -- the canary ---------------------------------------------------------------------------
class AiohttpInternalsChanged(RuntimeError):
    """An aiohttp internal the HTTP timeouts rely on is gone or changed."""


def verify_aiohttp_internals() -> None:
    """Raises AiohttpInternalsChanged unless every internal this module uses is as expected."""
    problems = aiohttp_internals_problems()
    if problems:
        raise AiohttpInternalsChanged(
            "aiohttp internals changed (live_server/platform/http_server.py was written for"
            f" aiohttp {AIOHTTP_VERSION}): " + "; ".join(problems)
        )


def _names(func: Any) -> set[str]:
    code = getattr(func, "__code__", None)
    return set(code.co_names) if code is not None else set()


def aiohttp_internals_problems() -> list[str]:
    """What `verify_aiohttp_internals` would complain about (empty when all is well)."""
    problems: list[str] = []
    installed = importlib.metadata.version("aiohttp")
    if installed != AIOHTTP_VERSION:
        problems.append(f"aiohttp is {installed}, not {AIOHTTP_VERSION}")
    handler = web_protocol.RequestHandler
    slots = {name for cls in handler.__mro__ for name in getattr(cls, "__slots__", ())}
    wanted = {
        "_waiter",
        "_messages",
        "_request_count",
        "_request_in_progress",
        "_close",
        "_force_close",
        "_lingering_time",
        "_loop",
        "transport",
    }
    missing = sorted(wanted - slots)
    if missing:
        problems.append(f"RequestHandler no longer has {', '.join(missing)}")
    # the request loop parks on _waiter while no head is complete, and lingers by
    # _lingering_time; the keep-alive close tells "idle" the same way
    if not {"_waiter", "_messages", "_lingering_time"} <= _names(handler.start):
        problems.append("RequestHandler.start no longer waits on _waiter or reads _lingering_time")
    if "_waiter" not in _names(handler._process_keepalive):
        problems.append("RequestHandler._process_keepalive no longer checks _waiter")
    # data_received counts and queues each parsed request with its payload
    if not {"_request_count", "_messages", "_close"} <= _names(handler.data_received):
        problems.append("RequestHandler.data_received no longer queues requests in _messages")
    if "_request_in_progress" not in _names(handler._handle_request):
        problems.append("RequestHandler._handle_request no longer sets _request_in_progress")
    params = list(inspect.signature(handler.__init__).parameters)
    for name in ("manager", "loop", "keepalive_timeout", "lingering_time"):
        if name not in params:
            problems.append(f"RequestHandler() no longer takes {name}")
    if not {"_loop", "_kwargs"} <= _names(web_server.Server.__init__):
        problems.append("web.Server no longer keeps _loop and _kwargs")
    if not {"RequestHandler", "_kwargs", "_loop"} <= _names(web_server.Server.__call__):
        problems.append("web.Server() no longer builds RequestHandler(**_kwargs)")
    make_server = inspect.getattr_static(web_runner.AppRunner, "_make_server", None)
    if make_server is None or not inspect.iscoroutinefunction(make_server):
        problems.append("web.AppRunner._make_server is gone or no longer a coroutine")
    if "_make_server" not in _names(web_runner.BaseRunner.setup):
        problems.append("BaseRunner.setup no longer calls _make_server")
    for name in ("request_handler", "request_factory", "handler_cancellation"):
        if name not in _names(web_server.Server.__init__):
            problems.append(f"web.Server no longer has {name}")
    reader = streams.StreamReader
    if "total_bytes" not in getattr(reader, "__slots__", ()) and "total_bytes" not in _names(
        reader.__init__
    ):
        problems.append("StreamReader.total_bytes is gone")
    for name in ("is_eof", "set_exception"):
        if not callable(getattr(reader, name, None)):
            problems.append(f"StreamReader.{name} is gone")
    return problems
