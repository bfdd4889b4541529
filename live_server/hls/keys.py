"""The LL-HLS feature's typed application keys."""

from __future__ import annotations

from aiohttp import web

from live_server.hls.metrics import HlsMetrics
from live_server.hls.service import HlsService

HLS: web.AppKey[HlsService] = web.AppKey("hls", HlsService)
HLS_METRICS: web.AppKey[HlsMetrics] = web.AppKey("hls_metrics", HlsMetrics)
