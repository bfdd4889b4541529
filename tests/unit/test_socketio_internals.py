"""Every python-socketio / python-engineio internal the room relies on: the canary passes on
the pinned versions and fails loudly, naming the internal, when one changes."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import engineio
import pytest
import socketio
from engineio.async_drivers import aiohttp as eio_aiohttp
from engineio.async_socket import AsyncSocket

from signaling import process
from signaling import socketio_internals as internals


def test_the_pinned_versions_are_installed() -> None:
    for dist, expected in internals.WRITTEN_FOR.items():
        assert importlib.metadata.version(dist) == expected, (
            f"{dist} changed: re-check every internal in signaling/socketio_internals/"
        )


def test_the_canary_passes_on_the_pinned_versions() -> None:
    assert internals.socketio_internals_problems() == []
    internals.verify_socketio_internals()  # raises SocketIOInternalsChanged otherwise


def _refused(fragment: str) -> str:
    with pytest.raises(internals.SocketIOInternalsChanged) as info:
        internals.verify_socketio_internals()
    message = str(info.value)
    assert fragment in message, message
    assert isinstance(info.value, RuntimeError)
    return message


def test_a_missing_private_send_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(socketio.AsyncServer, "_send_eio_packet")
    message = _refused("AsyncServer._send_eio_packet is gone")
    assert "python-socketio 5.18.1" in message  # says what it was written for


def test_a_missing_engineio_socket_table_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    original = engineio.AsyncServer.__init__

    def without_sockets(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        del self.sockets

    monkeypatch.setattr(engineio.AsyncServer, "__init__", without_sockets)
    _refused("engineio AsyncServer.sockets is no longer a dict")


def test_a_changed_signature_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    async def emit(self: Any, event: str, data: Any, namespace: str, room: Any = None) -> None:
        return None

    monkeypatch.setattr(socketio.AsyncManager, "emit", emit)
    _refused("AsyncManager.emit takes (self, event, data, namespace, room), not")


def test_a_gone_websocket_hook_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(AsyncSocket, "_websocket_handler")
    monkeypatch.setitem(eio_aiohttp._async, "websocket", None)
    message = _refused("AsyncSocket._websocket_handler is gone")
    assert "_async['websocket'] is not the aiohttp WebSocket" in message


def test_another_version_is_refused_even_if_everything_looks_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(internals.WRITTEN_FOR, "python-engineio", "4.0.0")
    _refused("python-engineio is 4.15.1, not 4.0.0")


def test_a_check_that_cannot_run_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise TypeError("new required argument")

    monkeypatch.setattr(socketio.AsyncServer, "__init__", broken)
    _refused("check_server could not run: TypeError('new required argument')")


def test_the_canary_is_read_only() -> None:
    before = dict(eio_aiohttp._async)
    internals.verify_socketio_internals()
    assert eio_aiohttp._async == before  # nothing installed or patched by checking


def test_tune_gc_raises_the_young_threshold_once() -> None:
    import gc

    process.tune_gc()
    assert process.gc_tuned()
    threshold = gc.get_threshold()
    assert threshold[0] >= process.GC_THRESHOLD0
    process.tune_gc()  # idempotent: no second freeze
    assert gc.get_threshold() == threshold


async def test_counting_queue_counts_the_bytes_it_holds() -> None:
    from engineio import packet as eio_packet

    queue = internals.CountingQueue()
    await queue.put(eio_packet.Packet(eio_packet.MESSAGE, '2["chat:message","hello"]'))
    queue.put_nowait(eio_packet.Packet(eio_packet.MESSAGE, b"\x00" * 100))
    queue.put_nowait(None)  # the writer's stop signal
    assert queue.bytes == 25 + 100 + 8
    await queue.get()
    assert queue.bytes == 108
    queue.get_nowait()
    queue.get_nowait()
    assert queue.bytes == 0


def test_the_send_budget_makes_every_socket_queue_a_counting_one() -> None:
    sio = socketio.AsyncServer(async_mode="aiohttp", client_manager=internals.DirectAsyncManager())
    fast = internals.install_fast_broadcast(sio)
    budget = internals.install_send_budget(sio, 4096, fast)
    socket = AsyncSocket(sio.eio, "sid-1")
    assert isinstance(socket.queue, internals.CountingQueue)
    assert fast is not None and fast.max_buffered == 4096  # the fast path hands over sooner
    socket.queue.put_nowait(eio_packet_of(5000))
    assert budget.backlog("sid-1", socket) == 5000


def eio_packet_of(size: int) -> Any:
    from engineio import packet as eio_packet

    return eio_packet.Packet(eio_packet.MESSAGE, "x" * size)


def test_a_changed_socket_queue_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from engineio.base_socket import BaseSocket

    def init(self: Any, server: Any, sid: str) -> None:
        import asyncio

        self.queue = asyncio.Queue()  # no longer through server.create_queue()

    monkeypatch.setattr(BaseSocket, "__init__", init)
    _refused("engine.io sockets no longer make their queue with create_queue()")


def test_a_queue_that_no_longer_ends_in_put_nowait_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio

    async def put(self: Any, item: Any) -> None:
        self._queue.append(item)

    monkeypatch.setattr(asyncio.Queue, "put", put)
    _refused("asyncio.Queue.put no longer calls put_nowait")
