"""The origin lease and the node registry on the real Redis (and the in-memory twin).

The fencing token is what keeps two origins from both being accepted: a node whose lease
expired (it stalled, or Redis lost it) and was taken by another node cannot renew or
release the new holder's lease with its old fence.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from live_server.cluster import Lease, MemoryClusterStore, NodeInfo, RedisClusterStore
from live_server.cluster.store import ClusterStore
from support.cluster import REDIS_URL, new_prefix
from support.helpers import wait_for

pytestmark = pytest.mark.redis


@pytest.fixture(params=["redis", "memory"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[ClusterStore]:
    if request.param == "memory":
        yield MemoryClusterStore()
        return
    redis_store = RedisClusterStore.from_url(REDIS_URL, new_prefix("store"))
    try:
        yield redis_store
    finally:
        await redis_store.delete_all()
        await redis_store.close()


def want(node: str, session_id: int = 1) -> Lease:
    return Lease(session_id, node, f"http://{node}", 0, public=True)


async def test_one_origin_per_show_and_a_stale_fence_is_refused(store: ClusterStore) -> None:
    a = await store.acquire(want("a"), ttl_ms=300)
    assert a is not None and a.fence >= 1
    assert await store.acquire(want("b"), ttl_ms=300) is None  # b must not become origin
    again = await store.acquire(want("a"), ttl_ms=300)  # the holder takes it again
    assert again is not None and again.fence == a.fence
    assert await store.renew(a, ttl_ms=300)
    held, ended = await store.origin(1)
    assert held == a and not ended

    # a stalls past its TTL; b takes over with a higher fence
    await wait_for(lambda: _free(store), timeout=5, message="lease expires")
    b = await store.acquire(want("b"), ttl_ms=5000)
    assert b is not None and b.fence > a.fence
    # the stale origin's renewal and release are refused: b stays the origin
    assert not await store.renew(a, ttl_ms=5000)
    assert not await store.release(a)
    held, _ = await store.origin(1)
    assert held is not None and held.node_id == "b" and held.fence == b.fence

    # visibility travels with the lease; the end leaves a marker, then the next lease
    assert await store.renew(Lease(1, "b", b.url, b.fence, public=False), ttl_ms=5000)
    held, _ = await store.origin(1)
    assert held is not None and held.public is False
    assert await store.release(b)
    held, ended = await store.origin(1)
    assert held is None and ended
    c = await store.acquire(want("c"), ttl_ms=300)
    assert c is not None and c.fence > b.fence
    assert (await store.origin(2)) == (None, False)


async def _free(store: ClusterStore) -> bool:
    held, _ = await store.origin(1)
    return held is None


async def test_simultaneous_acquires_give_exactly_one_origin(store: ClusterStore) -> None:
    results = await asyncio.gather(*(store.acquire(want(f"n{i}", 5), 5000) for i in range(20)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1


async def test_the_registry_forgets_nodes_that_stop_refreshing(store: ClusterStore) -> None:
    await store.publish_node(NodeInfo("a", "http://a", webrtc_viewers=3, shows={1: 3}), 5000)
    await store.publish_node(NodeInfo("b", "http://b", role="edge"), 200)
    nodes = {n.node_id: n for n in await store.nodes()}
    assert nodes["a"].shows == {1: 3} and nodes["b"].role == "edge"
    await wait_for(lambda: _ids(store, {"a"}), timeout=5, message="b's entry expires")
    await store.remove_node("a")
    assert await store.nodes() == []


async def _ids(store: ClusterStore, expected: set[str]) -> bool:
    return {n.node_id for n in await store.nodes()} == expected
