"""The aiohttp internals the HTTP timeouts rely on: the canary passes on the pinned version
and names the internal when one changes."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import pytest
from aiohttp import web_protocol, web_server

from live_server.platform import http_server


def test_the_pinned_aiohttp_is_installed() -> None:
    assert importlib.metadata.version("aiohttp") == http_server.AIOHTTP_VERSION, (
        "aiohttp changed: re-check every internal in live_server/platform/http_server.py"
    )


def test_the_canary_passes_on_the_pinned_version() -> None:
    assert http_server.aiohttp_internals_problems() == []
    http_server.verify_aiohttp_internals()


def _refused(fragment: str) -> None:
    with pytest.raises(http_server.AiohttpInternalsChanged) as info:
        http_server.verify_aiohttp_internals()
    assert fragment in str(info.value), str(info.value)
    assert "aiohttp 3.14.5" in str(info.value)


def test_a_request_loop_that_no_longer_parks_on_its_waiter_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def start(self: Any) -> None:
        return None

    monkeypatch.setattr(web_protocol.RequestHandler, "start", start)
    _refused("RequestHandler.start no longer waits on _waiter")


def test_a_server_that_builds_its_protocol_otherwise_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def call(self: Any) -> Any:
        return None

    monkeypatch.setattr(web_server.Server, "__call__", call)
    _refused("web.Server() no longer builds RequestHandler(**_kwargs)")


def test_a_gone_private_attribute_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    slots = tuple(s for s in web_protocol.RequestHandler.__slots__ if s != "_lingering_time")
    monkeypatch.setattr(web_protocol.RequestHandler, "__slots__", slots)
    _refused("RequestHandler no longer has _lingering_time")


def test_another_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_server, "AIOHTTP_VERSION", "3.99.0")
    with pytest.raises(
        http_server.AiohttpInternalsChanged, match=r"aiohttp is 3\.14\.5, not 3\.99"
    ):
        http_server.verify_aiohttp_internals()


def test_the_timed_server_makes_timed_protocols() -> None:
    import asyncio

    loop = asyncio.new_event_loop()
    try:

        async def handler(request: Any) -> Any:
            return None

        server = http_server.TimedServer(handler, loop=loop, keepalive_timeout=5)
        server.timeouts = http_server.HttpTimeouts(header_s=3)
        protocol = server()
        assert isinstance(protocol, http_server.TimedRequestHandler)
        assert protocol.keepalive_timeout == 5
        assert protocol._timeouts.header_s == 3
    finally:
        loop.close()
