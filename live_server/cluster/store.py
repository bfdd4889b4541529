"""Where the cluster's facts live: each show's origin lease and the node registry.

``RedisClusterStore`` shares them between processes and machines; ``MemoryClusterStore``
is its twin for a single process without Redis (the default). Keys (under the prefix):

- ``origin:{session_id}``: the lease, JSON ``{node, url, fence, public}`` with a TTL;
  ``"ended"`` for a minute once its origin released it at the show's end.
- ``origin-fence:{session_id}``: the fencing counter; every new lease gets ``INCR`` of it,
  so a renewal or release that names an older fence is refused.
- ``node:{node_id}``: one hash per node (``NodeInfo.to_fields``) with a TTL, refreshed
  every heartbeat; ``nodes``: the set of node ids (entries whose hash expired are pruned).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol

from live_server.cluster.rules import ENDED_MARKER, Lease, NodeInfo

if TYPE_CHECKING:
    from redis.asyncio import Redis

#: how long the end marker stays after a release (edges drop their viewers on it)
ENDED_TTL_MS = 60_000
#: a fence counter outlives its show by a day (a later lease still gets a higher fence)
FENCE_TTL_S = 24 * 3600


class ClusterStore(Protocol):
    """Leases and the registry; every call is one atomic step."""

    async def acquire(self, lease: Lease, ttl_ms: int) -> Lease | None:
        """Take the show's origin lease for ``lease.node_id`` (its fence is assigned here);
        the holder's own live lease is taken again with its fence. None when another node
        holds it."""

    async def renew(self, lease: Lease, ttl_ms: int) -> bool:
        """Extend (and rewrite) the lease; False when its fence no longer holds it."""

    async def release(self, lease: Lease) -> bool:
        """End the lease (the show ended here); False when its fence no longer holds it."""

    async def origin(self, session_id: int) -> tuple[Lease | None, bool]:
        """(the live lease or None, whether the show's end marker is there)."""

    async def had_origin(self, session_id: int) -> bool:
        """True when some node held the show's lease once (within a day)."""

    async def publish_node(self, node: NodeInfo, ttl_ms: int) -> None:
        """Write this node's registry entry."""

    async def remove_node(self, node_id: str) -> None:
        """Take a node out of the registry (clean shut-down)."""

    async def nodes(self) -> list[NodeInfo]:
        """Every registered node whose entry has not expired."""

    async def close(self) -> None:
        """Release connections (only those the store opened itself)."""


# Lua: every read-check-write is one atomic step on the Redis server.
_ACQUIRE = """
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[4] then
  local holder = cjson.decode(cur)
  if holder['node'] ~= ARGV[1] then return {0, cur} end
  local mine = cjson.decode(ARGV[2])
  mine['fence'] = holder['fence']
  local value = cjson.encode(mine)
  redis.call('SET', KEYS[1], value, 'PX', ARGV[3])
  return {1, value}
end
local fence = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[5])
local mine = cjson.decode(ARGV[2])
mine['fence'] = fence
local value = cjson.encode(mine)
redis.call('SET', KEYS[1], value, 'PX', ARGV[3])
return {1, value}
"""

_RENEW = """
local cur = redis.call('GET', KEYS[1])
if not cur or cur == ARGV[4] then return 0 end
local holder = cjson.decode(cur)
if tonumber(holder['fence']) ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""

_RELEASE = """
local cur = redis.call('GET', KEYS[1])
if not cur or cur == ARGV[3] then return 0 end
local holder = cjson.decode(cur)
if tonumber(holder['fence']) ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[2])
return 1
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisClusterStore:
    """The multi-node store: every node reads and writes the same keys."""

    def __init__(self, redis: Redis, prefix: str = "liveshop", owns_client: bool = False) -> None:
        self._r = redis
        self._p = prefix
        self._owns = owns_client
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    @classmethod
    def from_url(cls, url: str, prefix: str = "liveshop") -> RedisClusterStore:
        """A store with a client of its own (tests, tools)."""
        from live_server.platform.redis_client import redis_from_url

        return cls(redis_from_url(url), prefix, owns_client=True)

    @property
    def prefix(self) -> str:
        """The key prefix (one per deployment, one per test)."""
        return self._p

    def _k(self, *parts: object) -> str:
        return ":".join([self._p, *map(str, parts)])

    async def acquire(self, lease: Lease, ttl_ms: int) -> Lease | None:
        sid = lease.session_id
        ok, raw = await self._acquire(
            keys=[self._k("origin", sid), self._k("origin-fence", sid)],
            args=[lease.node_id, lease.encode(), ttl_ms, ENDED_MARKER, FENCE_TTL_S],
        )
        return Lease.decode(sid, _text(raw)) if int(ok) == 1 else None

    async def renew(self, lease: Lease, ttl_ms: int) -> bool:
        result = await self._renew(
            keys=[self._k("origin", lease.session_id)],
            args=[lease.fence, lease.encode(), ttl_ms, ENDED_MARKER],
        )
        return int(result) == 1

    async def release(self, lease: Lease) -> bool:
        result = await self._release(
            keys=[self._k("origin", lease.session_id)],
            args=[lease.fence, ENDED_TTL_MS, ENDED_MARKER],
        )
        return int(result) == 1

    async def origin(self, session_id: int) -> tuple[Lease | None, bool]:
        raw = await self._r.get(self._k("origin", session_id))
        if raw is None:
            return None, False
        text = _text(raw)
        return Lease.decode(session_id, text), text == ENDED_MARKER

    async def had_origin(self, session_id: int) -> bool:
        return bool(await self._r.exists(self._k("origin-fence", session_id)))

    async def publish_node(self, node: NodeInfo, ttl_ms: int) -> None:
        key = self._k("node", node.node_id)
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.delete(key)  # a show that ended here must not linger in the hash
            pipe.hset(key, mapping=node.to_fields())  # type: ignore[arg-type]
            pipe.pexpire(key, ttl_ms)
            pipe.sadd(self._k("nodes"), node.node_id)
            await pipe.execute()

    async def remove_node(self, node_id: str) -> None:
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.delete(self._k("node", node_id))
            pipe.srem(self._k("nodes"), node_id)
            await pipe.execute()

    async def nodes(self) -> list[NodeInfo]:
        ids = sorted(_text(i) for i in await self._r.smembers(self._k("nodes")))
        if not ids:
            return []
        async with self._r.pipeline(transaction=False) as pipe:
            for node_id in ids:
                pipe.hgetall(self._k("node", node_id))
            hashes: list[Any] = await pipe.execute()
        out: list[NodeInfo] = []
        gone: list[str] = []
        for node_id, raw in zip(ids, hashes, strict=True):
            if not raw:
                gone.append(node_id)
                continue
            out.append(NodeInfo.from_fields(node_id, {_text(k): _text(v) for k, v in raw.items()}))
        if gone:
            await self._r.srem(self._k("nodes"), *gone)
        return out

    async def delete_all(self) -> None:
        """Remove every key under the prefix (tests)."""
        keys = [k async for k in self._r.scan_iter(match=f"{self._p}:*")]
        if keys:
            await self._r.delete(*keys)

    async def close(self) -> None:
        if self._owns:
            await self._r.aclose()


