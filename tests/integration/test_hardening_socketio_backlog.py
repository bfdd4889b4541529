"""Issue 12, finding 11: a Socket.IO client that stops reading kept every broadcast queued in
the server without bound (RSS climbed through a chat flood with 30 non-reading sockets). Its
backlog now has a high-water mark: past it the client is disconnected, the others go on."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from engineio.async_socket import AsyncSocket

from live_server.settings import Settings
from support.helpers import wait_for
from support.room import Room, make_room
from support.services import Services

MARK = 256 * 1024


def open_sockets() -> int:
    """engine.io sockets of this process (the server's) that are not closed."""
    gc.collect()
    return sum(isinstance(o, AsyncSocket) and not o.closed for o in gc.get_objects())


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(
        {"data_dir": tmp_path / "var", "secret": "test-secret", "socketio_max_backlog_bytes": MARK},
        env={},
    )


@pytest.fixture
async def room(client: Any, make_user: Any) -> AsyncIterator[Room]:
    r = await make_room(client, make_user, str(client.make_url("/")).rstrip("/"))
    yield r
    await r.close()


class RawSocket(asyncio.Protocol):
    """A raw WebSocket speaking just enough Engine.IO / Socket.IO v4 to join a room (as
    bench/room.py's viewers do), which can then stop reading altogether."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.upgraded = False
        self.connected = asyncio.get_running_loop().create_future()
        self.acks: dict[int, asyncio.Future[bytes]] = {}
        self.lost = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(
            b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: "
            + self.host.encode()
            + b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )

    def send(self, text: bytes) -> None:
        assert self.transport is not None and len(text) < 126
        # client frames are masked; an all-zero key masks nothing and is valid
        self.transport.write(bytes([0x81, 0x80 | len(text)]) + b"\0\0\0\0" + text)

    def call(self, event: str, data: Any) -> asyncio.Future[bytes]:
        ack_id = len(self.acks)
        self.acks[ack_id] = asyncio.get_running_loop().create_future()
        self.send(f"42{ack_id}".encode() + json.dumps([event, data]).encode())
        return self.acks[ack_id]

    def stop_reading(self) -> None:
        assert self.transport is not None
        self.transport.pause_reading()

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.upgraded:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            assert self.buf.startswith(b"HTTP/1.1 101"), bytes(self.buf[:200])
            del self.buf[: end + 4]
            self.upgraded = True
        while len(self.buf) >= 2:
            n, head = self.buf[1] & 0x7F, 2
            if n == 126:
                n, head = int.from_bytes(self.buf[2:4], "big"), 4
            elif n == 127:
                n, head = int.from_bytes(self.buf[2:10], "big"), 10
            if len(self.buf) < head + n:
                return
            payload = bytes(self.buf[head : head + n])
            del self.buf[: head + n]
            self.frame(payload)

    def frame(self, payload: bytes) -> None:
        if payload == b"2":  # Engine.IO ping
            self.send(b"3")
        elif payload[:1] == b"0":  # Engine.IO open: connect to the default namespace
            self.send(b"40")
        elif payload[:2] == b"40" and not self.connected.done():
            self.connected.set_result(None)
        elif payload[:2] == b"43":
            digits = len(payload) - len(payload[2:].lstrip(b"0123456789"))
            future = self.acks.get(int(payload[2:digits]))
            if future is not None and not future.done():
                future.set_result(payload[digits:])

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set()


async def raw_socket(base_url: str) -> RawSocket:
    host, port = base_url.removeprefix("http://").split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # a small receive buffer: the kernel holds little for this client once it stops reading
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (host, int(port)))
    _, protocol = await loop.create_connection(lambda: RawSocket(f"{host}:{port}"), sock=sock)
    await asyncio.wait_for(protocol.connected, 10)
    return protocol


async def test_finding_11_a_client_that_stops_reading_is_cut_off_and_others_keep_receiving(
    room: Room, services: Services
) -> None:
    reader = await room.client(room.viewer_token)  # reads everything
    stalled = await raw_socket(room.base_url)
    try:
        ack = await asyncio.wait_for(stalled.call("room:join", {"session_id": room.session_id}), 10)
        assert b'"ok":true' in ack, ack
        members = len(services.room.ctx.membership.members)
        sockets = open_sockets()
        stalled.stop_reading()
        # a broadcast flood: 600 chat-sized events of 4 KiB, 2.4 MB in all for each socket
        text = "x" * 4096
        for i in range(600):
            await services.room.emit_to_room(room.session_id, "flood", {"i": i, "text": text})
            if i % 10 == 9:
                # the reader (in this process, on this loop) reads as it goes, as a remote
                # one would: the flood waits for it, never for the stalled socket
                await wait_for(lambda n=i + 1: len(reader.events["flood"]) == n, message="reader")
        # the stalled socket passed the mark and was disconnected on the server ...
        await wait_for(
            lambda: len(services.room.ctx.membership.members) == members - 1,
            timeout=10,
            message="the socket that stopped reading is disconnected",
        )
        # ... while the reader got every single event, in order
        await wait_for(lambda: len(reader.events["flood"]) == 600, timeout=15, message="all 600")
        assert [e["i"] for e in reader.events["flood"]] == list(range(600))
        assert reader.sio.connected

        # and nothing is kept for the stalled one: its engine.io socket is closed and what
        # was queued for it is released (the reader's socket is the only open one)
        def open_and_held() -> tuple[int, int]:
            gc.collect()
            held = [o for o in gc.get_objects() if isinstance(o, AsyncSocket)]
            return sum(not s.closed for s in held), sum(s.queue.qsize() for s in held if s.closed)

        await wait_for(lambda: open_and_held() == (sockets - 1, 0), message="socket released")
    finally:
        if stalled.transport is not None:
            stalled.transport.abort()


@pytest.fixture
def quick_heartbeat_app(tmp_path: Path) -> Any:
    from live_server.app import create_app

    return create_app(
        Settings.load(
            {
                "data_dir": tmp_path / "hb",
                "secret": "test-secret",
                "socketio_ping_interval_s": 1.0,
                "socketio_ping_timeout_s": 1.0,
            },
            env={},
        )
    )


async def test_build_2_a_client_that_stops_reading_quietly_goes_with_its_heartbeat(
    aiohttp_client: Any, quick_heartbeat_app: Any, make_user: Any
) -> None:
    # No flood here, so no backlog mark is reached: only the heartbeat can tell (its interval
    # and timeout are settings now; at the old fixed 20 s + 20 s this waited 40 s).
    client = await aiohttp_client(quick_heartbeat_app)
    base_url = str(client.make_url("/")).rstrip("/")
    stalled = await raw_socket(base_url)
    sockets = open_sockets()
    loop = asyncio.get_running_loop()
    stopped = loop.time()
    stalled.stop_reading()
    try:
        await wait_for(lambda: open_sockets() == sockets - 1, timeout=10, message="let go")
        # the heartbeat's 1 s + 1 s, with room for a loaded machine
        assert loop.time() - stopped < 6
    finally:
        if stalled.transport is not None:
            stalled.transport.abort()
