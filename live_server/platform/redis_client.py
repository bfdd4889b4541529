"""The one way a LiveShop process makes a Redis client.

redis-py 8 caps a client's connection pool (100 by default) and fails a command at once
with `MaxConnectionsError` when every connection is busy, which a bidding war or a busy
room tick can reach. Clients here use a blocking pool instead: past `max_connections`, a
command waits (at most `timeout` seconds) for a connection to come free, so a burst slows
down for a moment rather than failing a viewer's bid.
"""

from __future__ import annotations

from typing import Any, Final

MAX_CONNECTIONS: Final = 256
WAIT_FOR_CONNECTION_S: Final = 10.0


def redis_from_url(url: str, *, decode_responses: bool = False) -> Any:
    """A `redis.asyncio.Redis` on a blocking connection pool (connects lazily)."""
    from redis.asyncio import BlockingConnectionPool, Redis

    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=WAIT_FOR_CONNECTION_S,
        decode_responses=decode_responses,
    )
    return Redis(connection_pool=pool)
