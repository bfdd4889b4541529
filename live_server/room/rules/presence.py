"""Presence: viewer counts (also per video tier), peaks, watch time and how often presence
is broadcast."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: Presence goes out at most this often, however fast viewers come and go.
PRESENCE_INTERVAL_S = 1.0
#: A node's published viewer count is trusted for this long without a refresh.
NODE_COUNT_TTL_S = 10.0
#: A viewer's watch time grows by at most this much per heartbeat, so a stalled node or a
#: clock jump does not credit hours of watching.
MAX_WATCH_STEP_S = 30.0

#: The video tiers a viewer page reports (`room:watch_tier`), most real-time first:
#: WebRTC (WHEP, under a second) and LL-HLS (through caches, a few seconds behind).
TIERS: tuple[str, ...] = ("webrtc", "hls")


@dataclass(frozen=True)
class Audience:
    """Distinct viewers of a room, and how many of them said which tier they watch on.

    Viewers that never said (a chat-only client, an older page) count in `viewers` only,
    so `webrtc + hls <= viewers`.
    """

    viewers: int = 0
    webrtc: int = 0
    hls: int = 0


@dataclass(frozen=True)
class Presence:
    """What viewers see: the current and peak number of viewers, and the current ones per
    tier (the host's studio shows "N watching · X real-time · Y standard latency")."""

    viewers: int
    peak: int
    webrtc: int = 0
    hls: int = 0

    def as_payload(self) -> dict[str, object]:
        """The JSON shape sent to clients."""
        return {
            "viewers": self.viewers,
            "peak": self.peak,
            "tiers": {"webrtc": self.webrtc, "hls": self.hls},
        }


def tier_of(sockets_per_tier: Mapping[str, int]) -> str | None:
    """The tier a viewer counts in, from how many of its sockets watch on each tier.

    A viewer with two tabs, one on each tier, is counted once, in the more real-time one;
    a viewer none of whose sockets said a tier is in no tier.
    """
    for tier in TIERS:
        if sockets_per_tier.get(tier, 0) > 0:
            return tier
    return None


class PresenceThrottle:
    """Decides when a room's presence is worth broadcasting.

    At most once per interval, and only when the numbers changed since the last send.
    """

    def __init__(self, interval: float = PRESENCE_INTERVAL_S) -> None:
        self.interval = interval
        self._last_sent: Presence | None = None
        self._last_at = float("-inf")

    def due(self, now: float) -> bool:
        """Whether the interval has passed since the last broadcast."""
        return now - self._last_at >= self.interval

    def offer(self, presence: Presence, now: float) -> Presence | None:
        """Returns `presence` if it should be sent now (and records it), else None."""
        if not self.due(now) or presence == self._last_sent:
            return None
        self._last_sent = presence
        self._last_at = now
        return presence


def sum_node_counts(counts: dict[str, tuple[int, float]], now: float) -> int:
    """Sums the viewer counts nodes published, ignoring nodes silent for too long."""
    return sum(n for n, at in counts.values() if now - at <= NODE_COUNT_TTL_S and n > 0)


def sum_node_audiences(audiences: Mapping[str, tuple[Audience, float]], now: float) -> Audience:
    """Sums what nodes published, per tier too, ignoring nodes silent for too long."""
    live = [a for a, at in audiences.values() if now - at <= NODE_COUNT_TTL_S]
    return Audience(
        viewers=sum(max(0, a.viewers) for a in live),
        webrtc=sum(max(0, a.webrtc) for a in live),
        hls=sum(max(0, a.hls) for a in live),
    )


def watch_increment(last_seen: float, now: float) -> float:
    """Seconds of watching to credit between two sightings of the same viewer."""
    return min(MAX_WATCH_STEP_S, max(0.0, now - last_seen))


def minute_of(ts: float) -> int:
    """The epoch minute (floor(ts / 60) * 60) a timestamp falls in, for per-minute stats."""
    return int(ts // 60) * 60
