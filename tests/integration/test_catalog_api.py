"""Products: CRUD with owner checks, image uploads checked for type and size."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator
from typing import Any

from PIL import Image

from support.helpers import auth

MUG = {"title": "Mug", "price_minor": 1500, "currency": "EUR", "category": "kitchen", "stock": 5}


def png_bytes(size: int = 32) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), (200, 40, 90)).save(buf, format="PNG")
    return buf.getvalue()


async def test_product_crud_with_owner_checks(client: Any, make_user: Any) -> None:
    _, host = await make_user("host")
    _, other_host = await make_user("host")
    _, viewer = await make_user()
    assert (await client.post("/api/products", json=MUG, headers=auth(viewer))).status == 403
    assert (await client.post("/api/products", json=MUG)).status == 401
    resp = await client.post("/api/products", json=MUG, headers=auth(host))
    assert resp.status == 201
    product = await resp.json()
    assert product["price_minor"] == 1500 and product["currency"] == "EUR"
    pid = product["id"]
    resp = await client.patch(f"/api/products/{pid}", json={"stock": 9}, headers=auth(other_host))
    assert resp.status == 403
    resp = await client.patch(f"/api/products/{pid}", json={"stock": 9}, headers=auth(host))
    assert resp.status == 200 and (await resp.json())["stock"] == 9
    mine = await (await client.get("/api/products?owner=me", headers=auth(host))).json()
    assert [p["id"] for p in mine["items"]] == [pid]
    assert (await client.delete(f"/api/products/{pid}", headers=auth(other_host))).status == 403
    assert (await client.delete(f"/api/products/{pid}", headers=auth(host))).status == 204
    assert (await client.get(f"/api/products/{pid}")).status == 404


async def test_invalid_product_is_422(client: Any, make_user: Any) -> None:
    _, host = await make_user("host")
    resp = await client.post("/api/products", json={**MUG, "price_minor": -5}, headers=auth(host))
    assert resp.status == 422
    assert (await resp.json())["error"]["code"] == "invalid_price_minor"


async def test_image_upload_type_and_size(client: Any, make_user: Any, settings: Any) -> None:
    _, host = await make_user("host")
    pid = (await (await client.post("/api/products", json=MUG, headers=auth(host))).json())["id"]
    url = f"/api/products/{pid}/images"
    resp = await client.post(
        url, data=png_bytes(), headers={**auth(host), "Content-Type": "image/png"}
    )
    assert resp.status == 201, await resp.text()
    image_url = (await resp.json())["images"][0]
    served = await client.get(image_url)
    assert served.status == 200 and (await served.read()) == png_bytes()
    resp = await client.post(
        url, data=b"<svg onload=alert(1)>", headers={**auth(host), "Content-Type": "image/svg+xml"}
    )
    assert resp.status == 415
    resp = await client.post(
        url, data=png_bytes(), headers={**auth(host), "Content-Type": "image/jpeg"}
    )
    assert resp.status == 415  # declared type does not match the bytes
    big = b"\x89PNG\r\n\x1a\n" + b"0" * settings.max_upload_bytes
    resp = await client.post(url, data=big, headers={**auth(host), "Content-Type": "image/png"})
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "payload_too_large"
    product = await (await client.get(f"/api/products/{pid}")).json()
    assert len(product["images"]) == 1  # nothing rejected was stored


async def test_large_image_arrives_whole_and_damaged_image_is_refused(
    client: Any, make_user: Any
) -> None:
    _, host = await make_user("host")
    pid = (await (await client.post("/api/products", json=MUG, headers=auth(host))).json())["id"]
    url = f"/api/products/{pid}/images"
    buf = io.BytesIO()
    Image.frombytes("RGB", (900, 900), os.urandom(900 * 900 * 3)).save(buf, format="PNG")
    big = buf.getvalue()
    assert len(big) > 2 * 1024 * 1024  # many network reads, not one buffer

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(big), 64 * 1024):
            yield big[i : i + 64 * 1024]

    resp = await client.post(
        url, data=chunks(), headers={**auth(host), "Content-Type": "image/png"}
    )
    assert resp.status == 201, await resp.text()
    served = await client.get((await resp.json())["images"][0])
    assert await served.read() == big
    truncated = big[: len(big) // 2]
    resp = await client.post(
        url, data=truncated, headers={**auth(host), "Content-Type": "image/png"}
    )
    assert resp.status == 422
    assert (await resp.json())["error"]["code"] == "undecodable_image"


async def test_product_editor_removes_an_image_and_edits_fields(
    client: Any, make_user: Any
) -> None:
    _, host = await make_user("host")
    _, other = await make_user("host")
    pid = (await (await client.post("/api/products", json=MUG, headers=auth(host))).json())["id"]
    png = {**auth(host), "Content-Type": "image/png"}
    for size in (16, 24):
        assert (
            await client.post(f"/api/products/{pid}/images", data=png_bytes(size), headers=png)
        ).status == 201
    images = (await (await client.get(f"/api/products/{pid}")).json())["images"]
    assert (await client.delete(f"/api/products/{pid}/images/1", headers=auth(other))).status == 403
    assert (await client.delete(f"/api/products/{pid}/images/3", headers=auth(host))).status == 404
    resp = await client.delete(f"/api/products/{pid}/images/1", headers=auth(host))
    assert resp.status == 200 and (await resp.json())["images"] == images[1:]
    edit = {"title": "Big mug", "description": "Holds a lot.", "price_minor": 1800, "stock": 0}
    resp = await client.patch(f"/api/products/{pid}", json=edit, headers=auth(host))
    body = await resp.json()
    assert resp.status == 200 and {k: body[k] for k in edit} == edit
    for bad in ({"stock": -1}, {"title": " "}, {"title": "x" * 121}, {"price_minor": -1}):
        resp = await client.patch(f"/api/products/{pid}", json=bad, headers=auth(host))
        assert resp.status == 422, bad
