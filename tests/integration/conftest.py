"""Fixtures of the multi-process cluster tests (tests/integration/test_cluster_*.py).

- ``prefix``: a Redis key prefix of the test's own (named after its module), so parallel
  tests never share keys.
- ``nodes``: the test's node processes (`support.cluster.Nodes`), all stopped afterwards.
- ``redis_keys``: deletes the prefix's keys after the test.

A module may define its own fixture of the same name; pytest then uses the module's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from support.cluster import Nodes, clean_redis, new_prefix, running_nodes


@pytest.fixture
def prefix(request: pytest.FixtureRequest) -> str:
    return new_prefix(request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_"))


@pytest.fixture
def nodes() -> Iterator[Nodes]:
    yield from running_nodes()


@pytest.fixture
async def redis_keys(prefix: str) -> AsyncIterator[None]:
    async for _ in clean_redis(prefix):
        yield
