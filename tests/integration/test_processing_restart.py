"""A job interrupted by killing its worker process is finished after a restart.

`liveshop process SESSION_ID` runs the job in a child process and is SIGKILLed mid-way
(the job row is left 'running'); a fresh `liveshop serve` requeues it at start-up and
finishes it. Clips come from the second attempt's folder and are checked with ffprobe.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from live_server.platform.db import Database
from support.content import PIN_TIMES, ffprobe_duration, make_recording
from support.helpers import REPO_ROOT, start_server_process, wait_for_sync

pytestmark = pytest.mark.slow


async def _seed(db_path: Path, recording: Path) -> int:
    db = Database(db_path)
    await db.open()
    try:
        now = time.time()
        host = await db.execute(
            "INSERT INTO users(username, display_name, password_hash, role, interests, created_at)"
            " VALUES ('killhost', 'Kill Host', 'x', 'host', ?, ?)",
            (json.dumps(["tech", "beauty", "pets", "home", "books"]), now),
        )
        host_id = int(host.lastrowid or 0)
        products = []
        for i, cat in enumerate(("tech", "beauty", "pets")):
            cur = await db.execute(
                "INSERT INTO products(owner_id, title, price_minor, category, stock, created_at,"
                " updated_at) VALUES (?, ?, 1000, ?, 5, ?, ?)",
                (host_id, f"P{i}", cat, now, now),
            )
            products.append(int(cur.lastrowid or 0))
        sess = await db.execute(
            "INSERT INTO live_sessions(host_id, title, starts_at, state, stream_key, created_at,"
            " went_live_at, ended_at) VALUES (?, 'Killed show', ?, 'ended', 'k', ?, ?, ?)",
            (host_id, now - 100, now - 100, now - 70, now - 10),
        )
        session_id = int(sess.lastrowid or 0)
        await db.execute(
            "INSERT INTO recordings(session_id, path, container, video_codec, audio_codec,"
            " duration_s, size_bytes, started_at, ended_at, status)"
            " VALUES (?, ?, 'webm', 'vp8', 'opus', 60, 1, ?, ?, 'finished')",
            (session_id, str(recording), now - 70, now - 10),
        )
        for pid, t in zip(products, PIN_TIMES, strict=True):
            await db.execute(
                "INSERT INTO pins(session_id, product_id, pinned_by, pinned_media_time, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (session_id, pid, host_id, t, now),
            )
        return session_id
    finally:
        await db.close()


def _job(db_path: Path) -> sqlite3.Row | None:
    with sqlite3.connect(db_path, timeout=5) as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute("SELECT * FROM processing_jobs ORDER BY id DESC LIMIT 1").fetchone()


def test_killed_job_is_finished_after_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    db_path = data_dir / "liveshop.db"
    recording = make_recording(tmp_path / "show.webm", "vp8", seconds=36.0)
    session_id = asyncio.run(_seed(db_path, recording))

    log_path = tmp_path / "process.log"
    with open(log_path, "wb") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "live_server", "process", str(session_id),
             "--data-dir", str(data_dir)],
            cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "LIVESHOP_LOG_LEVEL": "warning"},
        )  # fmt: skip
    try:
        row = wait_for_sync(
            lambda: (
                (j := _job(db_path)) is not None
                and j["state"] == "running"
                and j["progress"] >= 0.15
                and j
            ),
            timeout=60,
            message="job running past 15 %",
        )
        assert child.poll() is None, log_path.read_text()
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    # each attempt writes into a folder of its own (a random name): the killed one's
    killed_attempt = {p.name for p in (data_dir / "media" / "sessions" / str(session_id)).iterdir()}
    assert len(killed_attempt) == 1
    interrupted = _job(db_path)
    assert interrupted is not None
    assert interrupted["state"] == "running" and interrupted["attempts"] == 1
    assert row["progress"] < 1.0
    output = log_path.read_text()
    assert "[" in output and "%" in output  # the CLI's progress bar got drawn

    server = start_server_process(data_dir, demo=False)
    try:
        done = wait_for_sync(
            lambda: (j := _job(db_path)) is not None and j["state"] == "done" and j,
            timeout=120,
            interval=0.2,
            message="job finished by the restarted server",
        )
        assert done["attempts"] == 2
        assert "requeued 1 interrupted processing job" in server.log()
    finally:
        assert server.stop() == 0, server.log()

    with sqlite3.connect(db_path) as conn:
        clips = conn.execute(
            "SELECT video_url, duration_s FROM clips WHERE session_id = ? AND deleted_at IS NULL"
            " ORDER BY start_s",
            (session_id,),
        ).fetchall()
    assert len(clips) == 2  # pins at 4 s and 30 s; the one at 56 s is past the end
    for (url, duration), expected in zip(clips, (29.0, 11.0), strict=True):
        assert url.split("/")[-2] not in killed_attempt  # the second attempt's own files
        path = data_dir / "media" / url.removeprefix("/media/")
        assert ffprobe_duration(path) == pytest.approx(expected, abs=0.15)
        assert duration == pytest.approx(expected, abs=0.15)


def test_process_cli_runs_a_job_to_the_end(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    recording = make_recording(tmp_path / "show.webm", "vp8", seconds=12.0)
    session_id = asyncio.run(_seed(data_dir / "liveshop.db", recording))
    out = subprocess.run(
        [sys.executable, "-m", "live_server", "process", str(session_id),
         "--data-dir", str(data_dir)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "LIVESHOP_LOG_LEVEL": "warning"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "100.0%" in out.stderr and "job 1 done" in out.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "live_server", "process", "9999", "--data-dir", str(data_dir)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert missing.returncode == 1 and "no finished recording" in missing.stderr
