"""Helpers for the live-format tests: many ready bidders at once, and their room clients.

Registration hashes a password with scrypt (~50 ms of a core each): a crowd of bidders is
written straight into the database instead, with tokens signed by the server's own key;
their checkout profiles still go through the real endpoint.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from live_server.accounts.credentials import TokenSigner
from live_server.platform.identity import Role
from support.commerce import ADDRESS
from support.helpers import auth


@dataclass(frozen=True)
class Bidder:
    """A viewer account ready to bid: id, first name and bearer token."""

    id: int
    name: str
    token: str


def insert_viewers(db_path: Path, secret: str, count: int, prefix: str = "") -> list[Bidder]:
    """`count` viewer accounts written straight into the database, with signed tokens."""
    tag = prefix or uuid.uuid4().hex[:6]
    names = [f"b{tag}{i:04d}" for i in range(count)]
    with sqlite3.connect(db_path, timeout=30) as conn:
        conn.executemany(
            "INSERT INTO users(username, display_name, password_hash, role, interests,"
            " created_at) VALUES (?, ?, '!', 'viewer', '[]', ?)",
            [(n, n.title(), time.time()) for n in names],
        )
        ids = dict(
            conn.execute(
                f"SELECT username, id FROM users WHERE username IN ({','.join('?' * len(names))})",
                names,
            ).fetchall()
        )
    signer = TokenSigner(secret.encode(), 3600)
    return [
        Bidder(int(ids[n]), n.title(), signer.issue(int(ids[n]), n, Role.VIEWER)[0]) for n in names
    ]


async def save_profiles(urls: list[str], bidders: list[Bidder], method: str = "cod") -> None:
    """Saves an address and a payment method for each bidder (spread over the nodes)."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=32)) as http:

        async def save(n: int, bidder: Bidder) -> None:
            async with http.put(
                f"{urls[n % len(urls)]}/api/me/checkout-profile",
                json={"address": ADDRESS, "payment_method": method},
                headers=auth(bidder.token),
            ) as resp:
                assert resp.status == 200, await resp.text()

        await asyncio.gather(*(save(n, b) for n, b in enumerate(bidders)))


AUCTION = {"duration_s": 30, "start_price_minor": 1_000}


def start_payload(session_id: int, product_id: int, **terms: Any) -> dict[str, Any]:
    """An `auction:start` payload with test defaults."""
    return {"session_id": session_id, "product_id": product_id, **AUCTION, **terms}


def end_show(base_url: str, token: str, session_id: int) -> None:
    """Ends a show (a browser test's clean-up: no live show left for the next tests)."""
    req = urllib.request.Request(
        f"{base_url}/api/sessions/{session_id}/end",
        method="POST",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        urllib.request.urlopen(req, timeout=10).close()
    except urllib.error.HTTPError as exc:  # 409: already ended
        if exc.code != 409:
            raise
