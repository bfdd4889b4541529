"""The cluster: origin leases with fencing tokens, the node registry, viewer routing.

Other features and the transports use what is re-exported here.
"""

from live_server.cluster.feature import build, setup
from live_server.cluster.keys import CLUSTER
from live_server.cluster.rules import (
    ROLE_EDGE,
    ROLE_PRIMARY,
    Decision,
    Full,
    Lease,
    NodeInfo,
    RedirectTo,
    ServeHere,
)
from live_server.cluster.service import (
    Cluster,
    ClusterConfig,
    NodeLoad,
    OriginBusy,
    default_workers,
)
from live_server.cluster.store import ClusterStore, MemoryClusterStore, RedisClusterStore

__all__ = [
    "CLUSTER",
    "ROLE_EDGE",
    "ROLE_PRIMARY",
    "Cluster",
    "ClusterConfig",
    "ClusterStore",
    "Decision",
    "Full",
    "Lease",
    "MemoryClusterStore",
    "NodeInfo",
    "NodeLoad",
    "OriginBusy",
    "RedirectTo",
    "RedisClusterStore",
    "ServeHere",
    "build",
    "default_workers",
    "setup",
]
