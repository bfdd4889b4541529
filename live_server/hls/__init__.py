"""The LL-HLS tier: every live show packaged once (CMAF parts and segments) for caches
and CDNs to carry to the crowd, with blocking playlist reload and signed private grants.

Other features and the composition root use what is re-exported here.
"""

from live_server.hls.feature import Hls, setup
from live_server.hls.keys import HLS
from live_server.hls.service import HlsService

__all__ = ["HLS", "Hls", "HlsService", "setup"]
