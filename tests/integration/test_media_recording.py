"""Recordings checked with ffprobe: a 10 s broadcast, and one cut short by SIGKILL."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiortc import AudioStreamTrack, RTCPeerConnection

from support.helpers import start_server_process, wait_for
from support.peers import NumberedVideoTrack, http_negotiate


def ffprobe(path: Path) -> tuple[int, dict[str, Any]]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        timeout=60,
    )
    return out.returncode, json.loads(out.stdout or b"{}")


def decodes(path: Path) -> bool:
    """ffmpeg reads every packet of the file and decodes it without error."""
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-xerror", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        timeout=120,
    )
    return out.returncode == 0


async def _login_and_schedule(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.post(
        f"{url}/api/auth/login", json={"username": "demo-host", "password": "demo"}
    ) as resp:
        token = (await resp.json())["token"]
    headers = {"Authorization": f"Bearer {token}"}
    async with http.post(f"{url}/api/sessions", json={"title": "Rec"}, headers=headers) as resp:
        assert resp.status == 201, await resp.text()
        session_id = int((await resp.json())["id"])
    async with http.get(f"{url}/api/sessions/{session_id}/stream-key", headers=headers) as resp:
        key = str((await resp.json())["stream_key"])
    return session_id, key


def _publisher() -> RTCPeerConnection:
    pc = RTCPeerConnection()
    pc.addTransceiver(NumberedVideoTrack(), direction="sendonly")
    pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    return pc


async def _state(http: aiohttp.ClientSession, url: str, session_id: int) -> str:
    async with http.get(f"{url}/api/sessions/{session_id}") as resp:
        return str((await resp.json())["state"])


def _recordings(data_dir: Path, session_id: int) -> list[sqlite3.Row]:
    """The session's recordings (demo data has recordings of its own)."""
    db = sqlite3.connect(data_dir / "liveshop.db")
    db.row_factory = sqlite3.Row
    try:
        return list(
            db.execute("SELECT * FROM recordings WHERE session_id = ? ORDER BY id", (session_id,))
        )
    finally:
        db.close()


@pytest.mark.slow
async def test_ten_second_broadcast_is_recorded_with_both_streams(tmp_path: Path) -> None:
    server = start_server_process(tmp_path / "var", demo=True)
    pc = _publisher()
    try:
        async with aiohttp.ClientSession() as http:
            session_id, key = await _login_and_schedule(http, server.url)
            resource = await http_negotiate(http, pc, f"{server.url}/whip/{session_id}", key)

            async def is_live() -> bool:
                return await _state(http, server.url, session_id) == "live"

            await wait_for(is_live, timeout=20, message="live")

            async def media_time() -> float:
                url = f"{server.url}/api/sessions/{session_id}/media-time"
                async with http.get(url) as resp:
                    return float((await resp.json())["media_time"] or 0.0)

            await wait_for(
                lambda: _at_least(media_time(), 10.0), timeout=30, interval=0.05, message="10 s"
            )
            # the publisher stops at the media time read now plus however long the DELETE
            # takes (a loaded machine answers later): the recording may run that long
            clock = asyncio.get_running_loop().time
            sent_at, stopped_by = clock(), await media_time()
            async with http.delete(resource.location) as resp:
                assert resp.status == 200
            stopped_by += clock() - sent_at

            async def finished() -> list[sqlite3.Row]:
                rows = _recordings(server.data_dir, session_id)
                return [r for r in rows if r["status"] == "finished"]

            rows = await wait_for(finished, timeout=20, message="recording finished")
    finally:
        await pc.close()
        server.stop()
    check_ten_seconds(rows[0], stopped_by)


def check_ten_seconds(rec: sqlite3.Row, stopped_by: float = 10.0) -> None:
    path = Path(rec["path"])
    assert path.is_file() and path.suffix == ".webm"
    code, info = ffprobe(path)
    assert code == 0
    assert sorted(s["codec_type"] for s in info["streams"]) == ["audio", "video"]
    assert {s["codec_name"] for s in info["streams"]} == {"vp8", "opus"}
    duration = float(info["format"]["duration"])
    assert 9.5 < duration < stopped_by + 0.5, (duration, stopped_by)
    assert abs(duration - rec["duration_s"]) < 0.5
    assert rec["size_bytes"] == path.stat().st_size
    assert decodes(path)


