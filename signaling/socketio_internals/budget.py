"""The send budget: a bounded backlog per engine.io socket (part 5 of
`signaling.socketio_internals`)."""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

import socketio

from signaling.socketio_internals.broadcast import FastBroadcast, track_transports

logger = logging.getLogger(__name__)


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
