"""Presence: viewer counts, peaks, watch time and how often presence is broadcast."""

from __future__ import annotations

from dataclasses import dataclass

#: Presence goes out at most this often, however fast viewers come and go.
PRESENCE_INTERVAL_S = 1.0
#: A node's published viewer count is trusted for this long without a refresh.
NODE_COUNT_TTL_S = 10.0
#: A viewer's watch time grows by at most this much per heartbeat, so a stalled node or a
#: clock jump does not credit hours of watching.
MAX_WATCH_STEP_S = 30.0


@dataclass(frozen=True)
class Presence:
    """What viewers see: the current and peak number of viewers."""

    viewers: int
    peak: int

    def as_payload(self) -> dict[str, int]:
        """The JSON shape sent to clients."""
        return {"viewers": self.viewers, "peak": self.peak}


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


def watch_increment(last_seen: float, now: float) -> float:
    """Seconds of watching to credit between two sightings of the same viewer."""
    return min(MAX_WATCH_STEP_S, max(0.0, now - last_seen))


def minute_of(ts: float) -> int:
    """The epoch minute (floor(ts / 60) * 60) a timestamp falls in, for per-minute stats."""
    return int(ts // 60) * 60
