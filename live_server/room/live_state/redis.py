"""The multi-node live state: every node shares the same Redis keys.

Read-modify-write steps (rate-limit buckets, slow mode, peaks, id counters, the tick
lease) run as Lua scripts so that they are atomic over nodes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis

from live_server.platform.redis_client import redis_from_url
from live_server.room.rules.moderation import RoomConfig
from live_server.room.rules.presence import NODE_COUNT_TTL_S, Audience, sum_node_audiences
from live_server.room.rules.reactions import clean_counts

#: How long room keys outlive their last write in Redis.
ROOM_TTL_S = 24 * 3600


# Token bucket in Lua: the same arithmetic as live_server.room.rules.chat.take_token, done
# atomically in Redis so every node draws from one bucket. Returns the wait as a string
# (Lua numbers would be truncated to integers in the reply).
_TAKE_TOKEN = """
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 't', 'u')
local tokens = tonumber(v[1])
if tokens == nil then
  tokens = burst
else
  tokens = math.min(burst, tokens + math.max(0, now - tonumber(v[2])) * rate)
end
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'u', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return tostring(wait)
"""

_SLOW_MODE = """
local now = tonumber(ARGV[1])
local seconds = tonumber(ARGV[2])
local last = tonumber(redis.call('GET', KEYS[1]))
if last ~= nil and now < last + seconds then return tostring(last + seconds - now) end
redis.call('SET', KEYS[1], tostring(now), 'PX', math.floor(seconds * 1000) + 1)
return '0'
"""

_RAISE_PEAK = """
local peak = tonumber(redis.call('GET', KEYS[1]) or '0')
local v = tonumber(ARGV[1])
if v > peak then peak = v end
redis.call('SET', KEYS[1], peak, 'EX', ARGV[2])
return peak
"""

_NEXT_ID = """
local v = redis.call('INCR', KEYS[1])
local floor = tonumber(ARGV[1])
if v <= floor then
  v = floor + 1
  redis.call('SET', KEYS[1], v)
end
return v
"""

_LEASE = """
local cur = redis.call('GET', KEYS[1])
if (not cur) or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


