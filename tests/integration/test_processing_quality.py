"""After the show the replay and the clips keep what the show had (checked with ffprobe).

Recordings are written by the real recorder tap from encoded frames, the way a browser's
show arrives: H.264 + Opus of one size (stream-copied), and VP8 that starts small and steps
up (transcoded at the largest size). Each pin gets a clip of its own, starting at most 5 s
before it, tagged with its product first.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from live_server.platform.events import RecordingFinished
from recordings.jobs import ProcessingPlan, run_plan
from support.content import create_products, create_session, insert_recording
from support.helpers import auth, wait_for
from support.media_frames import write_webrtc_recording
from support.services import Services

pytestmark = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe missing")

FPS = 25


def ffprobe_video(path: Path) -> dict[str, Any]:
    """What Debian's ffprobe decodes: every picture's size and time, and the stream."""
    out = subprocess.run(
        [
            "ffprobe", "-v", "error", "-of", "json", "-select_streams", "v:0",
            "-show_entries", "frame=width,height,pts_time:stream=codec_name,avg_frame_rate",
            str(path),
        ],
        capture_output=True, check=True, text=True, timeout=60,
    )  # fmt: skip
    data = json.loads(out.stdout)
    frames = data["frames"]
    times = [float(f["pts_time"]) for f in frames]
    num, den = (int(x) for x in data["streams"][0]["avg_frame_rate"].split("/"))
    return {
        "codec": data["streams"][0]["codec_name"],
        "sizes": [(f["width"], f["height"]) for f in frames],
        "largest": max(((f["width"], f["height"]) for f in frames), key=lambda s: s[0] * s[1]),
        # the rate the pictures really come at (a recorder's header may say otherwise)
        "fps": (len(times) - 1) / (max(times) - min(times)),
        "declared_fps": num / den if den else 0.0,
    }


async def test_two_pins_15_s_apart_give_two_clips_and_the_replay_keeps_the_show(
    client: Any, services: Services, make_user: Any, tmp_path: Path
) -> None:
    rec = await write_webrtc_recording(tmp_path / "show.mkv", "H264", [(20.0, 854, 480)], FPS)
    host, token = await make_user("host")
    serum, shirt = await create_products(client, token, ["beauty", "fashion"])
    session_id = await create_session(client, token, [serum, shirt])
    rec_id = await insert_recording(
        services.db, session_id, rec.path, "matroska", "h264", "opus", rec.duration_s
    )
    now = time.time()
    for product_id, at, until in ((serum, 3.3, 10.0), (shirt, 18.3, 20.0)):
        await services.db.execute(
            "INSERT INTO pins(session_id, product_id, pinned_by, pinned_media_time,"
            " unpinned_media_time, created_at, unpinned_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (session_id, product_id, host["id"], at, until, now, now),
        )
    await services.events.publish(RecordingFinished(session_id, rec_id))

    async def done() -> bool:
        resp = await client.get(f"/api/sessions/{session_id}/processing", headers=auth(token))
        jobs = (await resp.json())["items"]
        assert not jobs or jobs[0]["state"] != "failed", jobs
        return bool(jobs) and jobs[0]["state"] == "done"

    await wait_for(done, timeout=60, interval=0.2, message="processing done")
    resp = await client.get(f"/api/sessions/{session_id}/replay", headers=auth(token))
    body = await resp.json()
    media = services.settings.media_dir
    source = ffprobe_video(rec.path)

    # one clip per pin, each starting within 5 s before its own pin, its product first;
    # the serum's clip also lists the shirt, pinned while it plays (the shirt's does not
    # list the serum: it came down at 10 s, before that clip starts)
    clips = sorted(body["clips"], key=lambda c: c["start_s"])
    assert [c["product_ids"] for c in clips] == [[serum, shirt], [shirt]]
    assert [c["product_id"] for c in clips] == [serum, shirt]
    for clip, pin_at in zip(clips, (3.3, 18.3), strict=True):
        assert pin_at - 5.0 - 1e-3 <= clip["start_s"] <= pin_at, (clip["start_s"], pin_at)
        assert clip["start_s"] + clip["duration_s"] > pin_at  # the pinned moment is in it
        cut = ffprobe_video(media / clip["video_url"].removeprefix("/media/"))
        assert cut["codec"] == "h264" and set(cut["sizes"]) == {(854, 480)}

    # the replay: the recording's resolution and frame rate, the video copied as it was
    replay = body["replay"]
    assert (replay["width"], replay["height"]) == source["largest"] == (854, 480)
    out = ffprobe_video(media / replay["video_url"].removeprefix("/media/"))
    assert set(out["sizes"]) == {(854, 480)}
    assert len(out["sizes"]) == len(source["sizes"])  # every picture, none dropped or added
    assert out["fps"] == pytest.approx(source["fps"], abs=0.1)
    assert out["declared_fps"] == pytest.approx(FPS, abs=0.1)
    row = await services.db.fetchone(
        "SELECT transcoded FROM replays WHERE session_id = ?", (session_id,)
    )
    assert row is not None and row["transcoded"] == 0
    # the show's card picture is the replay's poster frame
    resp = await client.get(f"/api/sessions/{session_id}/poster", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == replay["poster_url"]
    listed = await (await client.get(f"/api/posters?sessions={session_id}")).json()
    assert listed == {"posters": {str(session_id): replay["poster_url"]}}


def test_a_vp8_show_that_steps_up_is_replayed_at_its_full_size(tmp_path: Path) -> None:
    """A browser's VP8 starts at 320x180 and steps up to 640x360: the replay is 640x360
    at the show's frame rate (it was 320x180, the first keyframe's size)."""
    import asyncio

    segments = [(1.0, 320, 180), (2.0, 640, 360)]
    rec = asyncio.run(write_webrtc_recording(tmp_path / "show.webm", "VP8", segments, FPS))
    source = ffprobe_video(rec.path)
    assert source["sizes"][0] == (320, 180) and source["largest"] == (640, 360)
    result = run_plan(ProcessingPlan(str(rec.path), str(tmp_path / "out"), ()))
    assert result.replay is not None and result.replay.video.transcoded
    assert (result.replay.video.width, result.replay.video.height) == (640, 360)
    out = ffprobe_video(Path(result.replay.video.path))
    assert set(out["sizes"]) == {(640, 360)}
    assert len(out["sizes"]) == len(source["sizes"])
    assert out["fps"] == pytest.approx(source["fps"], abs=0.1)
    assert out["declared_fps"] == pytest.approx(FPS, abs=0.1)
