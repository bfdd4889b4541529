"""A faster room broadcast for python-engineio over aiohttp WebSockets.

Every engine.io socket has a queue and a writer task; sending one packet to one socket
costs a queue put, a writer wake-up (through `asyncio.wait_for`, which wraps the queue get
in a task) and aiohttp's frame writer, about 30 us of Python per delivery before the
syscall. For a room of thousands that is most of the server's CPU. A server-to-client
WebSocket frame is not masked, so the same bytes serve every recipient: this module builds
the frame once and writes it straight to each socket's transport.

It only does so when that is indistinguishable from the normal path: the socket is an
upgraded WebSocket, its engine.io queue is empty (nothing queued may be overtaken), and its
transport is open and not backed up. Otherwise the caller falls back to the normal send,
which also applies aiohttp's flow control to slow clients.

The hook: python-engineio creates each WebSocket through `server._async["websocket"]`
(its aiohttp driver's `WebSocket` class, called with the socket's bound handler). We wrap
that class to remember each socket's transport. Everything that touches engine.io or
aiohttp internals is in this module; `tests/integration/test_room_fastpath.py` fails loudly if an
upgrade changes them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

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

    def install(self, eio_server: Any) -> bool:
        """Wraps the engine.io server's WebSocket class; False if the hook is not there."""
        drivers = getattr(eio_server, "_async", None)
        if not isinstance(drivers, dict) or drivers.get("websocket") is None:
            logger.warning("engine.io has no websocket driver hook; broadcast fast path off")
            return False
        base = drivers["websocket"]
        registry = self

        class TrackedWebSocket(base):  # type: ignore[misc, valid-type]
            async def __call__(self, environ: dict[str, Any]) -> Any:
                owner = getattr(getattr(self, "handler", None), "__self__", None)
                sid = getattr(owner, "sid", None)
                request = environ.get("aiohttp.request")
                transport = getattr(request, "transport", None)
                if sid is not None and transport is not None:
                    registry.transports[sid] = transport
                try:
                    return await super().__call__(environ)
                finally:
                    if sid is not None:
                        registry.transports.pop(sid, None)

        send_packet = getattr(eio_server, "send_packet", None)
        if send_packet is None:
            logger.warning("engine.io has no send_packet; broadcast fast path off")
            return False

        async def send_packet_in_order(sid: str, pkt: Any) -> None:
            # A packet on the normal (queued) path must not overtake frames of this
            # socket that wait for the next flush: write those first.
            registry.flush_socket(sid)
            await send_packet(sid, pkt)

        eio_server._async = {**drivers, "websocket": TrackedWebSocket}
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
            or transport.get_write_buffer_size() > MAX_BUFFERED
        ):
            self.slow_sends += 1
            return False
        # Bytes, not a list per socket: a list per socket and broadcast (thousands of
        # objects living until the flush) survives young garbage collections, fills the
        # old generation and triggered full collections of several hundred ms.
        pending = self._pending.get(transport)
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
