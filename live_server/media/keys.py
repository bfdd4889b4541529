"""The media feature's typed application keys."""

from __future__ import annotations

from aiohttp import web

from live_server.media.audience import VideoAudience
from live_server.media.broadcast import BroadcastService
from live_server.media.relay import RelayPuller
from live_server.media.viewing import NodeViewing

BROADCAST: web.AppKey[BroadcastService] = web.AppKey("broadcast", BroadcastService)
VIEWING: web.AppKey[NodeViewing] = web.AppKey("viewing", NodeViewing)
RELAYS: web.AppKey[RelayPuller] = web.AppKey("relays", RelayPuller)
#: Who watches on WebRTC on this node (the WHEP handler names its viewers here).
VIDEO_AUDIENCE: web.AppKey[VideoAudience] = web.AppKey("video_audience", VideoAudience)
