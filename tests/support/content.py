"""Shared set-up for the clips/feed/posts tests: a show with products, a generated
recording row and pins, inserted the way the media and room areas would."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from live_server.platform.db import Database
from recordings.synthetic import SyntheticSpec, generate_recording
from support.helpers import auth

PIN_TIMES = (4.0, 30.0, 56.0)


@dataclass
class Show:
    """A host's ended session with three products pinned at PIN_TIMES."""

    host: dict[str, Any]
    host_token: str
    session_id: int
    product_ids: list[int]
    recording_id: int
    pin_ids: list[int]


def make_recording(
    path: Path, flavour: str = "vp8", seconds: float = 60.0, width: int = 320, height: int = 180
) -> Path:
    """A small synthetic recording (VP8/Opus WebM or H.264/AAC MP4), keyframes every 2 s."""
    spec = SyntheticSpec(duration_s=seconds, width=width, height=height, flavour=flavour, gop=60)
    return generate_recording(path, spec)


async def create_products(http: Any, token: str, categories: list[str]) -> list[int]:
    """One product per category through the REST API."""
    ids = []
    for i, category in enumerate(categories):
        resp = await http.post(
            "/api/products",
            json={
                "title": f"{category.title()} thing {i}",
                "price_minor": 1500 + i,
                "currency": "USD",
                "category": category,
                "stock": 50,
            },
            headers=auth(token),
        )
        assert resp.status == 201, await resp.text()
        ids.append((await resp.json())["id"])
    return ids


async def create_session(
    http: Any, token: str, product_ids: list[int], moderators: list[str] | None = None
) -> int:
    """A scheduled session with the products."""
    resp = await http.post(
        "/api/sessions",
        json={
            "title": "After-show test",
            "product_ids": product_ids,
            "moderators": moderators or [],
        },
        headers=auth(token),
    )
    assert resp.status == 201, await resp.text()
    return int((await resp.json())["id"])


async def insert_recording(
    db: Database,
    session_id: int,
    path: Path,
    container: str,
    vcodec: str,
    acodec: str,
    duration: float,
) -> int:
    """The media area's `recordings` row for a finished recording."""
    now = time.time()
    size = await asyncio.to_thread(os.path.getsize, path)
    cur = await db.execute(
        "INSERT INTO recordings(session_id, path, container, video_codec, audio_codec, duration_s,"
        " size_bytes, started_at, ended_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'finished')",
        (
            session_id,
            str(path),
            container,
            vcodec,
            acodec,
            duration,
            size,
            now - duration,
            now,
        ),
    )
    return int(cur.lastrowid or 0)


async def insert_pins(
    db: Database,
    session_id: int,
    product_ids: list[int],
    pinned_by: int,
    times: tuple[float, ...] = PIN_TIMES,
) -> list[int]:
    """The room area's `pins` rows: product i pinned at times[i] for 20 s."""
    ids = []
    now = time.time()
    for product_id, t in zip(product_ids, times, strict=False):
        cur = await db.execute(
            "INSERT INTO pins(session_id, product_id, pinned_by, pinned_media_time,"
            " unpinned_media_time, created_at, unpinned_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (session_id, product_id, pinned_by, t, t + 20, now, now),
        )
        ids.append(int(cur.lastrowid or 0))
    return ids


async def make_show(
    http: Any,
    db: Database,
    make_user: Any,
    recording: Path,
    categories: list[str] | None = None,
    moderators: list[str] | None = None,
) -> Show:
    """Host, products, an ended-looking session, its recording row and three pins."""
    host, token = await make_user("host")
    product_ids = await create_products(http, token, categories or ["tech", "beauty", "pets"])
    session_id = await create_session(http, token, product_ids, moderators)
    webm = recording.suffix == ".webm"
    rec_id = await insert_recording(
        db,
        session_id,
        recording,
        "webm" if webm else "mp4",
        "vp8" if webm else "h264",
        "opus" if webm else "aac",
        60.0,
    )
    pins = await insert_pins(db, session_id, product_ids, host["id"])
    return Show(host, token, session_id, product_ids, rec_id, pins)


def ffprobe_duration(path: Path) -> float:
    """Container duration according to Debian's ffprobe."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", "-show_format", "-show_streams", str(path)],
        capture_output=True, check=True, text=True, timeout=30,
    )  # fmt: skip
    data = json.loads(out.stdout)
    codecs = sorted(s["codec_name"] for s in data["streams"])
    assert codecs == ["aac", "h264"], codecs
    return float(data["format"]["duration"])
