"""Processing through the real app: RecordingFinished -> job -> replay, clips, feed items;
progress over Socket.IO to the host; admin re-run; moderators' hand-cut clips."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from live_server.platform.events import RecordingFinished
from support.content import Show, ffprobe_duration, make_recording, make_show
from support.helpers import auth, wait_for
from support.room import RoomClient
from support.services import Services


@pytest.fixture(scope="module")
def webm_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_recording(tmp_path_factory.mktemp("rec") / "show.webm", "vp8")


async def _job_state(client: Any, show: Show) -> dict[str, Any] | None:
    resp = await client.get(
        f"/api/sessions/{show.session_id}/processing", headers=auth(show.host_token)
    )
    assert resp.status == 200
    items = (await resp.json())["items"]
    return items[0] if items else None


async def _wait_done(client: Any, show: Show, timeout: float = 120) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        job = await _job_state(client, show)
        assert job is None or job["state"] != "failed", job
        return job if job and job["state"] == "done" else None

    result: dict[str, Any] = await wait_for(done, timeout=timeout, interval=0.2, message="job done")
    return result


@pytest.mark.slow
async def test_finished_recording_becomes_replay_clips_and_feed_items(
    client: Any, services: Services, make_user: Any, webm_recording: Path
) -> None:
    show = await make_show(client, services.db, make_user, webm_recording)
    base = str(client.make_url("/")).rstrip("/")
    host_socket = await RoomClient(base, show.host_token).connect()
    try:
        await services.events.publish(RecordingFinished(show.session_id, show.recording_id))
        job = await _wait_done(client, show)
        assert job["attempts"] == 1 and job["percent"] == 100.0

        # progress reached the host over Socket.IO, monotonic, ending in "done"
        await wait_for(
            lambda: any(e["state"] == "done" for e in host_socket.events.get("processing", [])),
            message="processing done event",
        )
        events = host_socket.events["processing"]
        running = [e["percent"] for e in events if e["state"] == "running"]
        assert len(running) >= 2 and running == sorted(running)
        assert all(e["session_id"] == show.session_id for e in events)
    finally:
        await host_socket.close()

    resp = await client.get(f"/api/sessions/{show.session_id}/replay")
    body = await resp.json()
    assert body["ready"] is True
    assert body["replay"]["duration_s"] == pytest.approx(60.0, abs=0.2)
    assert [c["start"] for c in body["chapters"]] == [4.0, 30.0, 56.0]
    assert [c["product"]["id"] for c in body["chapters"]] == show.product_ids
    clips = body["clips"]
    assert [c["product_ids"] for c in clips] == [[pid] for pid in show.product_ids]
    media = services.settings.media_dir
    for clip, expected in zip(clips, (29.0, 30.0, 9.0), strict=True):
        path = media / clip["video_url"].removeprefix("/media/")
        assert ffprobe_duration(path) == pytest.approx(expected, abs=0.15)
        assert (media / clip["poster_url"].removeprefix("/media/")).read_bytes()[:2] == b"\xff\xd8"
        served = await client.get(clip["video_url"])
        assert served.status == 200 and served.headers["Content-Type"] == "video/mp4"

    _viewer, token = await make_user()
    feed = await (await client.get("/api/feed?limit=50", headers=auth(token))).json()
    clip_items = [i for i in feed["items"] if i["type"] == "clip"]
    assert sorted(i["id"] for i in clip_items) == sorted(c["id"] for c in clips)
    by_id = {i["id"]: i for i in clip_items}
    for clip in clips:
        item = by_id[clip["id"]]
        assert [p["id"] for p in item["products"]] == clip["product_ids"]
        assert item["creator"]["id"] == show.host["id"]
        assert item["clip"]["video_url"] == clip["video_url"]


@pytest.mark.slow
async def test_rerun_replaces_auto_clips_and_manual_cut(
    client: Any, services: Services, make_user: Any, webm_recording: Path
) -> None:
    mod, mod_token = await make_user()
    show = await make_show(
        client, services.db, make_user, webm_recording, moderators=[mod["username"]]
    )
    _viewer, viewer_token = await make_user()
    _admin, admin_token = await make_user("admin")

    # nobody but the host/admin may re-run; the host's first request queues the job
    resp = await client.post(
        f"/api/sessions/{show.session_id}/processing", headers=auth(viewer_token)
    )
    assert resp.status == 403
    resp = await client.post(
        f"/api/sessions/{show.session_id}/processing", headers=auth(show.host_token)
    )
    assert resp.status == 202
    await _wait_done(client, show)
    first = (await (await client.get(f"/api/sessions/{show.session_id}/clips")).json())["items"]
    assert len(first) == 3

    # a moderator cuts a clip by hand from the replay
    url = f"/api/sessions/{show.session_id}/clips"
    bad = await client.post(
        url,
        json={"start": 20, "end": 10, "product_ids": [show.product_ids[0]]},
        headers=auth(mod_token),
    )
    assert bad.status == 422 and (await bad.json())["error"]["code"] == "invalid_window"
    forbidden = await client.post(
        url,
        json={"start": 10, "end": 20, "product_ids": [show.product_ids[0]]},
        headers=auth(viewer_token),
    )
    assert forbidden.status == 403
    other = await client.post(
        url, json={"start": 10, "end": 20, "product_ids": [999999]}, headers=auth(mod_token)
    )
    assert other.status == 422
    resp = await client.post(
        url,
        json={"start": 10, "end": 20, "product_ids": [show.product_ids[1]], "title": "Best bit"},
        headers=auth(mod_token),
    )
    assert resp.status == 201, await resp.text()
    manual = await resp.json()
    assert manual["source"] == "manual" and manual["product_ids"] == [show.product_ids[1]]
    assert manual["title"] == "Best bit"  # the body model once dropped it silently
    path = services.settings.media_dir / manual["video_url"].removeprefix("/media/")
    # a stream-copied cut starts on the replay's keyframe at or shortly before 10 s
    assert 7.0 <= manual["start_s"] <= 10.0 and manual["end_s"] == pytest.approx(20.0, abs=0.05)
    assert ffprobe_duration(path) == pytest.approx(20.0 - manual["start_s"], abs=0.15)

    # an admin re-runs: automatic clips are replaced, the manual one stays, old ones leave the feed
    resp = await client.post(
        f"/api/sessions/{show.session_id}/processing", headers=auth(admin_token)
    )
    assert resp.status == 202

    # a hand cut while the re-run works: hand cuts have a pool of their own, so it does not
    # wait for the job, and it reads the old replay whole (the new one moves in when done)
    async def running() -> bool:
        resp = await client.get(
            f"/api/sessions/{show.session_id}/processing", headers=auth(show.host_token)
        )
        items = (await resp.json())["items"]
        return len(items) >= 2 and items[0]["state"] == "running"

    await wait_for(running, timeout=60, interval=0.05, message="second job running")
    during = await client.post(
        url, json={"start": 30, "end": 36, "product_ids": [show.product_ids[0]]},
        headers=auth(mod_token),
    )  # fmt: skip
    assert during.status == 201, await during.text()
    job = await _job_state(client, show)
    assert job is not None and job["state"] == "running", job
    cut_during = await during.json()
    path = services.settings.media_dir / cut_during["video_url"].removeprefix("/media/")
    assert ffprobe_duration(path) == pytest.approx(36.0 - cut_during["start_s"], abs=0.15)
    await wait_for(
        lambda: _second_done(client, show), timeout=120, interval=0.2, message="second job done"
    )
    second = (await (await client.get(f"/api/sessions/{show.session_id}/clips")).json())["items"]
    auto = [c for c in second if c["source"] == "auto"]
    assert len(auto) == 3 and not {c["id"] for c in auto} & {c["id"] for c in first}
    assert {manual["id"], cut_during["id"]} <= {c["id"] for c in second}
    gone = await client.get(f"/api/clips/{first[0]['id']}")
    assert gone.status == 404


async def _second_done(client: Any, show: Show) -> bool:
    resp = await client.get(
        f"/api/sessions/{show.session_id}/processing", headers=auth(show.host_token)
    )
    items = (await resp.json())["items"]
    return len(items) >= 2 and items[0]["state"] == "done"


async def test_missing_recording_fails_after_retries(
    client: Any, services: Services, make_user: Any, tmp_path: Path
) -> None:
    ghost = tmp_path / "gone.webm"
    ghost.write_bytes(b"not a video")
    show = await make_show(client, services.db, make_user, ghost)

    await services.events.publish(RecordingFinished(show.session_id, show.recording_id))

    async def failed() -> dict[str, Any] | None:
        job = await _job_state(client, show)
        return job if job and job["state"] == "failed" else None

    job = await wait_for(failed, timeout=60, interval=0.1, message="job failed")
    assert job["attempts"] == job["max_attempts"] == 3
    assert job["error"]
    replay = await (await client.get(f"/api/sessions/{show.session_id}/replay")).json()
    assert replay["ready"] is False and replay["clips"] == []
    await asyncio.sleep(0)  # let the loop settle before teardown
