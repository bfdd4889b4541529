"""Wiring of the LL-HLS tier: the service as the broadcast's tap provider, its routes,
its metrics and its lifetime (VOD clean-up at start, packagers flushed at shut-down)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from live_server.hls import routes
from live_server.hls.keys import HLS, HLS_METRICS
from live_server.hls.metrics import HlsMetrics
from live_server.hls.service import HlsConfig, HlsService, ViewerGate
from live_server.media import Media
from live_server.platform.core import Platform
from live_server.platform.signed_urls import UrlSigner
from live_server.shows import Shows
from recordings.llhls import PackagerConfig


@dataclass(frozen=True)
class Hls:
    """What the LL-HLS tier offers the features above it."""

    service: HlsService


def config_from(platform: Platform) -> HlsConfig:
    """The tier's configuration from the settings."""
    s = platform.settings
    part = s.hls_part_target_s
    segment = s.hls_segment_target_s
    return HlsConfig(
        enabled=s.hls == "on",
        transcode=s.hls_transcode,
        packager=PackagerConfig(
            # RFC 8216bis 4.4.4.9: a part lasts 85-100 % of PART-TARGET (but a segment's last
            # and independent ones): cut at the first frame at or after 85 %
            part_target_s=round(part * 0.85, 4),
            part_max_s=part,
            segment_target_s=segment,
            segment_max_s=float(max(2 * segment, segment + 1.0)),
        ),
        window_segments=s.hls_window_segments,
        vod_keep_s=s.hls_vod_keep_h * 3600.0,
    )


def setup(
    app: web.Application,
    platform: Platform,
    shows: Shows,
    media: Media,
    signer: UrlSigner,
    viewer_gate: ViewerGate | None = None,
) -> Hls:
    """Builds the service, hands it to the broadcast as a tap provider, serves /hls/.
    ``viewer_gate``: the room's ban check, asked before a playlist or grant is handed out."""
    service = HlsService(
        media.broadcast,
        shows.service,
        signer,
        platform.events,
        platform.settings.data_dir / "hls",
        config_from(platform),
        viewer_gate=viewer_gate,
    )
    media.broadcast.add_tap_provider(service)
    metrics = HlsMetrics(platform.metrics)
    platform.metrics.gauge(
        "liveshop_hls_streams",
        "Live shows this process packages as LL-HLS",
        lambda: sum(1 for s in service.streams() if not s.ended),
    )
    app[HLS] = service
    app[HLS_METRICS] = metrics
    app.cleanup_ctx.append(_hls_ctx)
    routes.setup(app)
    return Hls(service=service)


async def _hls_ctx(app: web.Application) -> AsyncIterator[None]:
    service = app[HLS]
    await service.start()
    yield
    await service.close()
