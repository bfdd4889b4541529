"""The canary: the versions this package was written for and the shape of every internal
it uses (`verify_socketio_internals`)."""

from __future__ import annotations

import asyncio
import importlib.metadata
import inspect
import logging
from collections.abc import Callable
from typing import Any

import aiohttp.web
import engineio
import socketio
from engineio import packet as eio_packet
from engineio.async_drivers import aiohttp as eio_aiohttp
from engineio.async_socket import AsyncSocket
from engineio.base_socket import BaseSocket
from socketio import packet as sio_packet
from socketio.async_pubsub_manager import AsyncPubSubManager

from signaling.socketio_internals.broadcast import DirectAsyncManager, DirectAsyncRedisManager
from signaling.socketio_internals.sockets import REFUSED_EVENT, GuardedPacket

logger = logging.getLogger(__name__)

WRITTEN_FOR = {"python-socketio": "5.18.1", "python-engineio": "4.15.1"}


class SocketIOInternalsChanged(RuntimeError):
    """A python-socketio / python-engineio internal LiveShop relies on is gone or changed."""


def verify_socketio_internals() -> None:
    """Raises SocketIOInternalsChanged unless every internal this module uses is as expected.

    Checks the installed versions against WRITTEN_FOR, then the shape of each internal
    (attributes, method signatures, what the library's own code calls) and the packet
    encodings the broadcast builds by hand. The message lists every problem found.
    """
    problems = socketio_internals_problems()
    if problems:
        raise SocketIOInternalsChanged(
            "python-socketio/python-engineio internals changed (signaling/socketio_internals/"
            f" was written for {_written_for()}): " + "; ".join(problems)
        )


def socketio_internals_problems() -> list[str]:
    """What `verify_socketio_internals` would complain about (empty when all is well)."""
    problems: list[str] = []
    for dist, expected in WRITTEN_FOR.items():
        try:
            installed = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != expected:
            problems.append(f"{dist} is {installed}, not {expected}")
    for check in _CHECKS:
        try:
            problems += check()
        except Exception as exc:  # a check that cannot even run is a change too
            problems.append(f"{check.__name__[1:]} could not run: {exc!r}")
    return problems


def _written_for() -> str:
    return ", ".join(f"{dist} {version}" for dist, version in WRITTEN_FOR.items())


def _params(func: Any) -> list[str]:
    return list(inspect.signature(func).parameters)


def _method(owner: Any, name: str, params: list[str], coroutine: bool) -> list[str]:
    """Problems with `owner.name`: missing, not a coroutine function, other parameters."""
    label = f"{getattr(owner, '__qualname__', owner)}.{name}"
    func = inspect.getattr_static(owner, name, None)
    if func is None or not callable(func):
        return [f"{label} is gone"]
    if coroutine != inspect.iscoroutinefunction(func):
        return [f"{label} is {'no longer' if coroutine else 'now'} a coroutine function"]
    found = _params(func)
    if found != params:
        return [f"{label} takes ({', '.join(found)}), not ({', '.join(params)})"]
    return []


def _names_used(func: Any) -> set[str]:
    code = getattr(func, "__code__", None)
    return set(code.co_names) if code is not None else set()


def _check_manager() -> list[str]:
    problems = _method(
        socketio.AsyncManager,
        "emit",
        ["self", "event", "data", "namespace", "room", "skip_sid", "callback", "to", "kwargs"],
        coroutine=True,
    )
    problems += _method(
        socketio.AsyncManager, "get_participants", ["self", "namespace", "room"], False
    )
    problems += _method(socketio.AsyncManager, "is_connected", ["self", "sid", "namespace"], False)
    if not isinstance(getattr(socketio.AsyncManager(), "rooms", None), dict):
        problems.append("AsyncManager().rooms is no longer a dict")
    # DirectAsyncRedisManager relies on the pub/sub layer reaching local delivery through
    # super().emit, with DirectAsyncManager next in the MRO.
    if AsyncPubSubManager.__bases__ != (socketio.AsyncManager,):
        problems.append("AsyncPubSubManager no longer derives from AsyncManager alone")
    if socketio.AsyncRedisManager.__bases__ != (AsyncPubSubManager,):
        problems.append("AsyncRedisManager no longer derives from AsyncPubSubManager alone")
    mro = DirectAsyncRedisManager.__mro__
    if mro.index(DirectAsyncManager) != mro.index(AsyncPubSubManager) + 1:
        problems.append("DirectAsyncManager is not right below the pub/sub layer in the MRO")
    if not {"super", "emit"} <= _names_used(getattr(AsyncPubSubManager, "_handle_emit", None)):
        problems.append("AsyncPubSubManager._handle_emit no longer delivers through super().emit")
    return problems


