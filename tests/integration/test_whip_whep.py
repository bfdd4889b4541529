"""WHIP ingest and WHEP playback over HTTP with real aiortc peers: status codes, bad
offers, go-live, fan-out to viewers, media time, reconnect grace, end and recording."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import av
import pytest
from aiohttp.test_utils import TestClient
from aiortc import AudioStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from live_server.platform.events import RecordingFinished
from live_server.settings import Settings
from support.helpers import auth, wait_for
from support.peers import (
    NumberedVideoTrack,
    http_negotiate,
    read_number,
    selected_addresses,
    viewer_pc,
)
from support.services import Services

Client = TestClient[Any, Any]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(
        {"data_dir": tmp_path / "var", "secret": "test-secret", "reconnect_grace_s": 2.0}, env={}
    )


async def new_session(client: Client, make_user: Any, **extra: Any) -> tuple[int, str, str]:
    """A scheduled session of a fresh host: (id, stream key, host token)."""
    _, token = await make_user(role="host")
    resp = await client.post("/api/sessions", json={"title": "Show", **extra}, headers=auth(token))
    assert resp.status == 201, await resp.text()
    session_id = (await resp.json())["id"]
    resp = await client.get(f"/api/sessions/{session_id}/stream-key", headers=auth(token))
    return session_id, (await resp.json())["stream_key"], token


def base(client: Client) -> str:
    return str(client.make_url("")).rstrip("/")


async def state(client: Client, session_id: int, token: str | None = None) -> str:
    resp = await client.get(f"/api/sessions/{session_id}", headers=auth(token) if token else {})
    return str((await resp.json())["state"])


def publisher_pc(audio: bool = True) -> tuple[RTCPeerConnection, NumberedVideoTrack]:
    pc = RTCPeerConnection()
    track = NumberedVideoTrack()
    pc.addTransceiver(track, direction="sendonly")
    if audio:
        pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    return pc, track


class Watcher:
    """A WHEP viewer that decodes video and reads the frame numbers."""

    def __init__(self) -> None:
        self.pc = viewer_pc(passthrough=False)
        self.numbers: list[int] = []
        self.audio_frames = 0
        self.pc.on("track", self._on_track)
        self._tasks: list[asyncio.Task[None]] = []

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._tasks.append(asyncio.ensure_future(self._read(track)))

    async def _read(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if isinstance(frame, av.VideoFrame):
                self.numbers.append(read_number(frame))
            else:
                self.audio_frames += 1

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()


SDP_HEADERS = {"Content-Type": "application/sdp"}


async def test_whip_status_codes_and_bad_offers(client: Client, make_user: Any) -> None:
    session_id, key, _ = await new_session(client, make_user)
    pc, _ = publisher_pc()
    await pc.setLocalDescription(await pc.createOffer())
    offer = pc.localDescription.sdp
    url = f"/whip/{session_id}"
    try:
        resp = await client.post("/whip/999999", data=offer, headers={**SDP_HEADERS, **auth(key)})
        assert resp.status == 404
        resp = await client.post(url, data=offer, headers=SDP_HEADERS)
        assert resp.status == 401
        assert (await resp.json())["error"]["code"] == "bad_stream_key"
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        resp = await client.post(url, data=offer, headers={**SDP_HEADERS, **auth("sk_wrong")})
        assert resp.status == 401
        resp = await client.post(
            url, data=offer, headers={"Content-Type": "text/plain", **auth(key)}
        )
        assert resp.status == 415
        for bad in ("", "hello", "v=0\r\nthis is not sdp\r\n", "v=0\r\n" + "x" * 70000):
            resp = await client.post(url, data=bad, headers={**SDP_HEADERS, **auth(key)})
            assert resp.status in (400, 413), (bad[:20], resp.status)
            body = await resp.json()
            assert body["error"]["message"]
        # a valid SDP with a data channel only: no codec to forward
        dc = RTCPeerConnection()
        dc.createDataChannel("x")
        await dc.setLocalDescription(await dc.createOffer())
        resp = await client.post(
            url, data=dc.localDescription.sdp, headers={**SDP_HEADERS, **auth(key)}
        )
        assert resp.status == 400
        assert "codec" in (await resp.json())["error"]["message"]
        await dc.close()
        # WHEP before the host is live: 409
        viewer = viewer_pc()
        await viewer.setLocalDescription(await viewer.createOffer())
        resp = await client.post(
            f"/whep/{session_id}", data=viewer.localDescription.sdp, headers=SDP_HEADERS
        )
        assert resp.status == 409
        assert (await resp.json())["error"]["code"] == "not_live"
        await viewer.close()
        # CORS preflight and no trickle ICE
        resp = await client.options(url)
        assert resp.status == 204
        assert "POST" in resp.headers["Access-Control-Allow-Methods"]
        assert "Authorization" in resp.headers["Access-Control-Allow-Headers"]
        resp = await client.patch(f"{url}/whatever", data="a=candidate", headers=auth(key))
        assert resp.status == 405
        resp = await client.delete(f"{url}/nope")
        assert resp.status == 404
        assert await state(client, session_id) == "scheduled"
    finally:
        await pc.close()


async def test_broadcast_to_three_viewers_then_end_with_recording(
    client: Client, make_user: Any, services: Services
) -> None:
    session_id, key, _ = await new_session(client, make_user)
    finished: list[RecordingFinished] = []

    async def on_finished(event: RecordingFinished) -> None:
        finished.append(event)

    services.events.subscribe(RecordingFinished, on_finished)
    pc, _track = publisher_pc()
    watchers: list[Watcher] = []
    async with aiohttp.ClientSession() as http:
        try:
            resource = await http_negotiate(http, pc, f"{base(client)}/whip/{session_id}", key)
            assert resource.location.startswith(f"{base(client)}/whip/{session_id}/")
            assert resource.etag
            await wait_for(lambda: state(client, session_id), timeout=15)
            await wait_for(
                lambda: _is(state(client, session_id), "live"), timeout=15, message="live"
            )
            # a second publisher is refused while the first is connected
            other, _ = publisher_pc()
            await other.setLocalDescription(await other.createOffer())
            resp = await client.post(
                f"/whip/{session_id}",
                data=other.localDescription.sdp,
                headers={**SDP_HEADERS, **auth(key)},
            )
            assert resp.status == 409
            await other.close()

            resources = []
            for _ in range(3):
                w = Watcher()
                resources.append(
                    await http_negotiate(http, w.pc, f"{base(client)}/whep/{session_id}")
                )
                watchers.append(w)
            assert services.broadcast.viewer_count(session_id) == 3
            await wait_for(
                lambda: all(len(w.numbers) >= 30 and w.audio_frames > 10 for w in watchers),
                timeout=20,
                message="viewers receive audio and video",
            )
            for w in watchers:
                assert all(b > a for a, b in itertools.pairwise(w.numbers))
            # test media stays on loopback: both ends of every nominated ICE pair
            for peer in [pc, *(w.pc for w in watchers)]:
                pair = selected_addresses(peer)
                assert pair is not None, "no nominated ICE pair"
                (local_host, _), (remote_host, _) = pair
                assert (local_host, remote_host) == ("127.0.0.1", "127.0.0.1"), pair
            resp = await client.get(f"/api/sessions/{session_id}/media-time")
            body = await resp.json()
            assert body["state"] == "live"
            assert 0.5 < body["media_time"] < 60
            # the home page's card: the show's newest picture, decoded from its last keyframe
            listed = await (await client.get(f"/api/posters?sessions={session_id},99999")).json()
            assert list(listed["posters"]) == [str(session_id)]
            resp = await client.get(listed["posters"][str(session_id)])
            assert resp.status == 200 and resp.content_type == "image/jpeg"
            with av.open(io.BytesIO(await resp.read())) as img:
                frame = next(img.decode(video=0))
                assert (frame.width, frame.height) == (320, 240)

            # a viewer leaves with DELETE
            leaving = watchers.pop()
            resp = await http.post(f"{base(client)}/whep/{session_id}", data="x")
            assert resp.status == 415
            resp = await http.delete(resources[-1].location)
            assert resp.status == 200
            assert services.broadcast.viewer_count(session_id) == 2
            resp = await http.delete(resources[-1].location)
            assert resp.status == 404
            await leaving.close()

            resp = await http.delete(resource.location)
            assert resp.status == 200
            await wait_for(
                lambda: _is(state(client, session_id), "ended"), timeout=10, message="ended"
            )
            await wait_for(lambda: finished, timeout=10, message="RecordingFinished")
            assert services.broadcast.viewer_count(session_id) == 0
            # ended, and no replay yet: no picture (the card keeps its tile)
            resp = await client.get(f"/api/sessions/{session_id}/poster")
            assert resp.status == 404
            listed = await (await client.get(f"/api/posters?sessions={session_id}")).json()
            assert listed == {"posters": {}}
            assert (await client.get("/api/posters?sessions=1,x")).status == 400
        finally:
            for w in watchers:
                await w.close()
            await pc.close()
    rec = await services.db.fetchone(
        "SELECT * FROM recordings WHERE id = ?", (finished[0].recording_id,)
    )
    assert rec is not None and rec["status"] == "finished"
    assert rec["video_codec"] == "vp8" and rec["audio_codec"] == "opus"
    assert rec["container"] == "webm" and Path(rec["path"]).is_absolute()
    assert rec["size_bytes"] > 1000
    probe = ffprobe(Path(rec["path"]))
    kinds = sorted(s["codec_type"] for s in probe["streams"])
    assert kinds == ["audio", "video"]
    assert abs(float(probe["format"]["duration"]) - rec["duration_s"]) < 0.5


@pytest.mark.slow
async def test_host_drop_reconnects_within_grace_then_ends_after_it(
    client: Client, make_user: Any, services: Services
) -> None:
    session_id, key, _ = await new_session(client, make_user)
    url = f"{base(client)}/whip/{session_id}"
    async with aiohttp.ClientSession() as http:
        pc, _ = publisher_pc(audio=False)
        await http_negotiate(http, pc, url, key)
        await wait_for(lambda: _is(state(client, session_id), "live"), timeout=15)
        watcher = Watcher()
        await http_negotiate(http, watcher.pc, f"{base(client)}/whep/{session_id}")
        await wait_for(lambda: len(watcher.numbers) > 5, timeout=15)
        t_before = (await (await client.get(f"/api/sessions/{session_id}/media-time")).json())[
            "media_time"
        ]
        await pc.close()  # gone without DELETE
        await wait_for(lambda: _is(state(client, session_id), "reconnecting"), timeout=10)
        seen = len(watcher.numbers)
        # the host comes back within the grace period; the viewer stays and resumes
        pc2, _ = publisher_pc(audio=False)
        await http_negotiate(http, pc2, url, key)
        await wait_for(lambda: _is(state(client, session_id), "live"), timeout=15)
        await wait_for(lambda: len(watcher.numbers) > seen + 15, timeout=15, message="resume")
        t_after = (await (await client.get(f"/api/sessions/{session_id}/media-time")).json())[
            "media_time"
        ]
        assert t_after > t_before  # one timeline across the reconnect
        assert services.broadcast.viewer_count(session_id) == 1
        # now drop for good: ended after the (2 s) grace period
        await pc2.close()
        await wait_for(lambda: _is(state(client, session_id), "reconnecting"), timeout=10)
        await wait_for(lambda: _is(state(client, session_id), "ended"), timeout=15)
        assert services.broadcast.viewer_count(session_id) == 0
        await watcher.close()


async def test_private_session_is_watched_only_by_its_host_moderators_and_admins(
    client: Client, make_user: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id, key, host_token = await new_session(client, make_user, visibility="private")
    # with TURN configured, the 201 announces it in Link headers (RFC 9725 4.6)
    links = ['<turn:turn.example.org:3478>; rel="ice-server"; username="u"; credential="p"']
    monkeypatch.setattr(services.broadcast, "ice_links", lambda peer_id: links)
    async with aiohttp.ClientSession() as http:
        pc, _ = publisher_pc(audio=False)
        await pc.setLocalDescription(await pc.createOffer())
        async with http.post(
            f"{base(client)}/whip/{session_id}",
            data=pc.localDescription.sdp,
            headers={**SDP_HEADERS, **auth(key)},
        ) as resp:
            assert resp.status == 201
            assert resp.headers.getall("Link") == links
            assert resp.headers["Content-Type"].startswith("application/sdp")
            assert resp.headers["ETag"].strip('"') in resp.headers["Location"]
            answer = await resp.text()
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        await wait_for(lambda: _is(state(client, session_id, host_token), "live"), timeout=15)
        _, viewer_token = await make_user()
        # anonymous or signed in, an outsider gets what a missing session gets (issue 12 #1)
        for headers in ({}, auth(viewer_token)):
            viewer = viewer_pc()
            await viewer.setLocalDescription(await viewer.createOffer())
            resp = await client.post(
                f"/whep/{session_id}",
                data=viewer.localDescription.sdp,
                headers={**SDP_HEADERS, **headers},
            )
            assert resp.status == 404
            assert (await resp.json())["error"]["code"] == "session_not_found"
            await viewer.close()
        viewer = viewer_pc()
        await http_negotiate(http, viewer, f"{base(client)}/whep/{session_id}", host_token)
        await viewer.close()
        await pc.close()


async def _is(value: Any, expected: str) -> bool:
    return bool(await value == expected)


def ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        check=True,
        timeout=30,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


PEER_SCRIPT = r"""
import asyncio, sys
import aiohttp
from aiortc import RTCPeerConnection
from support.peers import NumberedVideoTrack, http_negotiate, viewer_pc

