"""The one aiosqlite internal the database relies on, checked against the installed version."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from live_server.commerce.checkout.writer import SyncTransaction
from live_server.platform.db import Database, verify_aiosqlite_internals


def test_aiosqlite_still_has_the_internals_we_use() -> None:
    # If this fails after an upgrade, rewrite Database.run_on_writer (platform/db.py).
    verify_aiosqlite_internals()


def test_the_canary_names_a_missing_internal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(aiosqlite.Connection, "_execute")
    with pytest.raises(RuntimeError, match="_execute"):
        verify_aiosqlite_internals()


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
            assert await db.run_on_writer(lambda conn: insert(conn, 1)) == 1
        with pytest.raises(sqlite3.IntegrityError):
            async with db.transaction():
                await db.run_on_writer(lambda conn: insert(conn, 2))
                await db.run_on_writer(lambda conn: insert(conn, -1))
        assert [tuple(r) for r in await db.fetchall("SELECT n FROM t")] == [(1,)]
    finally:
        await db.close()
