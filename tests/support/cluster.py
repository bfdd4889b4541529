"""Several real LiveShop processes joined through the real Redis: full nodes, edges, workers.

Every node gets the same key prefix (one per test), cluster secret and data directory (the
full nodes share one SQLite file and signing secret, like README's multi-process mode);
edges use the data directory only for their port file and log. Test WebRTC stays on
127.0.0.1 (``--ice-loopback`` on every process; importing ``support.peers`` pins this one).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import av
from aiortc import AudioStreamTrack, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from live_server.cluster import RedisClusterStore
from support.helpers import ServerProcess, auth, start_server_process, wait_for
from support.peers import NumberedVideoTrack, http_negotiate, read_number, viewer_pc

REDIS_URL = "redis://127.0.0.1:6379/0"
SECRET = "cluster-test-secret-0123456789"


def new_prefix(name: str = "cluster") -> str:
    """A Redis key prefix of the test's own."""
    return f"test-{name}-{uuid.uuid4().hex[:8]}"


def node_env(prefix: str, **extra: str) -> dict[str, str]:
    """The environment every node of one test cluster shares."""
    return {
        "LIVESHOP_REDIS_PREFIX": prefix,
        "LIVESHOP_CLUSTER_SECRET": SECRET,
        "LIVESHOP_SECRET": "cluster-test-token-secret",
        "LIVESHOP_CLUSTER_LEASE_TTL_S": "2",
        "LIVESHOP_MAX_VIEWERS_PER_ADDRESS": "0",
        **extra,
    }


def start_full_node(
    data_dir: Path, prefix: str, *, args: list[str] | None = None, **env: str
) -> ServerProcess:
    """A full `liveshop serve --demo` node in the test cluster."""
    return start_server_process(
        data_dir,
        demo=True,
        extra_args=["--redis-url", REDIS_URL, *(args or [])],
        env=node_env(prefix, **env),
    )


def start_edge_node(data_dir: Path, prefix: str, **env: str) -> ServerProcess:
    """A media-only node (`serve --role edge`) of the test cluster."""
    return start_server_process(
        data_dir,
        demo=False,
        extra_args=["--role", "edge", "--redis-url", REDIS_URL],
        env=node_env(prefix, **env),
    )


class Nodes:
    """The processes a test started; all stopped (or already killed) at the end."""

    def __init__(self) -> None:
        self.all: list[ServerProcess] = []

    def add(self, node: ServerProcess) -> ServerProcess:
        self.all.append(node)
        return node

    def stop(self) -> None:
        for node in self.all:
            node.stop()


def running_nodes() -> Iterator[Nodes]:
    """A fixture body: yields a ``Nodes`` and stops whatever was started."""
    nodes = Nodes()
    try:
        yield nodes
    finally:
        nodes.stop()


async def clean_redis(prefix: str) -> AsyncIterator[None]:
    """A fixture body: removes the test's keys afterwards."""
    yield
    store = RedisClusterStore.from_url(REDIS_URL, prefix)
    await store.delete_all()
    await store.close()


async def new_show(http: aiohttp.ClientSession, url: str, **fields: Any) -> tuple[int, str, str]:
    """A show of the demo host: (session id, stream key, host token)."""
    async with http.post(
        f"{url}/api/auth/login", json={"username": "demo-host", "password": "demo"}
    ) as resp:
        assert resp.status == 200, await resp.text()
        token = (await resp.json())["token"]
    async with http.post(
        f"{url}/api/sessions", json={"title": "Cluster show", **fields}, headers=auth(token)
    ) as resp:
        assert resp.status == 201, await resp.text()
        session_id = int((await resp.json())["id"])
    async with http.get(f"{url}/api/sessions/{session_id}/stream-key", headers=auth(token)) as resp:
        key = str((await resp.json())["stream_key"])
    return session_id, key, token


async def session_state(http: aiohttp.ClientSession, url: str, session_id: int) -> str:
    """The show's state as a node reports it."""
    async with http.get(f"{url}/api/sessions/{session_id}") as resp:
        return str((await resp.json())["state"])


class Host:
    """The host's publisher: numbered video frames and a tone."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection()
        self.track = NumberedVideoTrack()
        self.pc.addTransceiver(self.track, direction="sendonly")
        self.pc.addTransceiver(AudioStreamTrack(), direction="sendonly")

    async def publish(
        self, http: aiohttp.ClientSession, url: str, session_id: int, key: str
    ) -> str:
        """WHIP to ``url``; the resource's URL (raises on anything but 201)."""
        resource = await http_negotiate(http, self.pc, f"{url}/whip/{session_id}", key)
        return resource.location

    async def close(self) -> None:
        await self.pc.close()


class Watcher:
    """A WHEP viewer that decodes video (reads the frame numbers) and counts audio frames."""

    def __init__(self) -> None:
        self.pc = viewer_pc(passthrough=False)
        self.numbers: list[int] = []
        self.audio_frames = 0
        self.location = ""
        self.pc.on("track", self._on_track)
        self._tasks: list[asyncio.Task[None]] = []

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._tasks.append(asyncio.ensure_future(self._read(track)))

    async def _read(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if isinstance(frame, av.VideoFrame):
                self.numbers.append(read_number(frame))
            else:
                self.audio_frames += 1

    async def watch(self, http: aiohttp.ClientSession, url: str) -> str:
        """WHEP POST to ``url`` (redirects followed); the resource's URL."""
        resource = await http_negotiate(http, self.pc, url)
        self.location = resource.location
        return resource.location

    def playing(self, frames: int = 30, audio: int = 10) -> bool:
        """True once it decoded ``frames`` video frames and ``audio`` audio frames."""
        return len(self.numbers) >= frames and self.audio_frames >= audio

    def in_order(self) -> bool:
        """Every decoded frame number is higher than the one before."""
        return all(b > a for a, b in zip(self.numbers, self.numbers[1:], strict=False))

    async def advancing(self, frames: int = 15, timeout: float = 15) -> None:
        """Wait until ``frames`` more video frames were decoded."""
        start = len(self.numbers)
        await wait_for(
            lambda: len(self.numbers) >= start + frames, timeout=timeout, message="frames advance"
        )

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()
