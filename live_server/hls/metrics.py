"""The LL-HLS tier on `/metrics`: origin requests by kind, bytes, playlist waits, repeats.

Behind a cache the origin should see about one request per object: `repeat_requests`
counts requests for an immutable file this process already served in full (the hint
that a cache in front is missing or not caching).
"""

from __future__ import annotations

from collections import OrderedDict

from live_server.platform.metrics import Metrics

#: request kinds counted (`kind` label)
KINDS = (
    "multivariant",
    "playlist",
    "blocking_playlist",
    "init",
    "segment",
    "part",
    "preload_part",
    "refused",
)
_REMEMBERED = 4096  # immutable URLs remembered for the repeat hint


class HlsMetrics:
    """Counters and the playlist-wait histogram, made once per app."""

    def __init__(self, metrics: Metrics) -> None:
        self._requests = metrics.counter(
            "liveshop_hls_requests", "LL-HLS requests reaching this origin", ["kind"]
        )
        for kind in KINDS:
            self._requests.labels(kind)
        self._bytes = metrics.counter(
            "liveshop_hls_bytes", "LL-HLS bytes of init, segments and parts sent by this origin"
        )
        self._repeats = metrics.counter(
            "liveshop_hls_repeat_requests",
            "Requests for an immutable LL-HLS file this origin had served already (a cache"
            " in front makes this about 0)",
        )
        self.playlist_wait = metrics.histogram(
            "liveshop_hls_playlist_wait_seconds",
            "How long blocking playlist reloads were held",
            buckets=(0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0),
        )
        self._seen: OrderedDict[str, None] = OrderedDict()

    def request(self, kind: str) -> None:
        """One request of `kind` reached the origin."""
        self._requests.labels(kind).inc()

    def served(self, epoch: str, name: str, size: int) -> None:
        """An immutable file went out (bytes, and the repeat hint)."""
        self._bytes.inc(size)
        key = f"{epoch}/{name}"
        if key in self._seen:
            self._repeats.inc()
            self._seen.move_to_end(key)
            return
        self._seen[key] = None
        if len(self._seen) > _REMEMBERED:
            self._seen.popitem(last=False)
