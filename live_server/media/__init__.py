"""The media plane: WHIP ingest, WHEP fan-out of encoded frames, keyframes, recorder tap.

Other features and the transports use what is re-exported here.
"""

from live_server.media.audience import VideoAudience
from live_server.media.broadcast import BroadcastService, TapProvider
from live_server.media.feature import Media, setup, setup_edge
from live_server.media.keys import BROADCAST, VIDEO_AUDIENCE, VIEWING
from live_server.media.sdp import MAX_SDP_BYTES
from live_server.media.sfu import MediaTap
from live_server.media.viewing import NodeViewing

__all__ = [
    "BROADCAST",
    "MAX_SDP_BYTES",
    "VIDEO_AUDIENCE",
    "VIEWING",
    "BroadcastService",
    "Media",
    "MediaTap",
    "NodeViewing",
    "TapProvider",
    "VideoAudience",
    "setup",
    "setup_edge",
]
