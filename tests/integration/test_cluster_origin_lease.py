"""The origin lease across two real full nodes (one Redis, one database).

While the host is live through node A, a host connection to node B is refused (409
``publisher_busy``): two origins for one show are never both accepted. After A dies
(SIGKILL: no clean-up, its lease simply stops being renewed) B marks the show reconnecting,
the host publishes again through B well within the reconnect grace, and B serves it.
"""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import pytest

from support.cluster import (
    Host,
    Nodes,
    Watcher,
    new_show,
    session_state,
    start_full_node,
)
from support.helpers import wait_for

pytestmark = [pytest.mark.redis, pytest.mark.slow]


async def test_second_origin_refused_then_host_moves_after_the_origin_dies(
    tmp_path: Path, prefix: str, nodes: Nodes, redis_keys: None
) -> None:
    data = tmp_path / "var"
    a = nodes.add(start_full_node(data, prefix))
    b = nodes.add(start_full_node(data, prefix))
    hosts: list[Host] = []
    watcher = Watcher()
    async with aiohttp.ClientSession() as http:
        try:
            session_id, key, _ = await new_show(http, a.url)
            first = Host()
            hosts.append(first)
            await first.publish(http, a.url, session_id, key)
            await wait_for(lambda: _is(session_state(http, a.url, session_id), "live"), timeout=20)

            second = Host()
            hosts.append(second)
            with pytest.raises(RuntimeError) as refused:
                await second.publish(http, b.url, session_id, key)
            assert " 409 " in str(refused.value) and "publisher_busy" in str(refused.value)
            assert "another server" in str(refused.value)

            a.kill()
            killed_at = time.monotonic()
            # B sees the origin's lease expire unreleased: the show is reconnecting
            await wait_for(
                lambda: _is(session_state(http, b.url, session_id), "reconnecting"),
                timeout=15,
                message="reconnecting after the origin died",
            )

            async def publish_through_b() -> bool:
                host = Host()  # a fresh connection per attempt, as a reconnecting encoder
                hosts.append(host)
                try:
                    await host.publish(http, b.url, session_id, key)
                except RuntimeError as exc:
                    assert "publisher_busy" in str(exc), exc  # only the lease may refuse
                    return False
                return True

            await wait_for(publish_through_b, timeout=25, interval=0.5, message="B accepts")
            moved_after = time.monotonic() - killed_at
            assert moved_after < 15, moved_after  # the grace period is 30 s
            await wait_for(lambda: _publishing(http, b.url, session_id), timeout=20)
            await wait_for(lambda: _is(session_state(http, b.url, session_id), "live"), timeout=10)
            await watcher.watch(http, f"{b.url}/whep/{session_id}")
            await wait_for(watcher.playing, timeout=30, message="B's viewer plays")
            assert watcher.in_order()
        finally:
            await watcher.close()
            for host in hosts:
                await host.close()


async def _publishing(http: aiohttp.ClientSession, url: str, session_id: int) -> bool:
    async with http.get(f"{url}/api/sessions/{session_id}/broadcast") as resp:
        return bool((await resp.json())["publishing"])


async def _is(value: object, expected: str) -> bool:
    return await value == expected  # type: ignore[misc]
