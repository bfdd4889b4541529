"""The real `liveshop serve --demo` in a subprocess: pages, demo data, clean shutdown."""

from __future__ import annotations

import json
import signal
import sqlite3
import urllib.request
from pathlib import Path

import pytest

from support.helpers import start_server_process

pytestmark = pytest.mark.slow


def _get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), resp.read()


def test_demo_server_serves_pages_and_data(tmp_path: Path) -> None:
    server = start_server_process(tmp_path / "var")
    try:
        status, ctype, body = _get(server.url + "/")
        assert status == 200 and "text/html" in ctype and b"LiveShop" in body
        for page in ("/login.html", "/signup.html", "/studio.html", "/session.html"):
            assert _get(server.url + page)[0] == 200
        upcoming = json.loads(_get(server.url + "/api/sessions?state=upcoming")[2])
        titles = {s["title"] for s in upcoming["items"]}
        assert "Fall Fashion Live: Layers & Linen" in titles and len(titles) >= 2
        products = json.loads(_get(server.url + "/api/products?limit=500")[2])["items"]
        assert len(products) >= 20
        image = products[0]["images"][0]
        status, ctype, svg = _get(server.url + image)
        assert status == 200 and "svg" in ctype and svg.startswith(b"<svg")
        req = urllib.request.Request(
            server.url + "/api/auth/login",
            method="POST",
            data=b'{"username": "demo-host", "password": "demo"}',
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert json.loads(resp.read())["user"]["role"] == "host"
    finally:
        code = server.stop(signal.SIGTERM)
    assert code == 0, server.log()
    assert "database closed" in server.log()
    # Seeding is idempotent: a second start adds nothing.
    counts_sql = {
        "users": "SELECT COUNT(*) FROM users",
        "products": "SELECT COUNT(*) FROM products",
        "sessions": "SELECT COUNT(*) FROM live_sessions",
    }
    db_path = tmp_path / "var" / "liveshop.db"
    with sqlite3.connect(db_path) as conn:
        before = {k: conn.execute(q).fetchone()[0] for k, q in counts_sql.items()}
    second = start_server_process(tmp_path / "var")
    second.stop()
    with sqlite3.connect(db_path) as conn:
        after = {k: conn.execute(q).fetchone()[0] for k, q in counts_sql.items()}
        demo_users = conn.execute(
            "SELECT COUNT(*) FROM users WHERE username IN"
            " ('admin', 'demo-host', 'demo-mod', 'demo-viewer')"
        ).fetchone()[0]
    assert after == before
    assert demo_users == 4 and before["products"] >= 20 and before["sessions"] >= 2
