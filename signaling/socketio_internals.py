"""Every python-socketio / python-engineio internal LiveShop relies on, in one place.

python-socketio 5.18 and python-engineio 4.15 have no public API for what follows, which
the live room needs; this module holds it all, and nothing else in the code base may touch
a private or undocumented attribute of either library:

1. A task-free room broadcast (`DirectAsyncManager`). python-socketio's manager wraps every
   recipient's send in an asyncio task; for a room of thousands that costs more than the
   send itself. Our manager subclass encodes the packet once (`server.packet_class`,
   `engineio.packet.Packet`), walks `get_participants` and calls the private
   `server._send_eio_packet` in a plain loop (a socket's send only queues the packet; its
   writer task does the I/O). `DirectAsyncRedisManager` slots it under the Redis pub/sub
   layer by MRO, so what a node receives from Redis is delivered the same way.
2. The WebSocket fast path (`FastBroadcast`). Every engine.io socket has a queue and a
   writer task; sending one packet to one socket costs a queue put, a writer wake-up
   (through `asyncio.wait_for`, which wraps the queue get in a task) and aiohttp's frame
   writer, about 30 us of Python per delivery before the syscall. A server-to-client
   WebSocket frame is not masked, so the same bytes serve every recipient: the frame is
   built once and written straight to each socket's transport. It only does so when that
   is indistinguishable from the normal path: the socket is an upgraded WebSocket, its
   engine.io queue is empty (nothing queued may be overtaken), and its transport is open
   and not backed up; otherwise the normal send runs, with aiohttp's flow control. The
   hook: engine.io creates each WebSocket through `server._async["websocket"]` (its aiohttp
   driver's `WebSocket` class, called with the socket's bound `_websocket_handler`); we wrap
   that class to remember each socket's transport (`environ["aiohttp.request"].transport`),
   and wrap the server's `send_packet` so a queued packet never overtakes held frames.
3. `is_connected`: whether a socket id is a connected client (the manager's own table);
   python-socketio routes a client *event* named "connect" or "disconnect" to those
   handlers, and the transport tells them apart with it. `handshake_request`: the aiohttp
   request behind a connect handler's WSGI-style `environ` (for the Authorization header).
4. `GuardedPacket`: the packet class the server decodes client packets with. Its payload
   JSON goes through the platform's one reader of client JSON (a nesting-depth limit: the
   stdlib parser raised RecursionError on ten thousand `[`, which the library only logged,
   leaving the client without an answer). A client event whose payload is refused becomes
   the event `REFUSED_EVENT` with the reason, so the transport answers its ack with an
   error. It relies on `Packet.decode` reading the payload last, through `self.json.loads`.
5. The send budget (`SendBudget`). engine.io queues every packet for a socket in an
   unbounded `asyncio.Queue` that its writer task drains; a client that stops reading
   blocks that writer in aiohttp's drain and everything broadcast afterwards piles up. The
   budget makes each socket's queue through `server.create_queue` (a public utility that
   `BaseSocket.__init__` calls) as a `CountingQueue`, wraps `server.send_packet` (where
   every normal-path packet goes) to refuse a socket whose backlog (queue, transport
   buffer, fast-path frames) passed the mark, and aborts that socket's transport (the
   table of `track_transports`, shared with the fast path) so engine.io closes it. The
   same table caps each room WebSocket's kernel send buffer (`WEBSOCKET_SEND_BUFFER`).

`verify_socketio_internals()` is the canary: it checks the versions this was written for
and the shape of every internal above, and raises `SocketIOInternalsChanged` naming what
changed. The server calls it at start-up; `tests/unit/test_socketio_internals.py` runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import inspect
import json
import logging
import socket
import time
import weakref
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

from live_server.platform.json_input import JsonRefused, parse_json

logger = logging.getLogger(__name__)

#: Above this many bytes waiting in a socket's transport, use the flow-controlled path.
MAX_BUFFERED = 256 * 1024

#: Write coalescing for big rooms. After a flush that took T seconds, frames broadcast
#: next wait WINDOW_FACTOR * T (at most MAX_WINDOW) so that several broadcasts leave in
#: one write per socket. A flush to a few hundred sockets takes well under a millisecond
#: and is not delayed at all; one to thousands (one send syscall each, the bulk of a big
#: room's CPU) is, by about its own duration, which bounds the loop's time in socket writes
#: to roughly 1 / (1 + WINDOW_FACTOR) while there is a backlog and keeps reads flowing.
WINDOW_FACTOR = 1.5
MAX_WINDOW = 0.05
#: Flushes shorter than this are followed by no wait.
MIN_TIMED_FLUSH = 0.002


def text_frame(payload: bytes) -> bytes:
    """One final, unmasked WebSocket text frame (server to client)."""
    n = len(payload)
    if n < 126:
        header = bytes((0x81, n))
    elif n < 65536:
        header = bytes((0x81, 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + n.to_bytes(8, "big")
    return header + payload


#: The kernel send buffer of a room WebSocket. Linux grows a socket's buffer up to 4 MB
#: (tcp_wmem), even for a peer whose receive window is shut: that much would wait in the
#: kernel for a client that stopped reading before the send budget saw a byte of it. Room
#: traffic is small messages; 128 KiB (the kernel doubles it) is plenty for any reader.
WEBSOCKET_SEND_BUFFER = 128 * 1024


def _cap_send_buffer(transport: asyncio.Transport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # not a TCP socket: nothing to cap
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, WEBSOCKET_SEND_BUFFER)


#: How long a WebSocket close may wait for the client's close frame before the connection is
#: aborted (a client that answers nothing would otherwise hold it for aiohttp's 10 s).
WEBSOCKET_CLOSE_GRACE_S = 1.0

#: The transports of each engine.io server's WebSocket sockets (see `track_transports`).
_TRANSPORTS: weakref.WeakKeyDictionary[Any, dict[str, asyncio.Transport]] = (
    weakref.WeakKeyDictionary()
)


def track_transports(eio_server: Any) -> dict[str, asyncio.Transport] | None:
    """The live `{engine.io sid: TCP transport}` of the server's WebSocket sockets.

    The first call wraps the server's WebSocket class (`server._async["websocket"]`) to
    record each socket's transport (`environ["aiohttp.request"].transport`) while its
    WebSocket runs; later calls return the same table. None when the hook is missing.
    """
    transports = _TRANSPORTS.get(eio_server)
    if transports is not None:
        return transports
    drivers = getattr(eio_server, "_async", None)
    if not isinstance(drivers, dict) or drivers.get("websocket") is None:
        return None
    base = drivers["websocket"]
    table: dict[str, asyncio.Transport] = {}

    class TrackedWebSocket(base):  # type: ignore[misc, valid-type]
        async def __call__(self, environ: dict[str, Any]) -> Any:
            owner = getattr(getattr(self, "handler", None), "__self__", None)
            sid = getattr(owner, "sid", None)
            request = environ.get("aiohttp.request")
            transport = getattr(request, "transport", None)
            self.tcp_transport = transport  # for close(): the request's own connection
            if sid is not None and transport is not None:
                table[sid] = transport
                _cap_send_buffer(transport)
            try:
                return await super().__call__(environ)
            finally:
                if sid is not None:
                    table.pop(sid, None)

        async def close(self) -> None:
            # A WebSocket close waits for the client's close frame (aiohttp: up to 10 s), and
            # a client that stopped reading never sends one: past a short grace the TCP
            # connection is aborted, so a dead client's socket goes with its heartbeat.
            try:
                await asyncio.wait_for(super().close(), WEBSOCKET_CLOSE_GRACE_S)
            except TimeoutError:
                transport = getattr(self, "tcp_transport", None)
                if transport is not None:
                    transport.abort()

    eio_server._async = {**drivers, "websocket": TrackedWebSocket}
    _TRANSPORTS[eio_server] = table
    return table


class FastBroadcast:
    """Remembers the transport of each WebSocket engine.io socket and writes frames to it."""

    def __init__(self) -> None:
        self.transports: dict[str, asyncio.Transport] = {}
        self.fast_sends = 0
        self.slow_sends = 0
        self.installed = False
        # Frames waiting for the end of this event-loop iteration, per transport: what is
        # broadcast in the same iteration (a chat message and a tick, or a burst under
        # load) leaves in one write, so one syscall, instead of one per frame.
        self._pending: dict[asyncio.Transport, bytes] = {}
        self._flush_scheduled = False
        self.window = 0.0  # the wait before the next flush, from the last one's duration
        self.flushes = 0
        #: a socket with this many bytes held or in its transport's buffer goes the normal way
        self.max_buffered = MAX_BUFFERED

    def held_bytes(self, eio_sid: str) -> int:
        """Bytes of frames waiting for this socket's next flush."""
        transport = self.transports.get(eio_sid)
        pending = self._pending.get(transport) if transport is not None else None
        return len(pending) if pending is not None else 0

    def install(self, eio_server: Any) -> bool:
        """Wraps the engine.io server's WebSocket class; False if the hook is not there."""
        transports = track_transports(eio_server)
        if transports is None:
            logger.warning("engine.io has no websocket driver hook; broadcast fast path off")
            return False
        registry = self
        send_packet = getattr(eio_server, "send_packet", None)
        if send_packet is None:
            logger.warning("engine.io has no send_packet; broadcast fast path off")
            return False

        async def send_packet_in_order(sid: str, pkt: Any) -> None:
            # A packet on the normal (queued) path must not overtake frames of this
            # socket that wait for the next flush: write those first.
            registry.flush_socket(sid)
            await send_packet(sid, pkt)

        self.transports = transports
        eio_server.send_packet = send_packet_in_order
        self.installed = True
        return True

    def try_send(self, eio_socket: Any, eio_sid: str, frame: bytes) -> bool:
        """Writes `frame` to the socket's transport if that is safe; True if it did."""
        transport = self.transports.get(eio_sid)
        if (
            transport is None
            or eio_socket is None
            or not eio_socket.upgraded
            or eio_socket.closed
            or not eio_socket.queue.empty()
            or transport.is_closing()
        ):
            self.slow_sends += 1
            return False
        # Bytes, not a list per socket: a list per socket and broadcast (thousands of
        # objects living until the flush) survives young garbage collections, fills the
        # old generation and triggered full collections of several hundred ms.
        pending = self._pending.get(transport)
        held = len(pending) if pending is not None else 0
        if held + transport.get_write_buffer_size() > self.max_buffered:
            # backed up: the normal path's flow control (and the send budget) take over
            self.slow_sends += 1
            return False
        self._pending[transport] = frame if pending is None else pending + frame
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop = asyncio.get_running_loop()
            if self.window > 0:
                loop.call_later(self.window, self._flush)
            else:
                loop.call_soon(self._flush)
        self.fast_sends += 1
        return True

    def flush_socket(self, eio_sid: str) -> None:
        """Writes the frames waiting for one socket now (before a normal-path packet)."""
        transport = self.transports.get(eio_sid)
        if transport is None:
            return
        frames = self._pending.pop(transport, None)
        if frames and not transport.is_closing():
            transport.write(frames)

    def _flush(self) -> None:
        started = time.perf_counter()
        pending, self._pending = self._pending, {}
        self._flush_scheduled = False
        for transport, frames in pending.items():
            if transport.is_closing():
                continue
            transport.write(frames)
        took = time.perf_counter() - started
        self.flushes += 1
        self.window = 0.0 if took < MIN_TIMED_FLUSH else min(MAX_WINDOW, WINDOW_FACTOR * took)


