"""The media plane: WHIP ingest, WHEP fan-out of encoded frames, keyframes, recorder tap.

Other features and the transports use what is re-exported here.
"""

from live_server.media.broadcast import BroadcastService, TapProvider
from live_server.media.feature import Media, setup
from live_server.media.keys import BROADCAST
from live_server.media.sdp import MAX_SDP_BYTES
from live_server.media.sfu import MediaTap

__all__ = [
    "BROADCAST",
    "MAX_SDP_BYTES",
    "BroadcastService",
    "Media",
    "MediaTap",
    "TapProvider",
    "setup",
]
