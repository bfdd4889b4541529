"""Issue 12, finding 20: the OpenAPI document describes what the server really does.

Request bodies declare their required fields (the route validates with the same model),
every status an operation can give is documented (400 for a query integer that is not
one), answers without a body declare no content, creates link to reads for a stateful
client, and the server bugs the schemathesis run found stay fixed. The run itself is
tests/integration/test_openapi_fuzz.py.
"""

from __future__ import annotations

from typing import Any

from support.helpers import auth

Client = Any


async def _doc(client: Client) -> dict[str, Any]:
    resp = await client.get("/api/openapi.json")
    assert resp.status == 200
    doc: dict[str, Any] = await resp.json()
    return doc


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, spec)
        for path, item in doc["paths"].items()
        for method, spec in item.items()
        if method != "parameters"
    ]


async def test_finding_20_request_bodies_declare_required_fields(
    client: Client, make_user: Any
) -> None:
    doc = await _doc(client)
    expected = {
        ("POST", "/api/auth/register"): {"username", "password"},
        ("POST", "/api/auth/login"): {"username", "password"},
        ("POST", "/api/products"): {"title", "price_minor", "category"},
        ("POST", "/api/sessions"): {"title"},
        ("POST", "/api/cart/items"): {"product_id"},
        ("POST", "/api/checkout/buy-now"): {"product_id"},
        ("PUT", "/api/me/checkout-profile"): {"address", "payment_method"},
        ("POST", "/api/feed/seen"): {"item_id"},
        ("POST", "/api/clips/{clip_id}/comments"): {"text"},
    }
    for (method, path), fields in expected.items():
        body = doc["paths"][path][method.lower()]["requestBody"]
        schema = _resolve(doc, body["content"]["application/json"]["schema"])
        assert fields <= set(schema.get("required", [])), (method, path, schema)
        assert "422" in doc["paths"][path][method.lower()]["responses"], (method, path)
    # `{}` is no longer "valid": the document says what the 422 says
    _, host = await make_user("host")
    resp = await client.post("/api/products", json={}, headers=auth(host))
    assert resp.status == 422
    error = (await resp.json())["error"]
    assert error == {"code": "invalid_title", "message": "Title is required.", "field": "title"}


async def test_finding_20_refusals_name_fields_as_people_read_them(
    client: Client, make_user: Any
) -> None:
    _, viewer = await make_user()
    cases = [
        ({"product_id": 1, "source": {"type": "live"}}, "invalid_source_id", "Id of the source"),
        ({"product_id": "one"}, "invalid_product_id", "Product must be a whole number"),
        ({"product_id": 1, "quantity": 500}, "invalid_quantity", "from 1 to 99"),
    ]
    for body, code, words in cases:
        resp = await client.post("/api/cart/items", json=body, headers=auth(viewer))
        assert resp.status == 422, await resp.text()
        error = (await resp.json())["error"]
        assert error["code"] == code and words in error["message"], error
        assert "$" not in error["message"] and "`" not in error["message"], error


async def test_finding_20_bad_query_integers_are_documented_400(client: Client) -> None:
    doc = await _doc(client)
    for method, path, spec in _operations(doc):
        ints = [
            p["name"]
            for p in spec.get("parameters", [])
            if p["in"] == "query" and p["schema"].get("type") == "integer"
        ]
        if ints:
            assert "400" in spec["responses"], (method, path, ints)
    resp = await client.get("/api/sessions/1/chat?after_id=soon")
    assert resp.status == 400
    assert (await resp.json())["error"]["message"] == "after_id must be an integer"
    assert "400" in doc["paths"]["/api/sessions/{session_id}/chat"]["get"]["responses"]


async def test_finding_20_no_content_answers_declare_no_content(client: Client) -> None:
    doc = await _doc(client)
    for method, path, spec in _operations(doc):
        for status, response in spec["responses"].items():
            if status == "204":
                assert "content" not in response, (method, path)
    resp = await client.options("/whip/1")
    assert resp.status == 204 and "Content-Type" not in resp.headers
    preflight = doc["paths"]["/whip/{session_id}"]["options"]
    assert set(preflight["responses"]) == {"204"}
    # a preflight answers for any path: its parameters are not integer ids there
    assert preflight["parameters"][0]["schema"] == {"type": "string"}


async def test_finding_20_creates_link_to_reads(client: Client) -> None:
    doc = await _doc(client)
    ids = {spec["operationId"]: (m, p) for m, p, spec in _operations(doc)}
    assert len(ids) == len(_operations(doc)), "operationIds are unique"

    def links(method: str, path: str, status: str) -> dict[str, Any]:
        found: dict[str, Any] = doc["paths"][path][method]["responses"][status]["links"]
        return found

    product = links("post", "/api/products", "201")["product"]
    assert ids[product["operationId"]] == ("GET", "/api/products/{product_id}")
    assert product["parameters"] == {"product_id": "$response.body#/id"}
    session = links("post", "/api/sessions", "201")["session"]
    assert ids[session["operationId"]] == ("GET", "/api/sessions/{session_id}")
    order = links("post", "/api/checkout/buy-now", "201")["order"]
    assert ids[order["operationId"]] == ("GET", "/api/orders/{order_id}")


async def test_finding_20_a_literal_path_beats_a_parameter(client: Client) -> None:
    """schemathesis found: `/api/sessions/mine` advertised PATCH in its 405 `Allow` (from
    `/api/sessions/{session_id}`), and `GET /api/posts/media` read the post "media" (404)."""
    resp = await client.request("PUT", "/api/sessions/mine")
    assert resp.status == 405
    assert set(resp.headers["Allow"].split(",")) == {"GET", "HEAD"}
    resp = await client.get("/api/posts/media")
    assert resp.status == 405 and resp.headers["Allow"] == "POST"
    assert (await resp.json())["error"]["code"] == "method_not_allowed"


async def test_finding_20_integral_numbers_are_integers(client: Client, make_user: Any) -> None:
    """schemathesis found: JSON Schema's integer 39.0 was refused (422 invalid_stock)."""
    _, host = await make_user("host")
    resp = await client.post(
        "/api/products",
        json={"title": "Mug", "price_minor": 1200.0, "category": "kitchen", "stock": 39.0},
        headers=auth(host),
    )
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["stock"] == 39 and body["price_minor"] == 1200
    resp = await client.post(
        "/api/products",
        json={"title": "Mug", "price_minor": 12.5, "category": "kitchen"},
        headers=auth(host),
    )
    assert resp.status == 422
    assert (await resp.json())["error"]["code"] == "invalid_price_minor"