# -- 1. the task-free room broadcast ------------------------------------------------------
class DirectAsyncManager(socketio.AsyncManager):  # type: ignore[misc]
    """Sends a room broadcast to each local socket without one asyncio task per socket.

    Emits with a callback or several arguments keep the stock behaviour. With `fast` set
    (see `install_fast_broadcast`), WebSocket recipients get the prebuilt frame.
    """

    fast: FastBroadcast | None = None

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: str | None = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: str | None = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        if callback is not None or isinstance(data, tuple):
            await super().emit(event, data, namespace, room, skip_sid, callback, **kwargs)
            return
        if namespace not in self.rooms:
            return
        payload = [event] if data is None else [event, data]
        pkt = self.server.packet_class(sio_packet.EVENT, namespace=namespace, data=payload)
        encoded = pkt.encode()
        encoded = encoded if isinstance(encoded, list) else [encoded]
        eio_pkts = [eio_packet.Packet(eio_packet.MESSAGE, p) for p in encoded]
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        fast = self.fast
        frame = None
        if fast is not None and fast.installed and len(eio_pkts) == 1:
            encoded_eio = eio_pkts[0].encode()
            if isinstance(encoded_eio, str):
                frame = text_frame(encoded_eio.encode())
        sockets = self.server.eio.sockets
        for sid, eio_sid in list(self.get_participants(namespace, room)):
            if sid in skip:
                continue
            if (
                frame is not None
                and fast is not None
                and fast.try_send(sockets.get(eio_sid), eio_sid, frame)
            ):
                continue
            for p in eio_pkts:
                try:
                    await self.server._send_eio_packet(eio_sid, p)
                except Exception:  # a socket closing mid-broadcast
                    logger.debug("send to %s failed", sid, exc_info=True)


