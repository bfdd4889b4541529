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
from typing import Any

logger = logging.getLogger(__name__)

#: Above this many bytes waiting in a socket's transport, use the flow-controlled path.
MAX_BUFFERED = 256 * 1024


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
        self._pending: dict[asyncio.Transport, list[bytes]] = {}
        self._flush_scheduled = False

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

        eio_server._async = {**drivers, "websocket": TrackedWebSocket}
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
        pending = self._pending.get(transport)
        if pending is None:
            self._pending[transport] = [frame]
        else:
            pending.append(frame)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)
        self.fast_sends += 1
        return True

    def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        self._flush_scheduled = False
        for transport, frames in pending.items():
            if transport.is_closing():
                continue
            transport.write(frames[0] if len(frames) == 1 else b"".join(frames))
