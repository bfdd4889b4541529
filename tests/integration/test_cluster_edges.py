"""Three real nodes on different ports, one Redis: an origin (full node) and two edges.

Viewers on every node decode the host's numbered frames in order. SIGKILL of one edge
leaves the other nodes' viewers playing (their frame numbers keep advancing); its viewers
come back through another node (a new WHEP POST to the primary, as the viewer page does,
routed to a node with room).
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from support.cluster import (
    Host,
    Nodes,
    Watcher,
    new_show,
    start_edge_node,
    start_full_node,
)
from support.helpers import wait_for

pytestmark = [pytest.mark.redis, pytest.mark.slow]


async def _metric(http: aiohttp.ClientSession, url: str, name: str) -> float:
    async with http.get(f"{url}/metrics") as resp:
        for line in (await resp.text()).splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"{name} not in {url}/metrics")


async def test_viewers_on_every_node_and_an_edge_dies(
    tmp_path: Path, prefix: str, nodes: Nodes, redis_keys: None
) -> None:
    origin = nodes.add(start_full_node(tmp_path / "origin", prefix))
    edge1 = nodes.add(start_edge_node(tmp_path / "edge1", prefix))
    edge2 = nodes.add(start_edge_node(tmp_path / "edge2", prefix))
    watchers: dict[str, list[Watcher]] = {"origin": [], "edge1": [], "edge2": []}
    host = Host()
    async with aiohttp.ClientSession() as http:
        try:
            session_id, key, _ = await new_show(http, origin.url)
            await host.publish(http, origin.url, session_id, key)
            await wait_for(
                lambda: _publishing(http, origin.url, session_id), timeout=20, message="live"
            )
            # an edge refuses a show that is not live anywhere, and answers for a live one
            for name, node in (("origin", origin), ("edge1", edge1), ("edge2", edge2)):
                for _ in range(2):
                    w = Watcher()
                    watchers[name].append(w)
                    # ask the node itself (a ticket-less request may be routed elsewhere:
                    # follow it, then check where it landed)
                    location = await w.watch(http, f"{node.url}/whep/{session_id}")
                    assert location.startswith(("http://127.0.0.1:", "/")), location
            everyone = [w for ws in watchers.values() for w in ws]
            await wait_for(
                lambda: all(w.playing() for w in everyone), timeout=40, message="all decode"
            )
            assert all(w.in_order() for w in everyone)
            served_by = {w.location.split("/whep/")[0] for w in everyone}
            assert served_by == {origin.url, edge1.url, edge2.url}, served_by
            # each edge pulls the show once, however many viewers it has
            assert await _metric(http, origin.url, "liveshop_cluster_relays") >= 1

            gone = [w for w in everyone if f":{edge1.port}/" in w.location]
            staying = [w for w in everyone if w not in gone]
            edge1.kill()
            for w in staying:
                await w.advancing(frames=30, timeout=20)
            # the dead edge's viewers come back through the primary (routed to a live node)
            for w in gone:
                await w.close()
            back = [Watcher() for _ in gone]
            for w in back:
                watchers["origin"].append(w)
                await w.watch(http, f"{origin.url}/whep/{session_id}")
                assert f":{edge1.port}/" not in w.location
            await wait_for(
                lambda: all(w.playing() for w in back), timeout=40, message="back on another node"
            )
            assert all(w.in_order() for w in back)
        finally:
            for ws in watchers.values():
                for w in ws:
                    await w.close()
            await host.close()


async def _publishing(http: aiohttp.ClientSession, url: str, session_id: int) -> bool:
    async with http.get(f"{url}/api/sessions/{session_id}/broadcast") as resp:
        return bool((await resp.json())["publishing"])