@pytest.mark.slow
async def test_recording_cut_short_by_sigkill_is_still_readable(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    server = start_server_process(data_dir, demo=True)
    pc = _publisher()
    try:
        async with aiohttp.ClientSession() as http:
            session_id, key = await _login_and_schedule(http, server.url)
            await http_negotiate(http, pc, f"{server.url}/whip/{session_id}", key)

            def big_enough() -> bool:
                rows = _recordings(data_dir, session_id)  # file names are random tokens
                files = [Path(r["path"]) for r in rows if Path(r["path"]).is_file()]
                return bool(files) and files[0].stat().st_size > 60_000

            await wait_for(big_enough, timeout=30, message="recording grows")
            server.kill()
            t_killed = time.monotonic()
    finally:
        await pc.close()
        server.stop()
    assert time.monotonic() - t_killed < 60
    check_truncated(data_dir, session_id)
    rows = _recordings(data_dir, session_id)
    assert rows and rows[0]["status"] == "recording"
    # the next start closes it: duration read from the packets, RecordingFinished published
    server = start_server_process(data_dir, demo=True)
    try:
        rows = _recordings(data_dir, session_id)
        assert rows[0]["status"] == "finished"
        assert rows[0]["duration_s"] > 1.0
    finally:
        server.stop()


def check_truncated(data_dir: Path, session_id: int) -> None:
    (path,) = [Path(r["path"]) for r in _recordings(data_dir, session_id)]
    code, info = ffprobe(path)
    assert code == 0, "ffprobe cannot read the file left by a crash"
    assert sorted(s["codec_type"] for s in info["streams"]) == ["audio", "video"]
    assert decodes(path)


async def _at_least(value: Any, threshold: float) -> bool:
    return bool(await value >= threshold)


async def test_writer_stream_copies_vp8_and_h264_with_right_duration(tmp_path: Path) -> None:
    import fractions

    import av

    from recordings.bitstream import is_keyframe
    from recordings.writer import RecordingWriter
    from support.peers import draw_number, encode_opus, encode_vp8

    def h264_frames(n: int) -> list[bytes]:
        enc = av.CodecContext.create("libx264", "w")
        enc.width, enc.height, enc.pix_fmt = 320, 240, "yuv420p"
        enc.time_base = fractions.Fraction(1, 30)
        enc.options = {"preset": "ultrafast", "tune": "zerolatency", "g": "30"}
        out: list[bytes] = []
        for i in range(n):
            frame = draw_number(i, 320, 240)
            frame.pts = i
            out.extend(bytes(p) for p in enc.encode(frame))
        return out

    vp8 = [data for data, _ in encode_vp8(4.0, 320, 240, 30, 300_000)]
    opus = encode_opus(4.0)
    for codec, frames, ext in (("VP8", vp8, "webm"), ("H264", h264_frames(120), "mkv")):
        writer = RecordingWriter(tmp_path / f"rec.{ext}", codec, "OPUS")
        writer.start()
        # audio first, as on the wire: held until the first video keyframe opens the file
        events = [(i * 0.02, "audio", d, i * 960) for i, d in enumerate(opus)]
        events += [(i / 30, "video", d, i * 3000) for i, d in enumerate(frames)]
        for _, kind, data, pts in sorted(events, key=lambda e: (e[0], e[1] == "video")):
            key = is_keyframe(codec, data) if kind == "video" else True
            writer.on_frame(kind, codec if kind == "video" else "OPUS", data, pts, key)
        info = await writer.close()
        assert info.container == ("webm" if codec == "VP8" else "matroska")
        assert abs(info.duration_s - 4.0) < 0.1
        check_writer_output(info.path, codec.lower(), info.duration_s)


def check_writer_output(path: Path, video_codec: str, duration: float) -> None:
    code, probe = ffprobe(path)
    assert code == 0
    names = {s["codec_type"]: s["codec_name"] for s in probe["streams"]}
    assert names == {"video": video_codec, "audio": "opus"}
    assert abs(float(probe["format"]["duration"]) - duration) < 0.5
    assert decodes(path)
