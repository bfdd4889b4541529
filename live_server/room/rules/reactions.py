"""Reactions: the fixed set of kinds and per-room aggregation between ticks.

Viewers may tap as often as they like; the server adds taps up per room and sends the
sums once per tick, so the broadcast cost grows with rooms, not with taps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from live_server.room.events import REACTION_KINDS

__all__ = ["REACTION_KINDS", "ReactionAggregator", "clean_counts", "merge_counts"]

#: One client may add at most this many taps per event (a burst of taps is batched).
MAX_PER_EVENT = 50


def clean_counts(counts: Mapping[str, int]) -> dict[str, int]:
    """Keeps known kinds with positive counts (used on data read back from shared state)."""
    return {k: int(v) for k, v in counts.items() if k in REACTION_KINDS and int(v) > 0}


def merge_counts(into: dict[str, int], more: Mapping[str, int]) -> dict[str, int]:
    """Adds `more` into `into` (in place) and returns it."""
    for kind, n in more.items():
        into[kind] = into.get(kind, 0) + n
    return into


class ReactionAggregator:
    """Counts taps per room until the next tick drains them."""

    def __init__(self) -> None:
        self._pending: dict[int, Counter[str]] = {}

    def add(self, session_id: int, kind: str, count: int = 1) -> None:
        """Records `count` taps of `kind` (callers validated both)."""
        if kind not in REACTION_KINDS or count <= 0:
            return
        self._pending.setdefault(session_id, Counter())[kind] += min(count, MAX_PER_EVENT)

    def drain(self, session_id: int) -> dict[str, int]:
        """Returns and forgets the taps counted since the last drain."""
        counts = self._pending.pop(session_id, None)
        return dict(counts) if counts else {}

    def pending_rooms(self) -> list[int]:
        """Rooms with taps waiting."""
        return list(self._pending)
