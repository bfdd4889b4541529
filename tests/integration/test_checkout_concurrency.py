"""Many buyers at once over real HTTP: exactly the stock is sold, the rest get 409."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from support.commerce import buy, key, make_buyer, make_show, stock_of, units_in_orders
from support.helpers import auth


@pytest.mark.slow
async def test_last_units_race_sells_exactly_the_stock(
    client: Any, make_user: Any, services: Any
) -> None:
    show = await make_show(client, make_user, stocks=[10])
    pid = show.product_ids[0]
    buyers = [await make_buyer(client, make_user) for _ in range(60)]

    async def attempt(token: str) -> tuple[int, dict[str, Any]]:
        # every buyer tries twice (a retry storm): each with a new key
        first = await buy(client, token, pid, session_id=show.session_id)
        second = await buy(client, token, pid, session_id=show.session_id)
        return first if first[0] == 201 else second

    results = await asyncio.gather(*(attempt(token) for _, token in buyers))
    statuses = Counter(status for status, _ in results)
    codes = Counter(body["error"]["code"] for status, body in results if status != 201)
    assert statuses[201] == 10, statuses
    assert statuses[409] == 50 and codes == {"sold_out": 50}, (statuses, codes)
    assert await stock_of(services, pid) == 0
    assert await units_in_orders(services, pid) == 10
    orders = {body["order"]["id"] for status, body in results if status == 201}
    assert len(orders) == 10
    # the group commit really batched: far fewer transactions than requests
    # (110 requests arrived together; typically 2-3 transactions were written)
    assert services.checkout.batches <= 20, services.checkout.batches


async def test_concurrent_retries_with_one_key_make_one_order(
    client: Any, make_user: Any, services: Any
) -> None:
    show = await make_show(client, make_user, stocks=[50])
    pid = show.product_ids[0]
    _, token = await make_buyer(client, make_user)
    idem = key()
    results = await asyncio.gather(*(buy(client, token, pid, idem=idem) for _ in range(20)))
    assert {status for status, _ in results} == {201}
    assert len({body["order"]["id"] for _, body in results}) == 1
    assert await stock_of(services, pid) == 49
    resp = await client.get("/api/orders", headers=auth(token))
    assert len((await resp.json())["items"]) == 1


async def test_multi_line_race_is_all_or_nothing(
    client: Any, make_user: Any, services: Any
) -> None:
    show = await make_show(client, make_user, stocks=[5, 3])
    a, b = show.product_ids
    buyers = [await make_buyer(client, make_user) for _ in range(12)]
    for _, token in buyers:
        for pid in (a, b):
            resp = await client.post(
                "/api/cart/items", json={"product_id": pid}, headers=auth(token)
            )
            assert resp.status == 201

    async def checkout(token: str) -> int:
        resp = await client.post(
            "/api/checkout", json={}, headers={**auth(token), "Idempotency-Key": key()}
        )
        return resp.status

    statuses = Counter(await asyncio.gather(*(checkout(t) for _, t in buyers)))
    assert statuses == {201: 3, 409: 9}
    # b ran out after 3 orders; a kept the 2 units nobody could pair with b
    assert (await stock_of(services, a), await stock_of(services, b)) == (2, 0)
    assert await units_in_orders(services, a) == 3
