"""The single-node live state: plain dictionaries in this process."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping

from live_server.room.rules.chat import Bucket, take_token
from live_server.room.rules.moderation import RoomConfig
from live_server.room.rules.presence import Audience, sum_node_audiences


class MemoryLiveState:
    """The single-node implementation: plain dictionaries in this process."""

    def __init__(self, node_id: str | None = None) -> None:
        self.node_id = node_id or uuid.uuid4().hex[:12]
        self._viewers: dict[int, dict[str, tuple[Audience, float]]] = {}
        self._peaks: dict[int, int] = {}
        self._buckets: dict[str, Bucket] = {}
        self._last_post: dict[tuple[int, int], float] = {}
        self._bans: dict[int, set[int]] = {}
        self._timeouts: dict[tuple[int, int], float] = {}
        self._configs: dict[int, RoomConfig] = {}
        self._pins: dict[int, list[int]] = {}
        self._reactions: dict[int, Counter[str]] = {}
        self._sockets: dict[tuple[int, int], set[str]] = {}
        self._counters: dict[str, int] = {}

    async def publish_audience(self, session_id: int, audience: Audience, now: float) -> Audience:
        nodes = self._viewers.setdefault(session_id, {})
        nodes[self.node_id] = (audience, now)
        return sum_node_audiences(nodes, now)

    async def raise_peak(self, session_id: int, viewers: int) -> int:
        peak = max(self._peaks.get(session_id, 0), viewers)
        self._peaks[session_id] = peak
        return peak

    async def take_token(self, key: str, now: float, rate: float, burst: float) -> float:
        if len(self._buckets) > 100_000:  # bound memory: forget long-full buckets
            cutoff = now - burst / max(rate, 1e-9)
            self._buckets = {k: b for k, b in self._buckets.items() if b.updated_at > cutoff}
        allowed, bucket, wait = take_token(self._buckets.get(key), now, rate, burst)
        self._buckets[key] = bucket
        return 0.0 if allowed else wait

    async def claim_slow_mode(
        self, session_id: int, user_id: int, seconds: int, now: float
    ) -> float:
        last = self._last_post.get((session_id, user_id))
        if last is not None and now < last + seconds:
            return last + seconds - now
        self._last_post[(session_id, user_id)] = now
        return 0.0

    async def set_banned(self, session_id: int, user_id: int, banned: bool) -> None:
        bans = self._bans.setdefault(session_id, set())
        if banned:
            bans.add(user_id)
        else:
            bans.discard(user_id)

    async def is_banned(self, session_id: int, user_id: int) -> bool:
        return user_id in self._bans.get(session_id, set())

    async def set_timeout(self, session_id: int, user_id: int, until: float, now: float) -> None:
        if until <= now:
            self._timeouts.pop((session_id, user_id), None)
        else:
            self._timeouts[(session_id, user_id)] = until

    async def timeout_until(self, session_id: int, user_id: int, now: float) -> float | None:
        until = self._timeouts.get((session_id, user_id))
        return until if until is not None and until > now else None

    async def get_config(self, session_id: int) -> RoomConfig | None:
        return self._configs.get(session_id)

    async def set_config(self, session_id: int, config: RoomConfig) -> None:
        self._configs[session_id] = config

    async def get_pins(self, session_id: int) -> list[int] | None:
        pins = self._pins.get(session_id)
        return list(pins) if pins is not None else None

    async def set_pins(self, session_id: int, product_ids: list[int]) -> None:
        self._pins[session_id] = list(product_ids)

    async def add_reactions(self, session_id: int, counts: Mapping[str, int]) -> None:
        self._reactions.setdefault(session_id, Counter()).update(counts)

    async def drain_reactions(self, session_id: int) -> dict[str, int]:
        counts = self._reactions.pop(session_id, None)
        return dict(counts) if counts else {}

    async def acquire_tick_lease(self, session_id: int, ttl: float) -> bool:
        return True

    async def add_socket(self, session_id: int, user_id: int, sid: str) -> None:
        self._sockets.setdefault((session_id, user_id), set()).add(sid)

    async def remove_socket(self, session_id: int, user_id: int, sid: str) -> None:
        sids = self._sockets.get((session_id, user_id))
        if sids is not None:
            sids.discard(sid)
            if not sids:
                del self._sockets[(session_id, user_id)]

    async def user_sockets(self, session_id: int, user_id: int) -> set[str]:
        return set(self._sockets.get((session_id, user_id), set()))

    async def next_id(self, name: str, floor: int) -> int:
        value = max(self._counters.get(name, 0), floor) + 1
        self._counters[name] = value
        return value

    async def close(self) -> None:
        return None
