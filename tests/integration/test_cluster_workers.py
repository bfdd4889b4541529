"""`liveshop serve --workers 2`: the full server and one media worker under one supervisor.

The host publishes to the full server; three aiortc viewers land on the worker and decode
video (numbered frames, in order, from a keyframe) and audio: the worker pulled the show
once over the relay. A worker killed with SIGKILL is started again by the supervisor and
serves again; SIGTERM to the supervisor stops every process.
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import psutil
import pytest

from live_server.cluster import NodeInfo, RedisClusterStore
from support.cluster import REDIS_URL, Host, Watcher, new_prefix, new_show, node_env
from support.helpers import start_server_process, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
async def store() -> AsyncIterator[RedisClusterStore]:
    s = RedisClusterStore.from_url(REDIS_URL, new_prefix("workers"))
    yield s
    await s.delete_all()
    await s.close()


async def _worker(store: RedisClusterStore, not_id: str | None = None) -> NodeInfo | None:
    for node in await store.nodes():
        if node.role == "edge" and node.node_id != not_id:
            return node
    return None


def _worker_processes(supervisor: psutil.Process) -> list[psutil.Process]:
    return [p for p in supervisor.children() if "edge" in p.cmdline()]


async def test_serve_with_two_workers(tmp_path: Path, store: RedisClusterStore) -> None:
    server = start_server_process(
        tmp_path / "var",
        extra_args=["--workers", "2", "--redis-url", REDIS_URL],
        env=node_env(store.prefix),
    )
    supervisor = psutil.Process(server.process.pid)
    host = Host()
    watchers: list[Watcher] = []
    try:
        assert len(supervisor.children()) == 2
        worker = await wait_for(lambda: _worker(store), timeout=20, message="worker registers")
        assert worker.url != server.url
        async with aiohttp.ClientSession() as http:
            session_id, key, _ = await new_show(http, server.url)
            await host.publish(http, server.url, session_id, key)
            for _ in range(3):
                w = Watcher()
                watchers.append(w)
                await w.watch(http, f"{worker.url}/whep/{session_id}")
                assert w.location.startswith(f"{worker.url}/whep/{session_id}/"), w.location
            await wait_for(
                lambda: all(w.playing() for w in watchers), timeout=40, message="worker's viewers"
            )
            assert all(w.in_order() for w in watchers)
            # the numbered frames start at a keyframe: the first decoded ones are consecutive
            for w in watchers:
                first = w.numbers[:5]
                assert first == list(range(first[0], first[0] + 5)), first

            # a worker that dies is started again and serves again
            (process,) = _worker_processes(supervisor)
            process.send_signal(signal.SIGKILL)
            for w in watchers:
                await w.close()
            watchers.clear()
            again = await wait_for(
                lambda: _worker(store, not_id=worker.node_id), timeout=30, message="restarted"
            )
            assert "exited with code -9" in server.log()
            w = Watcher()
            watchers.append(w)
            await w.watch(http, f"{again.url}/whep/{session_id}")
            await wait_for(w.playing, timeout=40, message="restarted worker's viewer")
    finally:
        for w in watchers:
            await w.close()
        await host.close()
        kids = supervisor.children(recursive=True)
        assert server.stop(signal.SIGTERM) == 0, server.log()
        _gone, alive = psutil.wait_procs(kids, timeout=10)
        assert not alive, alive