class RedisLiveState:
    """The multi-node implementation: every node shares these Redis keys."""

    def __init__(self, redis: Redis, prefix: str = "liveshop", node_id: str | None = None) -> None:
        self.node_id = node_id or uuid.uuid4().hex[:12]
        self._r = redis
        self._p = prefix
        self._take_token = redis.register_script(_TAKE_TOKEN)
        self._slow_mode = redis.register_script(_SLOW_MODE)
        self._raise_peak = redis.register_script(_RAISE_PEAK)
        self._lease = redis.register_script(_LEASE)
        self._next_id = redis.register_script(_NEXT_ID)

    @classmethod
    def from_url(cls, url: str, prefix: str = "liveshop") -> RedisLiveState:
        """Connects lazily to the Redis at `url`."""
        return cls(redis_from_url(url, decode_responses=True), prefix)

    def _k(self, *parts: object) -> str:
        return ":".join([self._p, *map(str, parts)])

    async def publish_audience(self, session_id: int, audience: Audience, now: float) -> Audience:
        # Two hashes, node -> "count:time" (the format every node version reads) and
        # node -> "webrtc:hls:time", written and read in one round trip.
        key = self._k("viewers", session_id)
        tiers_key = self._k("viewer_tiers", session_id)
        async with self._r.pipeline(transaction=False) as pipe:
            pipe.hset(key, self.node_id, f"{audience.viewers}:{now}")
            pipe.hset(tiers_key, self.node_id, f"{audience.webrtc}:{audience.hls}:{now}")
            pipe.expire(key, ROOM_TTL_S)
            pipe.expire(tiers_key, ROOM_TTL_S)
            pipe.hgetall(key)
            pipe.hgetall(tiers_key)
            results: list[Any] = await pipe.execute()
        tiers: dict[str, tuple[int, int]] = {}
        for node, value in results[5].items():
            webrtc, hls, at = value.split(":", 2)
            if now - float(at) <= NODE_COUNT_TTL_S:
                tiers[node] = (int(webrtc), int(hls))
        nodes: dict[str, tuple[Audience, float]] = {}
        stale: list[str] = []
        for node, value in results[4].items():
            n, _, at = value.partition(":")
            webrtc, hls = tiers.get(node, (0, 0))
            nodes[node] = (Audience(int(n), webrtc, hls), float(at))
            if now - float(at) > 6 * NODE_COUNT_TTL_S:
                stale.append(node)
        if stale:
            async with self._r.pipeline(transaction=False) as pipe:
                pipe.hdel(key, *stale)
                pipe.hdel(tiers_key, *stale)
                await pipe.execute()
        return sum_node_audiences(nodes, now)

    async def raise_peak(self, session_id: int, viewers: int) -> int:
        return int(
            await self._raise_peak(keys=[self._k("peak", session_id)], args=[viewers, ROOM_TTL_S])
        )

    async def take_token(self, key: str, now: float, rate: float, burst: float) -> float:
        ttl_ms = int(burst / max(rate, 1e-9) * 1000) + 1000
        wait = await self._take_token(keys=[self._k("rate", key)], args=[now, rate, burst, ttl_ms])
        return float(wait)

    async def claim_slow_mode(
        self, session_id: int, user_id: int, seconds: int, now: float
    ) -> float:
        key = self._k("slow", session_id, user_id)
        return float(await self._slow_mode(keys=[key], args=[now, seconds]))

    async def set_banned(self, session_id: int, user_id: int, banned: bool) -> None:
        key = self._k("bans", session_id)
        if banned:
            await self._r.sadd(key, user_id)
            await self._r.expire(key, ROOM_TTL_S)
        else:
            await self._r.srem(key, user_id)

    async def is_banned(self, session_id: int, user_id: int) -> bool:
        return bool(await self._r.sismember(self._k("bans", session_id), str(user_id)))

    async def set_timeout(self, session_id: int, user_id: int, until: float, now: float) -> None:
        key = self._k("timeout", session_id, user_id)
        if until <= now:
            await self._r.delete(key)
        else:
            await self._r.set(key, str(until), px=int((until - now) * 1000) + 1)

    async def timeout_until(self, session_id: int, user_id: int, now: float) -> float | None:
        value = await self._r.get(self._k("timeout", session_id, user_id))
        if value is None or float(value) <= now:
            return None
        return float(value)

    async def get_config(self, session_id: int) -> RoomConfig | None:
        raw = await self._r.get(self._k("config", session_id))
        if raw is None:
            return None
        data = json.loads(raw)
        return RoomConfig(
            slow_mode_seconds=int(data["slow_mode_seconds"]),
            allow_anonymous=bool(data["allow_anonymous"]),
            blocked_words=tuple(data["blocked_words"]),
        )

    async def set_config(self, session_id: int, config: RoomConfig) -> None:
        data = {
            "slow_mode_seconds": config.slow_mode_seconds,
            "allow_anonymous": config.allow_anonymous,
            "blocked_words": list(config.blocked_words),
        }
        await self._r.set(self._k("config", session_id), json.dumps(data), ex=ROOM_TTL_S)

    async def get_pins(self, session_id: int) -> list[int] | None:
        raw = await self._r.get(self._k("pins", session_id))
        return [int(p) for p in json.loads(raw)] if raw is not None else None

    async def set_pins(self, session_id: int, product_ids: list[int]) -> None:
        await self._r.set(self._k("pins", session_id), json.dumps(product_ids), ex=ROOM_TTL_S)

    async def add_reactions(self, session_id: int, counts: Mapping[str, int]) -> None:
        if not counts:
            return
        key = self._k("reactions", session_id)
        async with self._r.pipeline(transaction=False) as pipe:
            for kind, n in counts.items():
                pipe.hincrby(key, kind, n)
            pipe.expire(key, ROOM_TTL_S)
            await pipe.execute()

    async def drain_reactions(self, session_id: int) -> dict[str, int]:
        key = self._k("reactions", session_id)
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.delete(key)
            results: list[Any] = await pipe.execute()
        return clean_counts({k: int(v) for k, v in results[0].items()})

    async def acquire_tick_lease(self, session_id: int, ttl: float) -> bool:
        key = self._k("ticker", session_id)
        return bool(await self._lease(keys=[key], args=[self.node_id, int(ttl * 1000)]))

    async def add_socket(self, session_id: int, user_id: int, sid: str) -> None:
        key = self._k("sockets", session_id, user_id)
        await self._r.sadd(key, sid)
        await self._r.expire(key, ROOM_TTL_S)

    async def remove_socket(self, session_id: int, user_id: int, sid: str) -> None:
        await self._r.srem(self._k("sockets", session_id, user_id), sid)

    async def user_sockets(self, session_id: int, user_id: int) -> set[str]:
        members = await self._r.smembers(self._k("sockets", session_id, user_id))
        return {str(m) for m in members}

    async def next_id(self, name: str, floor: int) -> int:
        return int(await self._next_id(keys=[self._k("ids", name)], args=[floor]))

    async def delete_all(self) -> int:
        """Removes every key under this prefix (tests and `liveshop` maintenance)."""
        removed = 0
        async for key in self._r.scan_iter(match=f"{self._p}:*", count=500):
            removed += int(await self._r.delete(key))
        return removed

    async def close(self) -> None:
        await self._r.aclose()
