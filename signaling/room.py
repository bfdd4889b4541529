"""The live room's Socket.IO transport: decode and validate, check the sender, call, ack.

python-socketio's AsyncServer is attached to the aiohttp app at `/socket.io/`. With a
Redis URL it uses a Redis manager, so a broadcast from any node reaches the sockets of
every node. Every client event is answered through its acknowledgement with either
`{"ok": true, ...}` or `{"error": {"code", "message"}}`; no client input raises out of
a handler. The events are whatever the `RoomEventRegistry` holds (the room's own, from
`live_server.room.core_events`, and any feature's), including those registered after the
transport was built. Every python-socketio/engine.io internal is in
`signaling.socketio_internals`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import socketio
from aiohttp import web

from live_server.platform.addresses import client_address
from live_server.platform.audience import device_key
from live_server.platform.core import PLATFORM
from live_server.platform.errors import DomainError
from live_server.platform.identity import Principal
from live_server.room import (
    Bucket,
    Room,
    RoomEvent,
    RoomEventRegistry,
    RoomService,
    ack_for,
    check_sender,
    error_ack,
    retry_after,
    take_token,
)
from live_server.settings import Settings
from signaling.socketio_internals import (
    REFUSED_EVENT,
    GuardedPacket,
    direct_manager,
    handshake_request,
    install_fast_broadcast,
    install_send_budget,
    is_connected,
)

logger = logging.getLogger(__name__)

TokenVerifier = Callable[[str], Awaitable[Principal | None]]

#: Engine.IO refuses (and disconnects) messages larger than this; the room's own,
#: friendlier limit (an error ack) is MAX_PAYLOAD_BYTES.
MAX_MESSAGE_BYTES = 1024 * 1024


def create_server(settings: Settings) -> socketio.AsyncServer:
    """The Socket.IO server for these settings (Redis pub/sub when a Redis URL is set)."""
    return create_socketio_server(
        settings.redis_url,
        channel=f"{settings.redis_prefix}:socketio",
        max_backlog_bytes=settings.socketio_max_backlog_bytes,
        ping_interval_s=settings.socketio_ping_interval_s,
        ping_timeout_s=settings.socketio_ping_timeout_s,
    )


def create_socketio_server(
    redis_url: str | None,
    channel: str = "liveshop-socketio",
    fast_broadcast: bool = True,
    max_backlog_bytes: int = 1024 * 1024,
    ping_interval_s: float = 10.0,
    ping_timeout_s: float = 5.0,
) -> socketio.AsyncServer:
    """The Socket.IO server, with the Redis manager when a Redis URL is configured.

    `fast_broadcast` writes room broadcasts straight to WebSocket transports (see
    signaling.socketio_internals); off, every delivery goes through engine.io's queues.
    A client with more than `max_backlog_bytes` waiting for it is disconnected, and one
    that answers no heartbeat within `ping_interval_s + ping_timeout_s` is gone: the
    heartbeat is what notices a client that stopped reading long before its backlog fills.
    """
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=direct_manager(redis_url, channel),
        serializer=GuardedPacket,  # client payloads: the platform's depth-limited JSON
        max_http_buffer_size=MAX_MESSAGE_BYTES,
        # Handle a client's events one after the other in its own read loop instead of a
        # task per event: cheaper for reaction taps, and a client's events stay in order.
        async_handlers=False,
        ping_interval=ping_interval_s,
        ping_timeout=ping_timeout_s,
        logger=False,
        engineio_logger=False,
    )
    fast = install_fast_broadcast(sio) if fast_broadcast else None
    install_send_budget(sio, max_backlog_bytes, fast)
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
    """Binds the registered room events (now and later) to Socket.IO."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        room: RoomService,
        registry: RoomEventRegistry,
        verify_token: TokenVerifier,
        max_anonymous_per_address: int = 0,
    ) -> None:
        self.sio = sio
        self.room = room
        self.registry = registry
        self._verify = verify_token
        self._buckets: dict[str, Bucket] = {}
        # anonymous sockets per client address (signed-in users are accountable: not capped)
        self._max_anonymous = max_anonymous_per_address
        self._anonymous: Counter[str] = Counter()
        self._anonymous_address: dict[str, str] = {}
        sio.on("connect", self._on_connect)
        sio.on("disconnect", self._on_disconnect)
        sio.on("*", self._on_unknown)
        sio.on(REFUSED_EVENT, self._on_refused)
        # Binds what is registered already and, from then on, each new event as it comes.
        registry.subscribe(self._bind)

    def attach(self, app: web.Application) -> None:
        """Serves Socket.IO at /socket.io/ on the app."""
        self.sio.attach(app, socketio_path="socket.io")

    async def start(self) -> None:
        """Starts the room tick loop (at application start-up)."""
        await self.room.ticker.start()

    async def stop(self) -> None:
        """Disconnects every socket, stops the ticks and releases the shared state."""
        try:
            await self.sio.shutdown()
        except Exception:
            logger.warning("socket.io shutdown failed", exc_info=True)
        await self.room.ticker.stop()
        await self.room.ctx.state.close()

    def _bind(self, event: RoomEvent) -> None:
        self.sio.on(event.name, self._make_handler(event))

    async def _on_connect(self, sid: str, *args: Any) -> Any:
        # python-socketio also routes a client *event* named "connect" here: a socket that
        # is already registered is refused instead of being connected twice.
        if sid in self.room.ctx.membership.members or not args or not isinstance(args[0], dict):
            return error_ack("unknown_event", "unknown event")
        environ: dict[str, Any] = args[0]
        auth = args[1] if len(args) > 1 else None
        token = None
        if isinstance(auth, dict) and isinstance(auth.get("token"), str):
            token = auth["token"]
        else:
            request = handshake_request(environ)
            header = request.headers.get("Authorization", "") if request is not None else ""
            if header.startswith("Bearer "):
                token = header[7:]
        principal = None
        if token:
            principal = await self._verify(token[:4096])
            if principal is None:
                # A stale token is refused rather than silently downgraded to anonymous.
                raise socketio.exceptions.ConnectionRefusedError(
                    {"code": "unauthorized", "message": "invalid or expired token"}
                )
        if principal is None:
            self._count_anonymous(sid, environ)
        # an anonymous page names its device, so its video connection counts with it
        device = device_key(auth.get("viewer_key")) if isinstance(auth, dict) else None
        try:
            await self.room.connect(sid, principal, device)
        except BaseException:
            self._forget_anonymous(sid)
            raise
        return True

    def _count_anonymous(self, sid: str, environ: dict[str, Any]) -> None:
        if self._max_anonymous <= 0:
            return
        request = handshake_request(environ)
        address = client_address(request) if isinstance(request, web.Request) else "unknown"
        if self._anonymous[address] >= self._max_anonymous:
            # socket.io-client: err.message, err.data.code (as docs/realtime.md describes)
            raise socketio.exceptions.ConnectionRefusedError(
                f"your address already holds {self._max_anonymous} connections without"
                " signing in: sign in or close one",
                {"code": "too_many_connections"},
            )
        self._anonymous[address] += 1
        self._anonymous_address[sid] = address

    def _forget_anonymous(self, sid: str) -> None:
        address = self._anonymous_address.pop(sid, None)
        if address is not None:
            self._anonymous[address] -= 1
            if self._anonymous[address] <= 0:
                del self._anonymous[address]

    async def _on_disconnect(self, sid: str, *args: Any) -> Any:
        if is_connected(self.sio, sid):
            # A client event named "disconnect", not a real disconnection.
            return error_ack("unknown_event", "unknown event")
        self._buckets.pop(sid, None)
        self._forget_anonymous(sid)
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

    def _make_handler(self, event: RoomEvent) -> Callable[..., Awaitable[dict[str, Any]]]:
        async def on_event(sid: str, *args: Any) -> dict[str, Any]:
            return await self._dispatch(event, sid, args)

        return on_event

    async def _dispatch(self, event: RoomEvent, sid: str, args: tuple[Any, ...]) -> dict[str, Any]:
        wait = self._flooding(sid)
        if wait > 0:
            return error_ack("rate_limited", "too many events", retry_after=retry_after(wait))
        try:
            if len(args) != 1:
                return error_ack("invalid", "send exactly one JSON object")
            data = self.registry.validate(event.name, args[0])
            check_sender(event.sender, self.room.ctx.membership.members.get(sid), data)
            return await event.handler(sid, data)
        except DomainError as exc:
            return ack_for(exc)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("socket %s: %s failed", sid, event.name)
            return error_ack("internal", "something went wrong; try again")

    async def _on_unknown(self, event: Any, sid: str, *args: Any) -> dict[str, Any]:
        wait = self._flooding(sid)
        if wait > 0:
            return error_ack("rate_limited", "too many events", retry_after=retry_after(wait))
        return error_ack("unknown_event", "unknown event")

    async def _on_refused(self, sid: str, *args: Any) -> dict[str, Any]:
        # An event whose JSON payload the packet decoder refused (too deep, not JSON).
        wait = self._flooding(sid)
        if wait > 0:
            return error_ack("rate_limited", "too many events", retry_after=retry_after(wait))
        reason = args[0] if args and isinstance(args[0], str) else "the message is not valid"
        return error_ack("invalid_json", reason[:200])


ROOM_TRANSPORT: web.AppKey[RoomTransport] = web.AppKey("room_transport", RoomTransport)


def setup(
    app: web.Application, sio: socketio.AsyncServer, room: Room, verify_token: TokenVerifier
) -> RoomTransport:
    """Serves the live room over Socket.IO at /socket.io/ on the app.

    Binds every event of the room's registry (`room.events`: the room's own and any a
    feature adds, now or later) and registers the transport's lifetime (tick loop started
    at start-up, sockets and shared state closed at shut-down).
    """
    transport = RoomTransport(
        sio,
        room.service,
        room.events,
        verify_token,
        max_anonymous_per_address=app[PLATFORM].settings.max_anonymous_sockets_per_address,
    )
    app[ROOM_TRANSPORT] = transport
    transport.attach(app)

    async def lifetime(_app: web.Application) -> AsyncIterator[None]:
        await transport.start()
        yield
        await transport.stop()

    app.cleanup_ctx.append(lifetime)
    return transport
