"""The cluster feature's typed application keys."""

from __future__ import annotations

from aiohttp import web

from live_server.cluster.service import Cluster

CLUSTER: web.AppKey[Cluster] = web.AppKey("cluster", Cluster)
