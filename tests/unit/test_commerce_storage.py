"""The one aiosqlite internal the checkout relies on, checked against the installed version."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from live_server.commerce.checkout.writer import SyncTransaction, run_on_writer
from live_server.platform.db import Database


def test_aiosqlite_still_has_the_internals_we_use() -> None:
    # If this fails after an upgrade, rewrite run_on_writer (commerce/checkout/writer.py).
    assert callable(getattr(aiosqlite.Connection, "_execute", None))
    assert isinstance(getattr(aiosqlite.Connection, "_conn", None), property)


async def test_run_on_writer_commits_and_rolls_back(tmp_path: Path) -> None:
    db = Database(tmp_path / "t.db")
    await db.open()
    try:
        async with db.transaction() as tx:
            await tx.execute("CREATE TABLE t (n INTEGER CHECK (n >= 0))")

        def insert(conn: sqlite3.Connection, n: int) -> int:
            tx = SyncTransaction(conn)
            tx.execute("INSERT INTO t (n) VALUES (?)", (n,))
            row = tx.fetchone("SELECT COUNT(*) AS c FROM t")
            assert row is not None
            return int(row["c"])

        async with db.transaction():
            assert await run_on_writer(db, lambda conn: insert(conn, 1)) == 1
        with pytest.raises(sqlite3.IntegrityError):
            async with db.transaction():
                await run_on_writer(db, lambda conn: insert(conn, 2))
                await run_on_writer(db, lambda conn: insert(conn, -1))
        assert [tuple(r) for r in await db.fetchall("SELECT n FROM t")] == [(1,)]
    finally:
        await db.close()
