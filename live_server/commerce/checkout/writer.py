"""SQL on the writer connection's own thread, and chunking multi-row statements.

`Database.run_on_writer` sends a whole checkout batch (some ten statements, seen through
`SyncTransaction`) to aiosqlite's thread in one hand-off; `chunks` and `marks` build the
multi-row statements of batches, releases and order reads.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any, Final

_CHUNK: Final = 400  # rows per multi-row statement, far below SQLite's variable limit


class SyncTransaction:
    """The open transaction as seen from the writer connection's own thread."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        """First row of a statement (closing its cursor)."""
        cur = self._conn.execute(sql, params)
        try:
            row: sqlite3.Row | None = cur.fetchone()
            return row
        finally:
            cur.close()

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """All rows of a statement."""
        cur = self._conn.execute(sql, params)
        try:
            return list(cur.fetchall())
        finally:
            cur.close()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run a statement for its effect."""
        self._conn.execute(sql, params).close()


def chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    """`items` in slices of at most `size` (one multi-row statement each)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def marks(n: int) -> str:
    """`n` comma-separated `?` placeholders."""
    return ", ".join("?" * n)
