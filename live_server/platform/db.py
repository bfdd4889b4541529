"""The embedded SQLite database (aiosqlite): connections, transactions, migrations.

Two connections to one WAL-mode file: a writer, whose use is serialised by an asyncio lock
(every write and every transaction goes through it), and a reader for plain queries, which
never sees a transaction that is still open. SQLite allows one writer at a time anyway;
serialising in the process avoids SQLITE_BUSY and keeps transactions short.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import inspect
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from live_server.platform.files import create_private, ensure_private_dir, make_private

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_MIGRATION_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

Params = Sequence[Any] | dict[str, Any]
T = TypeVar("T")


#: The aiosqlite release `Database.run_on_writer` was written against (constraints.txt).
AIOSQLITE_VERSION = "0.22.1"


def verify_aiosqlite_internals() -> None:
    """Fails loudly if aiosqlite no longer has the internals `run_on_writer` relies on.

    `Connection._execute(fn, *args)` runs a callable on the connection's thread and
    `Connection._conn` is the underlying sqlite3 connection. Called at start-up and by a
    unit test, so an upgrade that changes them stops the server instead of corrupting a
    checkout batch.
    """
    problems = []
    execute = getattr(aiosqlite.Connection, "_execute", None)
    if not callable(execute) or not inspect.iscoroutinefunction(execute):
        problems.append("aiosqlite.Connection._execute is no longer a coroutine function")
    else:
        params = list(inspect.signature(execute).parameters.values())
        if len(params) < 2 or params[1].name != "fn":
            problems.append("aiosqlite.Connection._execute no longer takes (fn, *args)")
    if not isinstance(getattr(aiosqlite.Connection, "_conn", None), property):
        problems.append("aiosqlite.Connection._conn is no longer a property")
    if problems:
        installed = importlib.metadata.version("aiosqlite")
        raise RuntimeError(
            f"aiosqlite {installed} (written for {AIOSQLITE_VERSION}): " + "; ".join(problems)
        )


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def discover_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Numbered migration files in order; a duplicate number is a programming error."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_RE.match(path.name)
        if not match:
            raise RuntimeError(f"migration file name not of the form NNNN_name.sql: {path.name}")
        version = int(match.group(1))
        if version in found:
            raise RuntimeError(f"two migrations numbered {version:04d}")
        found[version] = Migration(version, match.group(2), path)
    return [found[v] for v in sorted(found)]


class Executor:
    """Query methods shared by the database and an open transaction.

    Every query runs start to finish in one hand-off to the connection's thread
    (`execute_fetchall`). The reader is one connection shared by all coroutines, and a
    statement left open across an await (execute, then fetch, then close) keeps that
    connection's read snapshot: a query another coroutine ran in between saw the database
    as it was when the open statement started, so a row committed just before could be
    missing (a new user read back as None, hence "username taken").
    """

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        """The first row (the queries this is used for return one or a few rows)."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


class Transaction(Executor):
    """An open BEGIN IMMEDIATE transaction on the writer connection."""

    async def execute(self, sql: str, params: Params = ()) -> sqlite3.Cursor:
        """Runs one statement; returns the cursor (lastrowid, rowcount)."""
        cur = await self._conn.execute(sql, params)
        await cur.close()
        return cur  # type: ignore[return-value]

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self._conn.executemany(sql, rows)


class Database(Executor):
    """The application's database. Reads go to the reader; writes use `transaction()`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        """Opens both connections, sets pragmas and applies pending migrations."""
        await asyncio.to_thread(self._make_files_private)
        self._writer = await self._connect()
        await self._writer.execute("PRAGMA journal_mode=WAL")
        await self.migrate()
        self._reader = await self._connect()
        self._conn = self._reader

    def _make_files_private(self) -> None:
        # SQLite creates a database 0644 and gives its -wal and -shm files the database's
        # mode: created 0600 beforehand, all three stay private (older ones are tightened).
        ensure_private_dir(self.path.parent)
        create_private(self.path)
        for suffix in ("-wal", "-shm"):
            make_private(self.path.with_name(self.path.name + suffix))

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=5000")
        # WAL + NORMAL: durable across process crashes; a power cut may lose the last commit.
        await conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    async def close(self) -> None:
        """Checkpoints the WAL and closes both connections.

        Takes the writer lock first, so a write still in flight (the chat's write-behind at
        shut-down) finishes before the connection goes. The checkpoint only saves the next
        start-up some work: if SQLite refuses it now ("database table is locked"), the WAL is
        checkpointed at the next open, and the connections still close.
        """
        async with self._lock:
            for conn in (self._reader, self._writer):
                if conn is None:
                    continue
                try:
                    if conn is self._writer:
                        try:
                            await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                        except sqlite3.OperationalError as exc:
                            logger.warning("WAL checkpoint at close skipped: %s", exc)
                finally:
                    await conn.close()
            self._reader = self._writer = None

    @property
    def writer(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise RuntimeError("database is not open")
        return self._writer

    async def run_on_writer(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Runs `fn(connection)` on the writer connection's own thread, in one hand-off.

        Call it inside `transaction()` (which holds the writer lock and wraps BEGIN
        IMMEDIATE / COMMIT / ROLLBACK). A checkout batch is some ten statements; sent one
        by one, each would be a round trip between the event loop and aiosqlite's thread,
        and under load each round trip waits for the GIL. aiosqlite has no public way to
        run a function on its thread: this is the one place that uses its internals
        (`verify_aiosqlite_internals` checks them at start-up).
        """
        writer = self.writer
        conn: sqlite3.Connection = writer._conn
        result: T = await writer._execute(fn, conn)  # type: ignore[no-untyped-call]
        return result

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
        async with self._lock:
            conn = self.writer
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(conn)
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            else:
                await conn.execute("COMMIT")

    async def execute(self, sql: str, params: Params = ()) -> sqlite3.Cursor:
        """One write statement in its own transaction."""
        async with self.transaction() as tx:
            return await tx.execute(sql, params)

    async def schema_version(self) -> int:
        row = await Executor(self.writer).fetchone(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version"
        )
        return int(row[0]) if row else 0

    async def migrate(self, directory: Path = MIGRATIONS_DIR) -> list[int]:
        """Applies every migration not yet recorded in `schema_version`, in number order,
        each atomically. Numbers are blocked by area (docs/architecture.md), so an area's new
        migration can be numbered below one of another area applied earlier: what counts is
        whether it was applied, not whether it is newer."""
        conn = self.writer
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
        )
        async with conn.execute("SELECT version FROM schema_version") as cursor:
            done = {int(row[0]) for row in await cursor.fetchall()}
        applied: list[int] = []
        for migration in discover_migrations(directory):
            if migration.version in done:
                continue
            sql = migration.path.read_text(encoding="utf-8")
            script = (
                "BEGIN IMMEDIATE;\n"
                f"{sql}\n;\n"
                "INSERT INTO schema_version(version, name, applied_at) "
                f"VALUES ({migration.version}, '{migration.name}', {time.time()});\n"
                "COMMIT;"
            )
            try:
                await conn.executescript(script)
            except Exception:
                if conn.in_transaction:
                    await conn.execute("ROLLBACK")
                logger.exception("migration %04d_%s failed", migration.version, migration.name)
                raise
            # executescript may reset connection-level pragmas in some builds; re-assert.
            await conn.execute("PRAGMA foreign_keys=ON")
            logger.info("applied migration %04d_%s", migration.version, migration.name)
            applied.append(migration.version)
        return applied