class DirectAsyncRedisManager(socketio.AsyncRedisManager, DirectAsyncManager):  # type: ignore[misc]
    """The Redis manager; what it delivers locally goes through the task-free broadcast
    (its MRO puts DirectAsyncManager between the pub/sub layer and AsyncManager)."""


def direct_manager(redis_url: str | None, channel: str) -> socketio.AsyncManager:
    """The client manager for a Socket.IO server: over Redis when a URL is given."""
    if redis_url:
        return DirectAsyncRedisManager(redis_url, channel=channel)
    return DirectAsyncManager()


def install_fast_broadcast(sio: socketio.AsyncServer) -> FastBroadcast | None:
    """Turns the WebSocket fast path on for a server built with a `direct_manager`.

    Returns the FastBroadcast (its counters show whether it engages), or None when the
    engine.io hook is missing (the normal path then serves everyone).
    """
    manager = sio.manager
    if not isinstance(manager, DirectAsyncManager):
        raise TypeError("the fast broadcast needs a DirectAsyncManager")
    fast = FastBroadcast()
    if not fast.install(sio.eio):
        return None
    manager.fast = fast
    return fast


# -- 5. the send budget ------------------------------------------------------------------
class CountingQueue(asyncio.Queue[Any]):
    """An engine.io socket's send queue that knows about how many bytes it holds.

    engine.io makes each socket's queue with `server.create_queue()` and uses it through
    `put` / `get` / `get_nowait`; asyncio's `put` and `get` end in `put_nowait` and
    `get_nowait`, so counting there counts every packet in and out.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bytes = 0

    def put_nowait(self, item: Any) -> None:
        """Queue a packet (None: the writer's stop signal) and count its size."""
        super().put_nowait(item)
        self.bytes += _packet_size(item)

    def get_nowait(self) -> Any:
        """Take the next packet and stop counting it."""
        item = super().get_nowait()
        self.bytes -= _packet_size(item)
        return item


def _packet_size(pkt: Any) -> int:
    data = getattr(pkt, "data", None)
    # a Socket.IO message is already encoded (str, or bytes for binary); pings, opens and
    # the None sentinel are a few bytes
    return len(data) if isinstance(data, str | bytes) else 8


class SendBudget:
    """A high-water mark on what waits to be sent to each socket.

    What waits for a socket that stops reading: its engine.io queue (unbounded in the
    library: its writer task blocks in aiohttp's drain and every later packet piles up), its
    TCP transport's write buffer, and the fast path's frames held for the next flush. Past
    `max_backlog_bytes` the socket is cut off: its transport is aborted (what the client
    never read is dropped; engine.io's own close and the room's disconnect handling
    follow), or, for a long-polling socket, engine.io closes it. Nothing more is queued
    for it meanwhile. Every normal-path send goes through `server.send_packet`, which this
    wraps; the fast path hands a backed-up socket to the normal path (`max_buffered`).
    """

    def __init__(self, max_backlog_bytes: int) -> None:
        self.max_backlog_bytes = max_backlog_bytes
        self.cut_offs = 0
        self._transports: dict[str, asyncio.Transport] = {}
        self._fast: FastBroadcast | None = None
        self._cut: weakref.WeakSet[Any] = weakref.WeakSet()
        self._tasks: set[asyncio.Task[Any]] = set()

    def install(self, eio_server: Any, fast: FastBroadcast | None = None) -> None:
        """Counts every socket's queue and checks the mark before each normal-path send."""
        transports = track_transports(eio_server)
        self._transports = transports if transports is not None else {}
        self._fast = fast
        if fast is not None:
            fast.max_buffered = min(fast.max_buffered, self.max_backlog_bytes)
        eio_server.create_queue = CountingQueue
        send_packet = eio_server.send_packet
        budget = self

        async def send_within_budget(sid: str, pkt: Any) -> None:
            eio_socket = eio_server.sockets.get(sid)
            if eio_socket is not None and budget.refuses(eio_server, sid, eio_socket):
                return
            await send_packet(sid, pkt)

        eio_server.send_packet = send_within_budget

    def backlog(self, eio_sid: str, eio_socket: Any) -> int:
        """Bytes waiting to be sent to one socket (queue, transport buffer, held frames)."""
        queue = getattr(eio_socket, "queue", None)
        waiting = queue.bytes if isinstance(queue, CountingQueue) else 0
        transport = self._transports.get(eio_sid)
        if transport is not None:
            waiting += transport.get_write_buffer_size()
        if self._fast is not None:
            waiting += self._fast.held_bytes(eio_sid)
        return waiting

    def refuses(self, eio_server: Any, eio_sid: str, eio_socket: Any) -> bool:
        """True when nothing more may be sent to the socket (cutting it off if it is new)."""
        if eio_socket in self._cut:
            return True
        backlog = self.backlog(eio_sid, eio_socket)
        if backlog <= self.max_backlog_bytes:
            return False
        self._cut.add(eio_socket)
        self.cut_offs += 1
        logger.warning(
            "socket %s stopped reading: %d bytes wait for it (the mark is %d); disconnected",
            eio_sid,
            backlog,
            self.max_backlog_bytes,
        )
        transport = self._transports.get(eio_sid)
        # what it never read goes now, not when engine.io lets go of the socket (its ping
        # task holds it for up to ping_interval): the writer is parked in a send and the
        # close below does not wait for the queue
        queue = eio_socket.queue
        while not queue.empty():
            queue.get_nowait()
            queue.task_done()
        if transport is not None:
            transport.abort()
        else:
            task = asyncio.ensure_future(
                eio_socket.close(wait=False, abort=True, reason=eio_server.reason.SERVER_DISCONNECT)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return True


def install_send_budget(
    sio: socketio.AsyncServer, max_backlog_bytes: int, fast: FastBroadcast | None = None
) -> SendBudget:
    """Bounds what may wait to be sent to each socket of `sio` (see `SendBudget`).

    Install it after `install_fast_broadcast` and pass what that returned.
    """
    budget = SendBudget(max_backlog_bytes)
    budget.install(sio.eio, fast)
    return budget


# -- 3. connected sockets and their requests ----------------------------------------------
def is_connected(sio: socketio.AsyncServer, sid: str, namespace: str = "/") -> bool:
    """True while `sid` is a connected client of `namespace` on this node."""
    return bool(sio.manager.is_connected(sid, namespace))


def handshake_request(environ: dict[str, Any]) -> aiohttp.web.BaseRequest | None:
    """The aiohttp request of a connect handler's `environ` (engine.io's aiohttp driver
    keeps it under "aiohttp.request"), or None."""
    request = environ.get("aiohttp.request")
    return request if isinstance(request, aiohttp.web.BaseRequest) else None


# -- the canary ---------------------------------------------------------------------------
#: What a client event whose payload was refused arrives as (with the reason).
REFUSED_EVENT = "\x00refused"


class _ClientJson:
    """The `json` a packet class uses: client payloads are decoded by the platform's
    reader of client JSON (limited depth), encoding is the stdlib's."""

    dumps = staticmethod(json.dumps)

    @staticmethod
    def loads(text: str | bytes, **_: Any) -> Any:
        return parse_json(text, what="the message")


class GuardedPacket(socketio.packet.Packet):  # type: ignore[misc]
    """A Socket.IO packet whose client payload is decoded with a depth limit."""

    json = _ClientJson

    def decode(self, encoded_packet: Any) -> Any:
        """Decodes as the library does; an event whose payload is refused keeps its type,
        namespace and ack id (all read before the payload) and becomes `REFUSED_EVENT`."""
        try:
            return super().decode(encoded_packet)
        except JsonRefused as exc:
            if getattr(self, "packet_type", None) not in (
                sio_packet.EVENT,
                sio_packet.BINARY_EVENT,
            ):
                raise
            self.packet_type = sio_packet.EVENT
            self.data = [REFUSED_EVENT, str(exc)]
            return 0


#: The releases this module was written for and checked against (read the code again
#: before changing these: every internal above is named in `verify_socketio_internals`).
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
            "python-socketio/python-engineio internals changed (signaling/socketio_internals.py"
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
