"""Issue 12, finding 13 and "no 500 from input": inputs that used to answer 500 now get a
4xx with words a person understands. Deeply nested JSON (every JSON route and the
Socket.IO payload path), header bytes that are not UTF-8 where tokens and keys are read,
a webhook signature that is not ASCII, and images with too many pixels (a decompression
bomb, a 120-megapixel PNG, a very wide strip) on every image upload path."""

from __future__ import annotations

import asyncio
import json
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from live_server.commerce.payments.service import SIGNATURE_HEADER
from live_server.settings import Settings
from support.helpers import auth
from support.rawhttp import RawResponse, request_head, send

Client = TestClient[Any, Any]
SECRET = "whsec-test"
BAD_UTF8 = b"\xff\xfe\xc3("  # not UTF-8 (aiohttp keeps such bytes as surrogate escapes)
MUG = {"title": "Mug", "price_minor": 1500, "currency": "EUR", "category": "kitchen", "stock": 5}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(
        {"data_dir": tmp_path / "var", "secret": "test-secret", "webhook_secret": SECRET},
        env={},
    )


def deep_array(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def png(width: int, height: int) -> bytes:
    """A valid 1-bit greyscale PNG of any size: all-zero rows compress to almost nothing,
    which is what makes a small file a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    packer = zlib.compressobj(9)
    row = b"\0" * (1 + (width + 7) // 8)  # filter byte + the packed bits
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _error(body: Any) -> tuple[str, str]:
    return body["error"]["code"], body["error"]["message"]


async def test_finding_13_deep_json_is_400_on_json_routes(client: Client, make_user: Any) -> None:
    _, host = await make_user("host")
    routes = [
        ("/api/auth/register", {}),
        ("/api/auth/login", {}),
        ("/api/products", auth(host)),
        ("/api/cart/items", auth(host)),
    ]
    for path, headers in routes:
        for body in (deep_array(10_000), b'{"a":' * 40 + b"1" + b"}" * 40):
            resp = await client.post(
                path, data=body, headers={**headers, "Content-Type": "application/json"}
            )
            assert resp.status == 400, (path, resp.status, await resp.text())
            code, message = _error(await resp.json())
            assert code == "invalid_json" and "nested too deeply" in message, (path, message)
    # ordinary bodies (brackets inside strings included) are not affected
    text = "[" * 40 + " not nesting " + "]" * 40
    resp = await client.post("/api/products", json={**MUG, "description": text}, headers=auth(host))
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["description"] == text


async def test_no_500_json_text_that_is_not_unicode_is_400(client: Client, make_user: Any) -> None:
    """A `\\ud800` escape decodes to a lone surrogate, which SQLite refused with a 500."""
    _, host = await make_user("host")
    bodies = {
        "/api/auth/login": b'{"username": "\\ud800", "password": "x"}',
        "/api/products": b'{"title": "Mug \\udfff", "price_minor": 1, "category": "kitchen"}',
    }
    for path, body in bodies.items():
        resp = await client.post(
            path, data=body, headers={**auth(host), "Content-Type": "application/json"}
        )
        assert resp.status == 400, (path, resp.status, await resp.text())
        code, message = _error(await resp.json())
        assert code == "invalid_json" and "surrogate" in message, message
    # a real pair of escapes is one character, and fine
    body = b'{"title": "Mug \\ud83d\\ude00", "price_minor": 1, "category": "kitchen"}'
    resp = await client.post(
        "/api/products", data=body, headers={**auth(host), "Content-Type": "application/json"}
    )
    assert resp.status == 201 and (await resp.json())["title"] == "Mug \U0001f600"


async def _ack(ws: aiohttp.ClientWebSocketResponse, ack_id: int) -> Any:
    """The payload of the ack `ack_id` (other packets, ticks or pings, are passed over)."""
    async with asyncio.timeout(15):
        while True:
            message = await ws.receive_str()
            if message == "2":  # engine.io ping
                await ws.send_str("3")
            elif message.startswith(f"43{ack_id}["):
                return json.loads(message[len(f"43{ack_id}") :])[0]


async def test_finding_13_deep_json_in_a_socketio_event_gets_an_error_ack(client: Client) -> None:
    url = client.make_url("/socket.io/").with_query(EIO="4", transport="websocket")
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        assert (await ws.receive_str(timeout=10)).startswith("0")  # engine.io open
        await ws.send_str("40")
        assert (await ws.receive_str(timeout=10)).startswith("40")  # socket.io connect
        await ws.send_str('427["chat:send",' + deep_array(10_000).decode() + "]")
        code, message = _error(await _ack(ws, 7))
        assert code == "invalid_json" and "nested too deeply" in message
        await ws.send_str('428["chat:send",{"text": [}')
        code, message = _error(await _ack(ws, 8))
        assert code == "invalid_json" and "not valid JSON" in message
        await ws.send_str('4210["chat:send",{"session_id": 1, "text": "\\ud800"}]')
        code, message = _error(await _ack(ws, 10))
        assert code == "invalid_json" and "surrogate" in message
        # the socket still works: a normal unknown event gets its ordinary answer
        await ws.send_str('429["no:such:event",{}]')
        assert _error(await _ack(ws, 9))[0] == "unknown_event"


async def _raw(client: Client, head: bytes, body: bytes = b"") -> RawResponse:
    return await send(client.server.host, client.server.port, head, body)


async def test_finding_13_headers_that_are_not_utf8_are_4xx(client: Client, make_user: Any) -> None:
    _, host = await make_user("host")
    resp = await client.post("/api/sessions", json={"title": "Show"}, headers=auth(host))
    session_id = (await resp.json())["id"]
    offer = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"

    # the WHIP bearer (the stream key)
    head = request_head(
        "POST",
        f"/whip/{session_id}",
        {
            "Content-Type": "application/sdp",
            "Content-Length": str(len(offer)),
            "Authorization": b"Bearer sk_" + BAD_UTF8,
        },
    )
    answer = await _raw(client, head, offer)
    assert answer.status == 401, answer.body
    code, message = _error(answer.json())
    assert code == "invalid_authorization" and "Authorization" in message

    # a user token (the auth middleware), on a route that needs one and one that does not
    for path in ("/api/me", "/api/products"):
        head = request_head("GET", path, {"Authorization": b"Bearer " + BAD_UTF8})
        answer = await _raw(client, head)
        assert answer.status == 401, (path, answer.body)
        assert answer.error_code == "invalid_authorization"

    # the analytics viewer key
    event = json.dumps({"kind": "card_view", "product_id": 1}).encode()
    head = request_head(
        "POST",
        f"/api/sessions/{session_id}/events",
        {
            "Content-Type": "application/json",
            "Content-Length": str(len(event)),
            "X-Viewer-Key": b"v-" + BAD_UTF8,
        },
    )
    answer = await _raw(client, head, event)
    assert answer.status == 400, answer.body
    code, message = _error(answer.json())
    assert code == "invalid_header" and "X-Viewer-Key" in message

    # the idempotency key of a purchase (already checked as visible ASCII by checkout)
    buy = json.dumps({"product_id": 1, "quantity": 1}).encode()
    head = request_head(
        "POST",
        "/api/checkout/buy-now",
        {
            "Content-Type": "application/json",
            "Content-Length": str(len(buy)),
            "Authorization": f"Bearer {host}",
            "Idempotency-Key": b"k-" + BAD_UTF8,
        },
    )
    answer = await _raw(client, head, buy)
    assert answer.status == 422, answer.body
    code, message = _error(answer.json())
    assert code == "invalid_idempotency_key" and "Idempotency-Key" in message


async def test_finding_13_webhook_signature_that_is_not_ascii_is_401(client: Client) -> None:
    body = json.dumps({"id": "evt_1", "type": "payment.succeeded", "order_id": "x"})
    for signature in (f"t={int(time.time())},v1=é", f"t={int(time.time())},v1=" + "ü" * 64):
        resp = await client.post(
            "/api/payments/webhook/offline",
            data=body,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
        )
        assert resp.status == 401, await resp.text()
        assert (await resp.json())["error"]["code"] == "bad_signature"


# Pillow warns on opening a 120-megapixel header (before our own cap refuses it).
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
async def test_finding_13_images_with_too_many_pixels_are_422(
    client: Client, make_user: Any, settings: Settings
) -> None:
    _, host = await make_user("host")
    resp = await client.post("/api/products", json=MUG, headers=auth(host))
    product_id = (await resp.json())["id"]
    images = {
        "decompression bomb": png(30_000, 30_000),  # 900 MP in a few hundred KB
        "120 megapixels": png(12_000, 10_000),
        "a very wide strip": png(60_000, 2),
    }
    for what, data in images.items():
        assert len(data) < settings.max_upload_bytes, what
        for path in (f"/api/products/{product_id}/images", "/api/posts/media"):
            resp = await client.post(
                path, data=data, headers={**auth(host), "Content-Type": "image/png"}
            )
            assert resp.status == 422, (what, path, resp.status, await resp.text())
            code, message = _error(await resp.json())
            assert code == "image_too_large", (what, path, code)
            assert "megapixels" in message and "pixels on a side" in message, message
    product = await (await client.get(f"/api/products/{product_id}")).json()
    assert product["images"] == []  # nothing refused was stored
    stored = settings.media_dir / "images"
    assert not stored.exists() or not any(stored.iterdir())
    # an ordinary photo still goes through both paths
    for path in (f"/api/products/{product_id}/images", "/api/posts/media"):
        resp = await client.post(
            path, data=png(800, 600), headers={**auth(host), "Content-Type": "image/png"}
        )
        assert resp.status == 201, (path, await resp.text())