async def main(kind, url, token):
    if kind == "publish":
        pc = RTCPeerConnection()
        pc.addTransceiver(NumberedVideoTrack(), direction="sendonly")
    else:
        pc = viewer_pc()
    async with aiohttp.ClientSession() as http:
        await http_negotiate(http, pc, url, token or None)
    while pc.connectionState != "connected":
        await asyncio.sleep(0.05)
    print("connected", flush=True)
    await asyncio.Event().wait()

asyncio.run(main(*sys.argv[1:4]))
"""


def spawn_peer(kind: str, url: str, token: str = "") -> subprocess.Popen[str]:
    """A publisher or viewer in its own process, so that SIGKILL makes it vanish without
    DELETE or a DTLS close (what a crashed phone or a lost network looks like)."""
    root = Path(__file__).resolve().parents[2]
    # `support` lives in tests/ (pytest puts it on sys.path; a child needs it spelled out)
    path = os.pathsep.join([str(root), str(root / "tests"), os.environ.get("PYTHONPATH", "")])
    proc = subprocess.Popen(
        [sys.executable, "-c", PEER_SCRIPT, kind, url, token],
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(root),
        env={**os.environ, "PYTHONPATH": path.rstrip(os.pathsep)},
    )
    return proc


@pytest.mark.slow
async def test_vanished_viewer_and_host_are_cleaned_up(
    client: Client, make_user: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aioice.ice

    # consent freshness (RFC 7675) every 0.3 s, 3 failures: a vanished peer is noticed in ~1 s
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.3)
    monkeypatch.setattr(aioice.ice, "CONSENT_FAILURES", 3)
    session_id, key, _ = await new_session(client, make_user)
    publisher = spawn_peer("publish", f"{base(client)}/whip/{session_id}", key)
    viewer: subprocess.Popen[str] | None = None
    try:
        assert publisher.stdout is not None
        line = await asyncio.to_thread(publisher.stdout.readline)
        assert line.strip() == "connected"
        await wait_for(lambda: _is(state(client, session_id), "live"), timeout=15)
        viewer = spawn_peer("view", f"{base(client)}/whep/{session_id}")
        assert viewer.stdout is not None
        assert (await asyncio.to_thread(viewer.stdout.readline)).strip() == "connected"
        assert services.broadcast.viewer_count(session_id) == 1
        viewer.kill()
        await wait_for(
            lambda: services.broadcast.viewer_count(session_id) == 0,
            timeout=20,
            message="vanished viewer removed",
        )
        publisher.kill()
        await wait_for(
            lambda: _is(state(client, session_id), "reconnecting"),
            timeout=20,
            message="vanished host -> reconnecting",
        )
        await wait_for(lambda: _is(state(client, session_id), "ended"), timeout=15)
    finally:
        for proc in (publisher, viewer):
            if proc is not None and proc.poll() is None:
                proc.kill()
            if proc is not None:
                proc.wait(10)
