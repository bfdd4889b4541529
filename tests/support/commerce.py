"""Helpers shared by the checkout tests: a live show with products and ready buyers."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient

from support.helpers import auth

ADDRESS = {
    "name": "Ana Lopez",
    "line1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}
_ids = itertools.count(1)


@dataclass
class Show:
    """A live session with its host and products."""

    session_id: int
    host_id: int
    host_token: str
    product_ids: list[int]


async def make_product(
    client: TestClient[Any, Any], token: str, *, stock: int, price: int = 2500, **extra: Any
) -> int:
    """A product in the host's catalog."""
    body = {
        "title": extra.pop("title", f"Product {next(_ids)}"),
        "price_minor": price,
        "currency": extra.pop("currency", "USD"),
        "category": "home",
        "stock": stock,
        **extra,
    }
    resp = await client.post("/api/products", json=body, headers=auth(token))
    assert resp.status == 201, await resp.text()
    return int((await resp.json())["id"])


async def make_show(
    client: TestClient[Any, Any],
    make_user: Any,
    *,
    stocks: list[int],
    live: bool = True,
    **product_extra: Any,
) -> Show:
    """A host, products with the given stocks in the line-up, and (by default) live."""
    host, token = await make_user(role="host")
    pids = [await make_product(client, token, stock=s, **product_extra) for s in stocks]
    resp = await client.post(
        "/api/sessions", json={"title": "Flash show", "product_ids": pids}, headers=auth(token)
    )
    assert resp.status == 201, await resp.text()
    session_id = int((await resp.json())["id"])
    if live:
        resp = await client.post(f"/api/sessions/{session_id}/start", headers=auth(token))
        assert resp.status == 200, await resp.text()
    return Show(session_id, int(host["id"]), token, pids)


async def make_buyer(
    client: TestClient[Any, Any], make_user: Any, *, method: str = "cod", show_name: bool = False
) -> tuple[dict[str, Any], str]:
    """A viewer with a saved address and payment method (ready for one-tap buy)."""
    user, token = await make_user()
    resp = await client.put(
        "/api/me/checkout-profile",
        json={"address": ADDRESS, "payment_method": method, "show_first_name": show_name},
        headers=auth(token),
    )
    assert resp.status == 200, await resp.text()
    return user, token


def key() -> str:
    """A fresh Idempotency-Key."""
    return uuid.uuid4().hex


async def buy(
    client: TestClient[Any, Any],
    token: str,
    product_id: int,
    *,
    quantity: int = 1,
    session_id: int | None = None,
    idem: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST /api/checkout/buy-now; returns (status, body)."""
    body: dict[str, Any] = {"product_id": product_id, "quantity": quantity}
    if session_id is not None:
        body["source"] = {"type": "live", "id": session_id}
    resp = await client.post(
        "/api/checkout/buy-now",
        json=body,
        headers={**auth(token), "Idempotency-Key": idem or key()},
    )
    return resp.status, await resp.json()


async def stock_of(services: Any, product_id: int) -> int:
    """Stock straight from the database."""
    row = await services.db.fetchone("SELECT stock FROM products WHERE id = ?", (product_id,))
    return int(row["stock"])


async def units_in_orders(services: Any, product_id: int) -> int:
    """Units of a product held by active orders (pending, confirmed or paid)."""
    row = await services.db.fetchone(
        "SELECT COALESCE(SUM(i.quantity), 0) AS n FROM order_items i JOIN orders o"
        " ON o.id = i.order_id WHERE i.product_id = ?"
        " AND o.status IN ('pending_payment', 'confirmed', 'paid')",
        (product_id,),
    )
    return int(row["n"])
