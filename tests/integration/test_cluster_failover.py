"""The origin node dies while an edge serves the show: the edge's viewer stays connected,
the show is "reconnecting", and once the host publishes again through another node the
edge follows the new origin's lease (a new fence) and the same viewer plays on, without a
new WHEP request."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from support.cluster import (
    Host,
    Nodes,
    Watcher,
    new_show,
    session_state,
    start_edge_node,
    start_full_node,
)
from support.helpers import wait_for

pytestmark = [pytest.mark.redis, pytest.mark.slow]


async def test_edge_viewer_survives_the_origin_and_follows_the_new_one(
    tmp_path: Path, prefix: str, nodes: Nodes, redis_keys: None
) -> None:
    a = nodes.add(start_full_node(tmp_path / "var", prefix))
    b = nodes.add(start_full_node(tmp_path / "var", prefix))
    edge = nodes.add(start_edge_node(tmp_path / "edge", prefix))
    hosts: list[Host] = []
    watcher = Watcher()
    async with aiohttp.ClientSession() as http:
        try:
            session_id, key, _ = await new_show(http, a.url)
            first = Host()
            hosts.append(first)
            await first.publish(http, a.url, session_id, key)
            await wait_for(lambda: _is(session_state(http, a.url, session_id), "live"), 20)
            await watcher.watch(http, f"{edge.url}/whep/{session_id}")
            assert watcher.location.startswith(edge.url)
            await wait_for(watcher.playing, timeout=30, message="the edge's viewer plays")

            a.kill()
            await wait_for(
                lambda: _is(session_state(http, b.url, session_id), "reconnecting"),
                timeout=15,
                message="reconnecting",
            )
            assert watcher.pc.connectionState == "connected"  # kept while the origin is away

            async def publish_through_b() -> bool:
                host = Host()
                hosts.append(host)
                try:
                    await host.publish(http, b.url, session_id, key)
                except RuntimeError as exc:
                    assert "publisher_busy" in str(exc), exc
                    return False
                return True

            await wait_for(publish_through_b, timeout=20, interval=0.5, message="B accepts")
            # the same peer connection plays the new origin's frames
            await watcher.advancing(frames=30, timeout=30)
            assert watcher.pc.connectionState == "connected"
            await wait_for(lambda: _is(session_state(http, b.url, session_id), "live"), 10)
            assert "relay from origin " + b.url in edge.log()
        finally:
            await watcher.close()
            for host in hosts:
                await host.close()


async def _is(value: object, expected: str) -> bool:
    return await value == expected  # type: ignore[misc]
