"""The task-free room broadcast and the WebSocket fast path (parts 1 and 2 of
`signaling.socketio_internals`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
import weakref
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

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
