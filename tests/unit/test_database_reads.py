"""Reads on the shared reader connection see every commit made before they were issued."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from live_server.platform.db import Database
from support.helpers import wait_for


async def test_a_read_issued_after_a_commit_sees_it_while_another_read_runs(
    tmp_path: Path,
) -> None:
    # Another coroutine's read is in progress on the reader when a row is committed and
    # read back. That read was, in effect, a statement kept open across an await (execute,
    # then fetch, then close, each its own hand-off), and SQLite gave the read-back the
    # same old snapshot: the committed row was missing. Here the first read is held inside
    # its first step (a SQL function that waits) while the commit happens, and the
    # read-back is queued behind it before it is let go.
    db = Database(tmp_path / "t.db")
    await db.open()
    entered, go = threading.Event(), threading.Event()

    def gate(value: int) -> int:
        if not entered.is_set():
            entered.set()
            go.wait(10)
        return value

    try:
        async with db.transaction() as tx:
            await tx.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            await tx.executemany("INSERT INTO t (id) VALUES (?)", [(i,) for i in range(1, 6)])
        assert db._reader is not None
        await db._reader.create_function("gate", 1, gate)

        slow = asyncio.create_task(db.fetchall("SELECT gate(id) FROM t ORDER BY id"))
        await wait_for(entered.is_set, timeout=10, message="the first read to start")
        cur = await db.execute("INSERT INTO t (id) VALUES (6)")
        read_back = asyncio.create_task(db.fetchone("SELECT id FROM t WHERE id = ?", (6,)))
        await asyncio.sleep(0)  # let it queue its query behind the first read
        go.set()
        assert [tuple(r) for r in await slow] == [(i,) for i in range(1, 6)]
        row = await read_back
        assert row is not None and row["id"] == cur.lastrowid == 6
    finally:
        go.set()
        await db.close()
