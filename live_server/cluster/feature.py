"""Wiring of the cluster: the store (Redis when configured, else memory), the service, its
heartbeat's lifetime and its ``/metrics`` gauges."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from live_server.cluster.keys import CLUSTER
from live_server.cluster.rules import ROLE_EDGE, ROLE_PRIMARY
from live_server.cluster.service import Cluster, ClusterConfig
from live_server.cluster.store import ClusterStore, MemoryClusterStore, RedisClusterStore
from live_server.platform.core import Platform


def build(platform: Platform) -> Cluster:
    """The cluster service for this process (nothing connects until the app starts)."""
    s = platform.settings
    store: ClusterStore
    if platform.redis is not None:
        store = RedisClusterStore(platform.redis, s.redis_prefix)
    else:
        store = MemoryClusterStore()
    config = ClusterConfig(
        url=(s.public_url or "").rstrip("/"),
        role=ROLE_EDGE if s.role == "edge" else ROLE_PRIMARY,
        secret=s.cluster_secret or None,
        capacity=s.max_webrtc_viewers,
        cpu_limit=s.cluster_cpu_limit,
        lease_ttl_s=s.cluster_lease_ttl_s,
    )
    return Cluster(store, config, shared=platform.redis is not None)


def setup(app: web.Application, platform: Platform) -> Cluster:
    """Builds the cluster service, runs its heartbeat while the app runs, adds its gauges."""
    cluster = build(platform)
    app[CLUSTER] = cluster
    app.cleanup_ctx.append(_cluster_ctx)
    m = platform.metrics
    m.gauge(
        "liveshop_cluster_nodes",
        "Nodes in the cluster registry (this one included)",
        lambda: len(cluster.nodes()),
    )
    m.gauge(
        "liveshop_cluster_webrtc_viewers",
        "WebRTC viewers served by this node",
        lambda: cluster.here().webrtc_viewers,
    )
    m.gauge(
        "liveshop_cluster_webrtc_viewers_total",
        "WebRTC viewers served by every node of the cluster",
        lambda: sum(n.webrtc_viewers for n in cluster.nodes()),
    )
    m.gauge(
        "liveshop_cluster_relays",
        "Relay legs this node feeds to other nodes (as an origin)",
        lambda: cluster.here().relays,
    )
    m.gauge(
        "liveshop_cluster_origin_leases",
        "Shows whose origin lease this node holds",
        lambda: cluster.lease_count(),
    )
    m.gauge(
        "liveshop_cluster_out_bitrate_bits",
        "Estimated media bits per second this node sends to viewers and relays",
        lambda: cluster.here().out_bitrate,
    )
    return cluster


async def _cluster_ctx(app: web.Application) -> AsyncIterator[None]:
    cluster = app[CLUSTER]
    await cluster.start()
    yield
    await cluster.close()
