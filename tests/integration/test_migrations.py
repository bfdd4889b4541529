"""Schema migrations: an old database upgrades in place without losing rows."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from live_server.platform.db import MIGRATIONS_DIR, Database, discover_migrations


async def test_old_database_upgrades_keeping_rows(tmp_path: Path) -> None:
    old_dir = tmp_path / "old-migrations"
    old_dir.mkdir()
    shutil.copy(MIGRATIONS_DIR / "0001_core.sql", old_dir)
    path = tmp_path / "old.db"
    db = Database(path)
    db._writer = await db._connect()  # open at the old schema only
    await db.migrate(old_dir)
    await db.writer.execute(
        "INSERT INTO users(username, display_name, password_hash, role, interests, created_at)"
        " VALUES ('keep-me', 'Keep', 'scrypt$x', 'host', '[]', 1.0)"
    )
    await db.writer.execute(
        "INSERT INTO products(owner_id, title, price_minor, category, stock, created_at,"
        " updated_at) VALUES (1, 'Old product', 100, 'home', 3, 1.0, 1.0)"
    )
    assert await db.schema_version() == 1
    await db.writer.close()

    upgraded = Database(path)
    await upgraded.open()
    try:
        latest = discover_migrations()[-1].version
        assert await upgraded.schema_version() == latest
        assert await upgraded.fetchval("SELECT username FROM users") == "keep-me"
        assert await upgraded.fetchval("SELECT title FROM products") == "Old product"
        versions = [r[0] for r in await upgraded.fetchall("SELECT version FROM schema_version")]
        assert versions == [m.version for m in discover_migrations()]
        assert await upgraded.fetchval("PRAGMA journal_mode") == "wal"
        assert await upgraded.fetchval("PRAGMA foreign_keys") == 1
    finally:
        await upgraded.close()
    # Opening again applies nothing new.
    again = Database(path)
    await again.open()
    assert await again.migrate() == []
    await again.close()


async def test_failed_migration_rolls_back_and_keeps_version(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "0001_a.sql").write_text("CREATE TABLE a (x INTEGER);")
    (folder / "0002_b.sql").write_text("CREATE TABLE b (y INTEGER); INSERT INTO nope VALUES (1);")
    db = Database(tmp_path / "f.db")
    db._writer = await db._connect()
    with pytest.raises(sqlite3.OperationalError):
        await db.migrate(folder)
    assert await db.schema_version() == 1
    tables = {
        r[0]
        for r in await db.writer.execute_fetchall(
            "SELECT name FROM sqlite_master WHERE type='table'"
        )
    }
    assert "a" in tables and "b" not in tables
    await db.writer.close()


def test_migration_numbers_are_unique_and_well_named(tmp_path: Path) -> None:
    migrations = discover_migrations()
    assert migrations[0].version == 1
    folder = tmp_path / "dup"
    folder.mkdir()
    (folder / "0001_a.sql").write_text("")
    (folder / "0001_b.sql").write_text("")
    with pytest.raises(RuntimeError, match="two migrations"):
        discover_migrations(folder)


async def test_a_migration_numbered_below_the_latest_applied_one_is_still_applied(
    tmp_path: Path,
) -> None:
    """Areas number their migrations in blocks: commerce's 0031 can land after shows' 0044
    was applied; an upgraded database gets it all the same."""
    partial = tmp_path / "without-0031"
    partial.mkdir()
    for migration in discover_migrations():
        if migration.version != 31:
            shutil.copy(migration.path, partial)
    path = tmp_path / "partial.db"
    db = Database(path)
    db._writer = await db._connect()
    await db.migrate(partial)
    rows = await db.writer.execute_fetchall("SELECT version FROM schema_version")
    assert 31 not in [r[0] for r in rows] and 44 in [r[0] for r in rows]
    await db.writer.close()

    upgraded = Database(path)
    await upgraded.open()
    try:
        versions = [r[0] for r in await upgraded.fetchall("SELECT version FROM schema_version")]
        assert 31 in versions
        assert sorted(versions) == [m.version for m in discover_migrations()]
        tables = {r[0] for r in await upgraded.fetchall("SELECT name FROM sqlite_master")}
        assert "auctions" in tables
    finally:
        await upgraded.close()
