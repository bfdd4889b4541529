"""The live room's Socket.IO transport: decode and validate, call the room services, ack.

python-socketio's AsyncServer is attached to the aiohttp app at `/socket.io/`. With a
Redis URL it uses AsyncRedisManager, so a broadcast from any node reaches the sockets of
every node. Every client event is answered through its acknowledgement with either
`{"ok": true, ...}` or `{"error": {"code", "message"}}`; no client input raises out of
a handler. Event names and payloads are defined in `live_server.room.events`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from aiohttp import web

from live_server.platform.errors import DomainError
from live_server.platform.identity import Principal
from live_server.room import events as ev
from live_server.room.moderation import RoomModeration
from live_server.room.rules.chat import Bucket, take_token
from live_server.room.service import RoomService
from signaling.socketio_internals import FastBroadcast, text_frame

logger = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
TokenVerifier = Callable[[str], Principal | None]

#: Engine.IO refuses (and disconnects) messages larger than this; the room's own,
#: friendlier limit (an error ack) is ev.MAX_PAYLOAD_BYTES.
MAX_MESSAGE_BYTES = 1024 * 1024

#: Young-generation GC threshold for a process serving rooms (CPython's default is 700).
GC_THRESHOLD0 = 20_000
_gc_tuned = False


def tune_gc() -> None:
    """Keeps the cyclic garbage collector's pauses off the chat path.

    Every message a client sends makes engine.io replace that socket's long-lived read
    task (a task, its coroutines, a timer); at 2,000 viewers and hundreds of events a
    second that promotes ~10,000 objects a second into the oldest generation, and with
    CPython's default thresholds a full collection (200-400 ms here, the event loop
    stopped) ran every 2-5 s: the chat p99. A larger young threshold lets most
    short-lived objects die before they are promoted, and freezing what exists at
    start-up (modules, the app) keeps it out of every later full collection.
    """
    global _gc_tuned
    if _gc_tuned:  # once per process (tests build many apps)
        return
    _gc_tuned = True
    gc.collect()
    gc.freeze()
    t0, t1, t2 = gc.get_threshold()
    gc.set_threshold(max(GC_THRESHOLD0, t0), t1, t2)


class DirectAsyncManager(socketio.AsyncManager):  # type: ignore[misc]
    """Sends a room broadcast to each local socket without one asyncio task per socket.

    python-socketio's manager wraps every recipient's send in a task; for a room of
    thousands that costs more than the send itself. A socket's send only queues the packet
    (the socket's writer task does the I/O), so a plain loop is enough. Emits with a
    callback or several arguments keep the stock behaviour.
    """

    async def emit(  # type: ignore[override]
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
        from engineio import packet as eio_packet
        from socketio import packet

        payload = [event] if data is None else [event, data]
        pkt = self.server.packet_class(packet.EVENT, namespace=namespace, data=payload)
        encoded = pkt.encode()
        encoded = encoded if isinstance(encoded, list) else [encoded]
        eio_pkts = [eio_packet.Packet(eio_packet.MESSAGE, p) for p in encoded]
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        fast: FastBroadcast | None = getattr(self, "fast", None)
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


def create_socketio_server(
    redis_url: str | None, channel: str = "liveshop-socketio", fast_broadcast: bool = True
) -> socketio.AsyncServer:
    """The Socket.IO server, with the Redis manager when a Redis URL is configured.

    `fast_broadcast` writes room broadcasts straight to WebSocket transports (see
    signaling.socketio_internals); off, every delivery goes through engine.io's queues.
    """
    manager: socketio.AsyncManager
    if redis_url:
        manager = DirectAsyncRedisManager(redis_url, channel=channel)
    else:
        manager = DirectAsyncManager()
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        max_http_buffer_size=MAX_MESSAGE_BYTES,
        # Handle a client's events one after the other in its own read loop instead of a
        # task per event: cheaper for reaction taps, and a client's events stay in order.
        async_handlers=False,
        ping_interval=20,
        ping_timeout=20,
        logger=False,
        engineio_logger=False,
    )
    if fast_broadcast:
        fast = FastBroadcast()
        if fast.install(sio.eio):
            manager.fast = fast  # type: ignore[attr-defined]
    return sio


class SocketIOBroadcaster:
    """The RoomBroadcaster the room services emit through."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio

    async def emit(self, event: str, payload: Any, *, room: str) -> None:
        """Sends to everyone in `room` on every node."""
        await self._sio.emit(event, payload, room=room)

    async def disconnect(self, sid: str) -> None:
        """Disconnects a socket on whichever node holds it."""
        await self._sio.disconnect(sid)

    async def enter(self, sid: str, room: str) -> None:
        """Adds a socket to a room."""
        await self._sio.enter_room(sid, room)

    async def leave(self, sid: str, room: str) -> None:
        """Removes a socket from a room."""
        await self._sio.leave_room(sid, room)


class RoomTransport:
    """Binds the Socket.IO events to the room services."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        room: RoomService,
        moderation: RoomModeration,
        verify_token: TokenVerifier,
    ) -> None:
        self.sio = sio
        self.room = room
        self._verify = verify_token
        self._buckets: dict[str, Bucket] = {}
        self._handlers: dict[str, Handler] = {
            ev.JOIN: room.join,
            ev.LEAVE: room.leave,
            ev.CHAT_SEND: room.send_chat,
            ev.REACTION_SEND: room.react,
            ev.PIN_ADD: moderation.pin,
            ev.PIN_REMOVE: moderation.unpin,
            ev.MOD_DELETE: moderation.delete_message,
            ev.MOD_TIMEOUT: moderation.timeout,
            ev.MOD_BAN: moderation.ban,
            ev.MOD_UNBAN: moderation.unban,
            ev.MOD_SETTINGS: moderation.update_settings,
            ev.MOD_BLOCKED_WORDS: moderation.blocked_words,
            ev.MOD_LOG: moderation.log,
        }
        assert set(self._handlers) == set(ev.CLIENT_EVENTS)
        sio.on("connect", self._on_connect)
        sio.on("disconnect", self._on_disconnect)
        for name in self._handlers:
            sio.on(name, self._make_handler(name))
        sio.on("*", self._on_unknown)

    def attach(self, app: web.Application) -> None:
        """Serves Socket.IO at /socket.io/ on the app."""
        self.sio.attach(app, socketio_path="socket.io")

    async def start(self) -> None:
        """Starts the room tick loop (at application start-up)."""
        tune_gc()
        await self.room.ticker.start()

    async def stop(self) -> None:
        """Disconnects every socket, stops the ticks and releases the shared state."""
        try:
            await self.sio.shutdown()
        except Exception:
            logger.warning("socket.io shutdown failed", exc_info=True)
        await self.room.ticker.stop()
        await self.room.ctx.state.close()

    async def _on_connect(self, sid: str, *args: Any) -> Any:
        # python-socketio also routes a client *event* named "connect" here: a socket that
        # is already registered is refused instead of being connected twice.
        if sid in self.room.ctx.membership.members or not args or not isinstance(args[0], dict):
            return ev.error_ack("unknown_event", "unknown event")
        environ: dict[str, Any] = args[0]
        auth = args[1] if len(args) > 1 else None
        token = None
        if isinstance(auth, dict) and isinstance(auth.get("token"), str):
            token = auth["token"]
        else:
            request = environ.get("aiohttp.request")
            header = request.headers.get("Authorization", "") if request is not None else ""
            if header.startswith("Bearer "):
                token = header[7:]
        principal = None
        if token:
            principal = self._verify(token[:4096])
            if principal is None:
                # A stale token is refused rather than silently downgraded to anonymous.
                raise socketio.exceptions.ConnectionRefusedError(
                    {"code": "unauthorized", "message": "invalid or expired token"}
                )
        await self.room.connect(sid, principal)
        return True

    async def _on_disconnect(self, sid: str, *args: Any) -> Any:
        if self.sio.manager.is_connected(sid, "/"):
            # A client event named "disconnect", not a real disconnection.
            return ev.error_ack("unknown_event", "unknown event")
        self._buckets.pop(sid, None)
        try:
            await self.room.disconnect(sid)
        except Exception:
            logger.exception("socket %s: disconnect clean-up failed", sid)

    def _flooding(self, sid: str) -> float:
        limits = self.room.ctx.limits
        allowed, bucket, wait = take_token(
            self._buckets.get(sid), time.monotonic(), limits.events_rate, limits.events_burst
        )
        self._buckets[sid] = bucket
        return 0.0 if allowed else wait

    def _make_handler(self, name: str) -> Callable[..., Awaitable[dict[str, Any]]]:
        handler = self._handlers[name]

        async def on_event(sid: str, *args: Any) -> dict[str, Any]:
            return await self._dispatch(name, handler, sid, args)

        return on_event

    async def _dispatch(
        self, name: str, handler: Handler, sid: str, args: tuple[Any, ...]
    ) -> dict[str, Any]:
        wait = self._flooding(sid)
        if wait > 0:
            return ev.error_ack("rate_limited", "too many events", retry_after=round(wait, 1))
        try:
            if len(args) != 1:
                return ev.error_ack("invalid", "send exactly one JSON object")
            data = ev.validate(name, args[0])
            return await handler(sid, data)
        except DomainError as exc:
            return ev.ack_for(exc)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("socket %s: %s failed", sid, name)
            return ev.error_ack("internal", "something went wrong; try again")

    async def _on_unknown(self, event: Any, sid: str, *args: Any) -> dict[str, Any]:
        if self._flooding(sid) > 0:
            return ev.error_ack("rate_limited", "too many events")
        return ev.error_ack("unknown_event", "unknown event")
