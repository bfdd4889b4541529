"""Every python-socketio / python-engineio internal LiveShop relies on, in one place.

python-socketio 5.18 and python-engineio 4.15 have no public API for what follows, which
the live room needs; this package holds it all, and nothing else in the code base may touch
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

from signaling.socketio_internals.broadcast import (
    MAX_BUFFERED,
    WEBSOCKET_CLOSE_GRACE_S,
    WEBSOCKET_SEND_BUFFER,
    DirectAsyncManager,
    DirectAsyncRedisManager,
    FastBroadcast,
    direct_manager,
    install_fast_broadcast,
    text_frame,
    track_transports,
)
from signaling.socketio_internals.budget import CountingQueue, SendBudget, install_send_budget
from signaling.socketio_internals.canary import (
    WRITTEN_FOR,
    SocketIOInternalsChanged,
    socketio_internals_problems,
    verify_socketio_internals,
)
from signaling.socketio_internals.sockets import (
    REFUSED_EVENT,
    GuardedPacket,
    handshake_request,
    is_connected,
)

__all__ = [
    "MAX_BUFFERED",
    "REFUSED_EVENT",
    "WEBSOCKET_CLOSE_GRACE_S",
    "WEBSOCKET_SEND_BUFFER",
    "WRITTEN_FOR",
    "CountingQueue",
    "DirectAsyncManager",
    "DirectAsyncRedisManager",
    "FastBroadcast",
    "GuardedPacket",
    "SendBudget",
    "SocketIOInternalsChanged",
    "direct_manager",
    "handshake_request",
    "install_fast_broadcast",
    "install_send_budget",
    "is_connected",
    "socketio_internals_problems",
    "text_frame",
    "track_transports",
    "verify_socketio_internals",
]