def _check_server() -> list[str]:
    problems = _method(
        socketio.AsyncServer, "_send_eio_packet", ["self", "eio_sid", "eio_pkt"], True
    )
    if "send_packet" not in _names_used(getattr(socketio.AsyncServer, "_send_eio_packet", None)):
        problems.append("AsyncServer._send_eio_packet no longer calls eio.send_packet")
    problems += _method(engineio.AsyncServer, "send_packet", ["self", "sid", "pkt"], True)
    # Acks and other normal-path packets go through eio.send -> self.send_packet, the
    # instance attribute FastBroadcast wraps to keep them behind held frames.
    if "send_packet" not in _names_used(getattr(engineio.AsyncServer, "send", None)):
        problems.append("engineio AsyncServer.send no longer calls send_packet")
    sio = socketio.AsyncServer(async_mode="aiohttp", client_manager=DirectAsyncManager())
    if sio.manager is None or not isinstance(sio.manager, DirectAsyncManager):
        problems.append("AsyncServer.manager is not the client_manager it was given")
    if not callable(getattr(sio, "packet_class", None)):
        problems.append("AsyncServer.packet_class is gone")
    eio = getattr(sio, "eio", None)
    if not isinstance(eio, engineio.AsyncServer):
        return [*problems, "AsyncServer.eio is no longer an engineio.AsyncServer"]
    if not isinstance(getattr(eio, "sockets", None), dict):
        problems.append("engineio AsyncServer.sockets is no longer a dict")
    drivers = getattr(eio, "_async", None)
    if not isinstance(drivers, dict) or drivers.get("websocket") is not eio_aiohttp.WebSocket:
        problems.append("engineio AsyncServer._async['websocket'] is not the aiohttp WebSocket")
    return problems


def _check_packets() -> list[str]:
    # The broadcast encodes packets itself; the bytes must be what the library would send.
    problems: list[str] = []
    pkt = socketio.packet.Packet(sio_packet.EVENT, namespace="/", data=["chat:message", {"a": 1}])
    encoded = pkt.encode()
    if encoded != '2["chat:message",{"a":1}]':
        problems.append(f"a Socket.IO EVENT packet encodes as {encoded!r}")
    wrapped = eio_packet.Packet(eio_packet.MESSAGE, '2["x"]').encode()
    if wrapped != '42["x"]':
        problems.append(f"an Engine.IO MESSAGE packet encodes as {wrapped!r}")
    # GuardedPacket: the payload is decoded last, through `self.json.loads`.
    deep = GuardedPacket(encoded_packet="2/room,7" + "[" * 100 + "]" * 100)
    if (deep.packet_type, deep.namespace, deep.id) != (sio_packet.EVENT, "/room", 7) or (
        not isinstance(deep.data, list) or deep.data[:1] != [REFUSED_EVENT]
    ):
        problems.append("a too-deep event no longer decodes as REFUSED_EVENT with its ack id")
    plain = GuardedPacket(encoded_packet='21["chat:send",{"a":[1]}]')
    if (plain.id, plain.data) != (1, ["chat:send", {"a": [1]}]):
        problems.append(f"GuardedPacket decodes a plain event as {plain.data!r}")
    return problems


def _check_websocket_hook() -> list[str]:
    problems: list[str] = []
    # engine.io makes each WebSocket as server._async["websocket"](socket._websocket_handler,
    # server); TrackedWebSocket reads handler.__self__.sid and environ["aiohttp.request"].
    upgrade = getattr(AsyncSocket, "_upgrade_websocket", None)
    if not {"_async", "_websocket_handler"} <= _names_used(upgrade):
        problems.append("AsyncSocket._upgrade_websocket no longer uses server._async['websocket']")
    problems += _method(AsyncSocket, "_websocket_handler", ["self", "ws"], True)
    problems += _method(eio_aiohttp.WebSocket, "__init__", ["self", "handler", "server"], False)
    problems += _method(eio_aiohttp.WebSocket, "__call__", ["self", "environ"], True)
    if "handler" not in _names_used(eio_aiohttp.WebSocket.__init__):
        problems.append("the aiohttp WebSocket no longer keeps its handler")
    translate = getattr(eio_aiohttp, "translate_request", None)
    code = getattr(translate, "__code__", None)
    if code is None or "aiohttp.request" not in code.co_consts:
        problems.append("the aiohttp driver no longer puts environ['aiohttp.request']")
    if not isinstance(inspect.getattr_static(aiohttp.web.BaseRequest, "transport", None), property):
        problems.append("aiohttp's Request.transport is gone")
    # FastBroadcast.try_send reads these socket attributes, set in BaseSocket.__init__.
    missing = {"sid", "queue", "upgraded", "closed"} - _names_used(BaseSocket.__init__)
    if missing:
        problems.append(f"engine.io sockets no longer set {', '.join(sorted(missing))}")
    return problems


def _check_send_budget() -> list[str]:
    problems: list[str] = []
    # each socket's queue comes from server.create_queue(), used through put/get/get_nowait
    if "create_queue" not in _names_used(BaseSocket.__init__):
        problems.append("engine.io sockets no longer make their queue with create_queue()")
    problems += _method(engineio.AsyncServer, "create_queue", ["self", "args", "kwargs"], False)
    if not {"put"} <= _names_used(AsyncSocket.send):
        problems.append("AsyncSocket.send no longer queues with queue.put")
    if not {"get", "get_nowait"} <= _names_used(AsyncSocket.poll):
        problems.append("AsyncSocket.poll no longer takes packets with get / get_nowait")
    # CountingQueue counts in put_nowait / get_nowait: asyncio's put and get must end there
    if "put_nowait" not in _names_used(asyncio.Queue.put):
        problems.append("asyncio.Queue.put no longer calls put_nowait")
    if "get_nowait" not in _names_used(asyncio.Queue.get):
        problems.append("asyncio.Queue.get no longer calls get_nowait")
    problems += _method(AsyncSocket, "close", ["self", "wait", "abort", "reason"], True)
    if not isinstance(getattr(engineio.AsyncServer.reason, "SERVER_DISCONNECT", None), str):
        problems.append("engineio AsyncServer.reason.SERVER_DISCONNECT is gone")
    return problems


_CHECKS: tuple[Callable[[], list[str]], ...] = (
    _check_manager,
    _check_server,
    _check_packets,
    _check_websocket_hook,
    _check_send_budget,
)
