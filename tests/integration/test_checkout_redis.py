"""Two server nodes on one database and one Redis: an order placed on one node shows up
in the other node's live commerce view (the one that ticks the room)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from live_server.app import create_app
from live_server.settings import Settings
from support.commerce import buy, make_buyer, make_show
from support.helpers import wait_for

pytestmark = pytest.mark.redis

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return Settings.load(
        {
            "data_dir": tmp_path / "var",
            "secret": "test-secret",
            "redis_url": REDIS_URL,
            "redis_prefix": f"test-commerce-{uuid.uuid4().hex[:8]}",
        },
        env={},
    )


@pytest.fixture
async def other_node(settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(settings))) as node:
        yield node


async def test_orders_on_one_node_reach_the_other_nodes_tick(
    client: Any, other_node: TestClient[Any, Any], make_user: Any
) -> None:
    show = await make_show(client, make_user, stocks=[20])
    pid = show.product_ids[0]
    _, token = await make_buyer(client, make_user, show_name=True)

    async def live(node: Any) -> dict[str, Any]:
        resp = await node.get(f"/api/sessions/{show.session_id}/commerce")
        assert resp.status == 200
        body: dict[str, Any] = await resp.json()
        return body

    assert (await live(client))["bought_last_minute"] == 0
    # two orders through the second node
    for _ in range(2):
        status, _body = await buy(other_node, token, pid, session_id=show.session_id)
        assert status == 201
    await wait_for(
        lambda: _count(live(client)), timeout=10, message="orders of the other node in this one"
    )
    seen = await live(client)
    assert seen["bought_last_minute"] == 2
    assert seen["products"][str(pid)]["units_left"] == 18
    assert [p["first_name"] for p in seen["just_bought"]][-1].startswith("User")


async def _count(pending: Any) -> bool:
    body = await pending
    return bool(body["bought_last_minute"] == 2)