class MemoryClusterStore:
    """The single-process twin: the same rules, in dictionaries."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._now = clock
        self._leases: dict[int, tuple[str, float]] = {}  # session -> (value, expires at)
        self._fences: dict[int, int] = {}
        self._nodes: dict[str, tuple[NodeInfo, float]] = {}

    def _current(self, session_id: int) -> str | None:
        entry = self._leases.get(session_id)
        if entry is None:
            return None
        if entry[1] <= self._now():
            del self._leases[session_id]
            return None
        return entry[0]

    def _set(self, session_id: int, value: str, ttl_ms: int) -> None:
        self._leases[session_id] = (value, self._now() + ttl_ms / 1000)

    async def acquire(self, lease: Lease, ttl_ms: int) -> Lease | None:
        sid = lease.session_id
        held = Lease.decode(sid, self._current(sid))
        if held is not None and held.node_id != lease.node_id:
            return None
        if held is not None:
            fence = held.fence
        else:
            fence = self._fences[sid] = self._fences.get(sid, 0) + 1
        mine = Lease(sid, lease.node_id, lease.url, fence, lease.public)
        self._set(sid, mine.encode(), ttl_ms)
        return mine

    async def renew(self, lease: Lease, ttl_ms: int) -> bool:
        held = Lease.decode(lease.session_id, self._current(lease.session_id))
        if held is None or held.fence != lease.fence:
            return False
        self._set(lease.session_id, lease.encode(), ttl_ms)
        return True

    async def release(self, lease: Lease) -> bool:
        held = Lease.decode(lease.session_id, self._current(lease.session_id))
        if held is None or held.fence != lease.fence:
            return False
        self._set(lease.session_id, ENDED_MARKER, ENDED_TTL_MS)
        return True

    async def origin(self, session_id: int) -> tuple[Lease | None, bool]:
        raw = self._current(session_id)
        return Lease.decode(session_id, raw), raw == ENDED_MARKER

    async def had_origin(self, session_id: int) -> bool:
        return session_id in self._fences

    async def publish_node(self, node: NodeInfo, ttl_ms: int) -> None:
        self._nodes[node.node_id] = (node, self._now() + ttl_ms / 1000)

    async def remove_node(self, node_id: str) -> None:
        self._nodes.pop(node_id, None)

    async def nodes(self) -> list[NodeInfo]:
        now = self._now()
        for node_id in [k for k, (_, exp) in self._nodes.items() if exp <= now]:
            del self._nodes[node_id]
        return [node for node, _ in self._nodes.values()]

    async def close(self) -> None:
        return None
