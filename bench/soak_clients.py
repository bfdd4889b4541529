"""The clients of the soak (bench/soak.py): what misbehaves, and the chat flood.

- ``AbandonedOffers``: WHEP offers with ICE credentials and a DTLS fingerprint but no
  candidates, so their ICE can never complete;
- ``SlowHttp``: request heads or bodies sent a byte every few seconds, or nothing at all;
- ``StalledSockets``: raw Socket.IO clients that join a room and stop reading;
- ``Chatters``: real python-socketio clients of the host and a moderator, flooding the chat
  and reporting the room's presence count.

``Ports`` tells which kind of client each local port belongs to, so that the server's own
socket list (psutil) says whose sockets it still holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter as Tally
from collections.abc import Callable
from typing import Any

import aiohttp
import socketio
from aiortc import RTCPeerConnection

HOST = "127.0.0.1"
SDP_HEADERS = {"Content-Type": "application/sdp"}

#: The server's TCP peers as last seen: (time.monotonic() when read, the remote ports)
ServerView = Callable[[], tuple[float, frozenset[int]] | None]


class Ports:
    """Which kind of client each local port belongs to, kept until the server lets go."""

    def __init__(self) -> None:
        self.kind: dict[int, str] = {}
        self._retired: set[int] = set()

    def add(self, port: int, kind: str) -> None:
        """A new connection of ``kind`` on ``port``."""
        self.kind[port] = kind
        self._retired.discard(port)

    def retire(self, port: int) -> None:
        """This side closed ``port``; forget it once the server holds it no more."""
        self._retired.add(port)

    def prune(self, peer_ports: frozenset[int]) -> None:
        """Forget retired ports the server no longer holds (``peer_ports``: its peers now)."""
        for port in [p for p in self._retired if p not in peer_ports]:
            self._retired.discard(port)
            self.kind.pop(port, None)


# -- the misbehaving clients -----------------------------------------------------------------
async def candidate_less_offer() -> str:
    """A real aiortc viewer offer with its candidates removed: ICE credentials and a DTLS
    fingerprint, nothing the server could ever connect to."""
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    lines = sdp.split("\r\n")
    return "\r\n".join(x for x in lines if not x.startswith(("a=candidate", "a=end-of-cand")))


class AbandonedOffers:
    """WHEP offers whose ICE never completes, sent evenly over the load."""

    def __init__(self, whep_url: str, count: int) -> None:
        self.whep_url = whep_url
        self.count = count
        self.answered: list[float] = []
        self.refused: Tally[str] = Tally()

    async def run(self, start: float, span: float) -> None:
        """Send ``count`` offers between ``start`` and ``start + span`` (monotonic time)."""
        connector = aiohttp.TCPConnector(force_close=True)  # nothing kept alive either
        async with aiohttp.ClientSession(connector=connector) as http:
            gate = asyncio.Semaphore(8)
            tasks = []
            for i in range(self.count):
                due = start + span * i / max(1, self.count - 1)
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                tasks.append(asyncio.ensure_future(self._one(http, gate)))
            await asyncio.gather(*tasks)

    async def _one(self, http: aiohttp.ClientSession, gate: asyncio.Semaphore) -> None:
        async with gate:
            sdp = await candidate_less_offer()
            try:
                async with http.post(
                    self.whep_url,
                    data=sdp,
                    headers=SDP_HEADERS,
                    timeout=aiohttp.ClientTimeout(total=30),
                ) as resp:
                    await resp.read()
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.refused[type(exc).__name__] += 1
                return
            if status == 201:
                self.answered.append(time.monotonic())
            else:
                self.refused[str(status)] += 1


async def pause(abort: asyncio.Event, seconds: float) -> None:
    """Wait ``seconds``, or less if ``abort`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(abort.wait(), seconds)


async def _read_to_eof(reader: asyncio.StreamReader) -> None:
    with contextlib.suppress(ConnectionError):
        while await reader.read(65536):
            pass


SLOW_HEAD = b"GET /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: soak\r\nX-Slow: "
BODY_HEAD = (
    b"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 4096\r\n\r\n"
)
SLOW_KINDS = ("headers", "body", "idle")


class SlowHttp:
    """Slow-head, slow-body and idle HTTP connections, each reopened once the server cuts it
    off (until ``stop``); they never close on their own (``abort`` ends the soak's wait)."""

    def __init__(self, port: int, ports: Ports, stop: asyncio.Event, abort: asyncio.Event):
        self.port = port
        self.ports = ports
        self.stop = stop
        self.abort = abort
        self.lifetimes: dict[str, list[float]] = {k: [] for k in SLOW_KINDS}
        self.opened = 0
        self.errors = 0
        self.held = 0
        self.last_cut = 0.0

    async def slot(self, kind: str, delay: float, max_connections: int, seed: int) -> None:
        """One slot: up to ``max_connections`` connections of ``kind``, one after the other."""
        rng = random.Random(seed)
        await asyncio.sleep(delay)  # staggered starts
        for _ in range(max_connections):
            if self.stop.is_set() or self.abort.is_set():
                return
            await self._one(kind, rng)
            # back after a moment: the server's deadlines are the same for every connection,
            # so without it the slots would keep moving in step, cut off in bursts
            await pause(self.abort, rng.uniform(0.0, 2.0))

    async def _one(self, kind: str, rng: random.Random) -> None:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, self.port), 10)
        except (OSError, TimeoutError):
            self.errors += 1
            await asyncio.sleep(1)  # the server refused or did not accept: try again later
            return
        local = int(writer.get_extra_info("sockname")[1])
        self.ports.add(local, "slow")
        self.opened += 1
        self.held += 1
        started = time.monotonic()
        eof = asyncio.ensure_future(_read_to_eof(reader))
        aborted = asyncio.ensure_future(self.abort.wait())
        drip = SLOW_HEAD if kind == "headers" else b""
        if kind == "body":
            writer.write(BODY_HEAD)  # the head complete at once, the body a byte at a time
        sent = 0
        try:
            while not eof.done() and not aborted.done():
                if kind != "idle":
                    writer.write(drip[sent : sent + 1] if sent < len(drip) else b"a")
                    sent += 1
                await asyncio.wait(
                    {eof, aborted},
                    timeout=rng.uniform(2.0, 4.0),
                    return_when=asyncio.FIRST_COMPLETED,
                )
            if eof.done():
                now = time.monotonic()
                self.lifetimes[kind].append(now - started)
                self.last_cut = max(self.last_cut, now)
        except ConnectionError:
            now = time.monotonic()
            self.lifetimes[kind].append(now - started)
            self.last_cut = max(self.last_cut, now)
        finally:
            aborted.cancel()
            eof.cancel()
            writer.transport.abort()
            self.ports.retire(local)
            self.held -= 1


class StalledProtocol(asyncio.Protocol):
    """A raw WebSocket speaking just enough Engine.IO / Socket.IO v4 to join a room (as
    bench/room.py's viewers do), which then stops reading altogether."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.upgraded = False
        loop = asyncio.get_running_loop()
        self.connected: asyncio.Future[None] = loop.create_future()
        self.joined: asyncio.Future[bytes] = loop.create_future()

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
        """One masked text frame (an all-zero key masks nothing and is valid)."""
        assert self.transport is not None and len(text) < 126
        self.transport.write(bytes([0x81, 0x80 | len(text)]) + b"\0\0\0\0" + text)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.upgraded:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buf.startswith(b"HTTP/1.1 101"):
                self._fail(RuntimeError(bytes(self.buf[:200]).decode(errors="replace")))
                return
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
            if payload == b"2":  # Engine.IO ping: answered until this client stalls
                self.send(b"3")
            elif payload[:1] == b"0":  # Engine.IO open: connect to the default namespace
                self.send(b"40")
            elif payload[:2] == b"40" and not self.connected.done():
                self.connected.set_result(None)
            elif payload[:3] == b"430" and not self.joined.done():
                self.joined.set_result(payload[3:])

    def _fail(self, exc: Exception) -> None:
        for future in (self.connected, self.joined):
            if not future.done():
                future.set_exception(exc)
                future.exception()  # retrieved: the other one is the one awaited

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionError("the server closed the connection"))


class StalledSockets:
    """Socket.IO clients that join the show's room and stop reading; once the server has let
    go of one (its socket gone from the server's list), it is opened again (until ``stop``)."""

    def __init__(
        self,
        port: int,
        session_id: int,
        ports: Ports,
        server_view: ServerView,
        stop: asyncio.Event,
        abort: asyncio.Event,
    ) -> None:
        self.port = port
        self.session_id = session_id
        self.ports = ports
        self.server_view = server_view
        self.stop = stop
        self.abort = abort
        self.lifetimes: list[float] = []  # from "stopped reading" to "the server let go"
        self.opened = 0
        self.errors = 0
        self.held = 0
        self.last_cut = 0.0

    async def _open(self) -> StalledProtocol:
        loop = asyncio.get_running_loop()
        _, proto = await asyncio.wait_for(
            loop.create_connection(lambda: StalledProtocol(f"{HOST}:{self.port}"), HOST, self.port),
            10,
        )
        await asyncio.wait_for(proto.connected, 15)
        proto.send(b"420" + json.dumps(["room:join", {"session_id": self.session_id}]).encode())
        ack = json.loads(await asyncio.wait_for(proto.joined, 15))
        if not (isinstance(ack, list) and ack and isinstance(ack[0], dict) and ack[0].get("ok")):
            raise RuntimeError(f"room:join refused: {ack!r:.200}")
        return proto

    async def slot(self, delay: float, max_connections: int, seed: int) -> None:
        """One slot: up to ``max_connections`` stalled clients, one after the other."""
        rng = random.Random(seed)
        await asyncio.sleep(delay)  # staggered starts
        for i in range(max_connections):
            if i:
                await pause(self.abort, rng.uniform(0.0, 2.0))  # not in step (see SlowHttp)
            if self.stop.is_set() or self.abort.is_set():
                return
            try:
                proto = await self._open()
            except (OSError, TimeoutError, RuntimeError, ValueError):
                self.errors += 1
                await asyncio.sleep(1)  # refused or too slow: try again later
                continue
            assert proto.transport is not None
            local = int(proto.transport.get_extra_info("sockname")[1])
            self.ports.add(local, "stalled")
            self.opened += 1
            self.held += 1
            proto.transport.pause_reading()
            stalled_at = time.monotonic()
            try:
                while not self.abort.is_set():
                    # it cannot see its own cut-off (it reads nothing, and a FIN waits behind
                    # the unread data): the server's socket list tells
                    seen = self.server_view()
                    if seen is not None and seen[0] > stalled_at and local not in seen[1]:
                        self.lifetimes.append(seen[0] - stalled_at)
                        self.last_cut = max(self.last_cut, seen[0])
                        break
                    await pause(self.abort, 0.5)
            finally:
                proto.transport.abort()  # unread data: the kernel answers with RST
                self.ports.retire(local)
                self.held -= 1


class Chatters:
    """The host and the moderator in the room (python-socketio clients): the chat flood, and
    the room's presence count from its ticks."""

    def __init__(self, url: str, session_id: int, tokens: list[str]) -> None:
        self.url = url
        self.session_id = session_id
        self.tokens = tokens
        self.clients: list[socketio.AsyncClient] = []
        self.presence: int | None = None
        self.sent = 0
        self.accepted = 0
        self.refused: Tally[str] = Tally()

    async def start(self) -> None:
        """Connect and join the show's room."""
        for token in self.tokens:
            client = socketio.AsyncClient(reconnection=False)
            client.on("room:tick", self._tick)
            self.clients.append(client)
            await client.connect(
                self.url, auth={"token": token}, transports=["websocket"], wait_timeout=15
            )
            ack = await client.call("room:join", {"session_id": self.session_id}, timeout=30)
            if not ack.get("ok"):
                raise RuntimeError(f"room:join refused: {ack}")
            self.presence = ack["snapshot"]["presence"]["viewers"]

    def _tick(self, data: dict[str, Any]) -> None:
        presence = data.get("presence")
        if presence is not None:
            self.presence = int(presence["viewers"])

    def _ack(self, result: Any = None, *_: Any) -> None:
        if isinstance(result, dict) and result.get("ok"):
            self.accepted += 1
        else:
            code = result.get("error", {}).get("code") if isinstance(result, dict) else None
            self.refused[str(code)] += 1

    async def flood(self, per_s: float, stop: asyncio.Event) -> None:
        """``per_s`` chat messages a second, spread over the clients, until ``stop``."""
        start = time.monotonic()
        pad = " the quick brown fox jumps over the lazy dog" * 6
        while not stop.is_set():
            due = int((time.monotonic() - start) * per_s)
            while self.sent < due:
                client = self.clients[self.sent % len(self.clients)]
                text = f"soak message {self.sent}{pad}"
                with contextlib.suppress(socketio.exceptions.SocketIOError):
                    await client.emit(
                        "chat:send",
                        {"session_id": self.session_id, "text": text},
                        callback=self._ack,
                    )
                self.sent += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.02)

    async def close(self) -> None:
        """Disconnect every client."""
        for client in self.clients:
            with contextlib.suppress(Exception):
                await client.disconnect()
