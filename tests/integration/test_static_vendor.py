"""The web client's npm libraries are served under /vendor/ from web_client/node_modules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

WEB_CLIENT = Path(__file__).resolve().parents[2] / "web_client"


@pytest.mark.parametrize(
    ("path", "marker"),
    [
        ("/vendor/socket.io-client/socket.io.esm.min.js", b"export"),
        ("/vendor/hls.js/hls.min.mjs", b"export"),
    ],
)
async def test_vendor_module_is_served(
    client: TestClient[Any, Any], path: str, marker: bytes
) -> None:
    resp = await client.get(path)
    assert resp.status == 200
    assert "javascript" in resp.headers["Content-Type"]
    assert resp.headers["Cache-Control"] == "public, max-age=3600"
    body = await resp.read()
    assert marker in body[-4000:]


async def test_hls_js_is_the_version_package_json_pins(client: TestClient[Any, Any]) -> None:
    manifest = json.loads((WEB_CLIENT / "package.json").read_text())
    pinned = manifest["dependencies"]["hls.js"]
    assert pinned[0].isdigit(), "hls.js is pinned to an exact version (npm --save-exact)"
    resp = await client.get("/vendor/hls.js/hls.min.mjs")
    assert f'"{pinned}"'.encode() in await resp.read()
