"""LL-HLS of a live show end to end: a real aiortc publisher over WHIP (H.264, and VP8
through the on-demand transcode), the playlists checked against every LL-HLS rule by an
independent reader, blocking reload, the files checked with ffprobe and decoded back to
the publisher's numbered frames, cache headers, private grants, the VOD after the end."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import av
import pytest
from aiohttp.test_utils import TestClient
from aiortc import AudioStreamTrack, RTCPeerConnection, RTCRtpSender

from live_server.app import create_app
from live_server.settings import Settings
from support.helpers import auth, wait_for
from support.llhls import MediaPlaylist, check_ll_hls_rules, parse_media_playlist
from support.peers import NumberedVideoTrack, http_negotiate, read_number

Client = TestClient[Any, Any]
SDP = {"Content-Type": "application/sdp"}

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(
        {"data_dir": tmp_path / "var", "secret": "test-secret", "reconnect_grace_s": 2.0}, env={}
    )


async def new_show(client: Client, make_user: Any, **extra: Any) -> tuple[int, str, str]:
    _, token = await make_user(role="host")
    resp = await client.post("/api/sessions", json={"title": "Show", **extra}, headers=auth(token))
    assert resp.status == 201, await resp.text()
    session_id = (await resp.json())["id"]
    resp = await client.get(f"/api/sessions/{session_id}/stream-key", headers=auth(token))
    return session_id, (await resp.json())["stream_key"], token


def publisher(codec: str) -> tuple[RTCPeerConnection, NumberedVideoTrack]:
    pc = RTCPeerConnection()
    track = NumberedVideoTrack()
    transceiver = pc.addTransceiver(track, direction="sendonly")
    codecs = RTCRtpSender.getCapabilities("video").codecs
    transceiver.setCodecPreferences([c for c in codecs if c.mimeType == f"video/{codec}"])
    pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    return pc, track


async def go_live(client: Client, session_id: int, key: str, codec: str) -> RTCPeerConnection:
    pc, _ = publisher(codec)
    base = str(client.make_url("")).rstrip("/")
    await http_negotiate(client.session, pc, f"{base}/whip/{session_id}", key)
    return pc


async def text(client: Client, url: str, **kw: Any) -> str:
    resp = await client.get(url, **kw)
    assert resp.status == 200, (url, resp.status, await resp.text())
    return await resp.text()


async def variant_base(client: Client, session_id: int, token: str | None = None) -> str:
    """The stream's base URL (`/hls/{id}/{epoch}/{grant}/`) from the multivariant playlist."""
    headers = auth(token) if token else {}
    body = await text(client, f"/hls/{session_id}/index.m3u8", headers=headers)
    lines = body.splitlines()
    assert lines[0] == "#EXTM3U"
    stream_inf = next(line for line in lines if line.startswith("#EXT-X-STREAM-INF:"))
    assert 'CODECS="avc1.' in stream_inf and "BANDWIDTH=" in stream_inf
    uri = lines[lines.index(stream_inf) + 1]
    assert uri.endswith("/media.m3u8") and not uri.startswith("/")
    return f"/hls/{session_id}/{uri.rsplit('/', 1)[0]}/"


async def playlist_with(client: Client, base: str, segments: int) -> MediaPlaylist:
    """Polls the live playlist until it lists `segments` complete segments."""
    latest: list[MediaPlaylist] = []

    async def enough() -> bool:
        resp = await client.get(base + "media.m3u8")
        if resp.status != 200:
            return False
        latest[:] = [parse_media_playlist(await resp.text())]
        return sum(1 for s in latest[0].segments if s.duration is not None) >= segments

    await wait_for(enough, timeout=30, interval=0.2)
    return latest[0]


def ffprobe_packets(path: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "packet=stream_index,pts_time,duration_time,flags",
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return list(json.loads(out.stdout)["packets"])


def decoded_numbers(path: Path) -> list[int]:
    with av.open(str(path)) as container:
        return [read_number(frame) for frame in container.decode(video=0)]


async def fetch_bytes(client: Client, url: str) -> bytes:
    resp = await client.get(url)
    assert resp.status == 200, (url, resp.status)
    return await resp.read()


async def check_stream_files(
    client: Client, base: str, playlist: MediaPlaylist, tmp_path: Path
) -> list[int]:
    """ffprobe every part and the whole; returns the frame numbers the segments decode to."""
    init = await fetch_bytes(client, base + "init.mp4")
    complete = [s for s in playlist.segments if s.duration is not None]
    whole = tmp_path / "all.mp4"
    with whole.open("wb") as f:
        f.write(init)
        for segment in complete:
            f.write(await fetch_bytes(client, base + f"s{segment.msn}.m4s"))
    for part in complete[-1].parts:
        one = tmp_path / f"part{part.index}.mp4"
        one.write_bytes(init + await fetch_bytes(client, base + part.uri))
        assert ffprobe_packets(one), f"part {part.uri} has packets"
    packets = ffprobe_packets(whole)
    video = [p for p in packets if p["stream_index"] == 0]
    audio = [p for p in packets if p["stream_index"] == 1]
    assert video and audio, "both streams are in the segments"
    assert "K" in video[0]["flags"], "the first segment starts on a keyframe"
    for stream in (video, audio):
        times = [float(p["pts_time"]) for p in stream]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert min(gaps) > 0, "timestamps only move forward"
        assert max(gaps) < 0.2, f"no hole in the timestamps (largest gap {max(gaps):.3f}s)"
    numbers = decoded_numbers(whole)
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), (
        "the segments decode to the publisher's frames, none lost or reordered"
    )
    total = sum(s.duration or 0 for s in complete)
    assert abs(len(numbers) / 30 - total) < 0.5, (len(numbers), total)
    return numbers


async def test_h264_show_is_ll_hls_by_every_rule(
    client: Client, make_user: Any, tmp_path: Path
) -> None:
    session_id, key, _ = await new_show(client, make_user)
    pc = await go_live(client, session_id, key, "H264")
    try:
        base = await variant_base(client, session_id)
        playlist = await playlist_with(client, base, 3)
        check_ll_hls_rules(playlist)
        complete = [s for s in playlist.segments if s.duration is not None]
        # the origin asks for a keyframe every ~2 s: segments are about that long and
        # each starts with an independent part
        for segment in complete:
            assert segment.duration is not None and 1.5 <= segment.duration <= 4.0, segment
            assert segment.parts[0].independent, f"segment {segment.msn} starts on a keyframe"
        await check_stream_files(client, base, playlist, tmp_path)

        # headers for caches
        resp = await client.get(base + complete[-1].parts[0].uri)
        assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        etag = resp.headers["ETag"]
        again = await client.get(base + complete[-1].parts[0].uri, headers={"If-None-Match": etag})
        assert again.status == 304
        resp = await client.get(base + "media.m3u8")
        assert resp.headers["Cache-Control"] == "public, max-age=1"
        assert resp.headers["Content-Type"].startswith("application/vnd.apple.mpegurl")
        assert "Set-Cookie" not in resp.headers
        resp = await client.get(base + "s999999.m4s")
        assert resp.status == 404
        # a name that is not a stream file (an encoded path, another file) is 404
        for name in ("..%2F..%2Fliveshop.db", "vod.json", "init.mp4.tmp"):
            resp = await client.get(base + name)
            assert resp.status == 404, name
    finally:
        await pc.close()


async def test_blocking_reload_answers_when_the_part_appears_and_never_before(
    client: Client, make_user: Any
) -> None:
    session_id, key, _ = await new_show(client, make_user)
    pc = await go_live(client, session_id, key, "H264")
    try:
        base = await variant_base(client, session_id)
        playlist = await playlist_with(client, base, 1)
        assert playlist.preload_hint is not None
        hinted = playlist.preload_hint  # s{M}.p{P}.m4s
        msn, part = (int(x) for x in hinted[1:-4].split(".p"))
        url = base + f"media.m3u8?_HLS_msn={msn}&_HLS_part={part}"
        asked_at = time.monotonic()
        blocking = asyncio.ensure_future(client.get(url))
        preload = asyncio.ensure_future(client.get(base + hinted))
        await asyncio.sleep(0)
        # while the request is held, the part is not in the plain playlist
        now = parse_media_playlist(await text(client, base + "media.m3u8"))
        if not now.has_part(msn, part):
            assert not blocking.done()
        resp = await asyncio.wait_for(blocking, 5)
        held = time.monotonic() - asked_at
        assert resp.status == 200
        assert resp.headers["Cache-Control"] == "public, max-age=60"
        answered = parse_media_playlist(await resp.text())
        assert answered.has_part(msn, part) or any(s.msn > msn for s in answered.segments), (
            "the answer holds the part it was asked for"
        )
        assert held < 1.0, f"held {held:.2f}s for a ~0.3 s part"
        part_resp = await asyncio.wait_for(preload, 5)
        assert part_resp.status == 200
        body = await part_resp.read()
        assert body[4:8] in (b"moof", b"styp"), "a part is CMAF fragments"
        assert await fetch_bytes(client, base + hinted) == body
        # too far ahead, malformed, or a part without its msn: 400
        for query in (f"_HLS_msn={msn + 5}", "_HLS_part=1", "_HLS_msn=abc"):
            resp = await client.get(base + "media.m3u8?" + query)
            assert resp.status == 400, query
    finally:
        await pc.close()


async def test_vp8_show_is_transcoded_once_on_demand(
    client: Client, make_user: Any, tmp_path: Path
) -> None:
    session_id, key, _ = await new_show(client, make_user)
    pc = await go_live(client, session_id, key, "VP8")
    try:
        await wait_for(lambda: _state_is(client, session_id, "live"), timeout=15)
        metrics = await text(client, "/metrics")
        assert "liveshop_hls_streams 0.0" in metrics, "no transcode before anyone asks"
        base = await variant_base(client, session_id)
        metrics = await text(client, "/metrics")
        assert "liveshop_hls_streams 1.0" in metrics
        playlist = await playlist_with(client, base, 2)
        check_ll_hls_rules(playlist)
        await check_stream_files(client, base, playlist, tmp_path)
        assert await variant_base(client, session_id) == base, "one transcode per show"
    finally:
        await pc.close()


async def _state_is(client: Client, session_id: int, state: str) -> bool:
    resp = await client.get(f"/api/sessions/{session_id}")
    return bool((await resp.json())["state"] == state)


async def test_private_show_needs_a_grant_and_a_public_url_opens_nothing(
    client: Client, make_user: Any
) -> None:
    session_id, key, host_token = await new_show(client, make_user, visibility="private")
    pc = await go_live(client, session_id, key, "H264")
    try:
        resp = await client.get(f"/hls/{session_id}/index.m3u8")
        assert resp.status == 404, "anonymous: as if there were no such show"
        _, stranger = await make_user()
        resp = await client.get(f"/hls/{session_id}/index.m3u8", headers=auth(stranger))
        assert resp.status == 404
        base = await variant_base(client, session_id, host_token)
        resp = await client.get(f"/hls/{session_id}/index.m3u8", headers=auth(host_token))
        assert resp.headers["Cache-Control"] == "private, no-store"
        epoch, grant = base.split("/")[3], base.split("/")[4]
        assert grant != "public" and "." in grant
        await playlist_with(client, base, 1)
        # the signed grant opens the files without any header...
        assert (await client.get(base + "init.mp4")).status == 200
        # ...a forged or "public" one opens nothing
        for forged in ("public", grant[:-2] + "xx", "9999999999.abc"):
            resp = await client.get(f"/hls/{session_id}/{epoch}/{forged}/init.mp4")
            assert resp.status == 404, forged
        # the info endpoint follows the same visibility rule
        assert (await client.get(f"/api/sessions/{session_id}/hls")).status == 404
        info = await client.get(f"/api/sessions/{session_id}/hls", headers=auth(host_token))
        body = await info.json()
        assert body["url"] == f"/hls/{session_id}/index.m3u8"
        assert isinstance(body["media_epoch_ms"], int)
        assert abs(body["media_epoch_ms"] / 1000 - time.time()) < 120
    finally:
        await pc.close()


async def test_ended_show_is_a_vod_at_once_and_after_a_restart(
    client: Client, make_user: Any, aiohttp_client: Any, settings: Settings
) -> None:
    session_id, key, _host_token = await new_show(client, make_user)
    pc, _ = publisher("H264")
    base_url = str(client.make_url("")).rstrip("/")
    resource = await http_negotiate(client.session, pc, f"{base_url}/whip/{session_id}", key)
    try:
        base = await variant_base(client, session_id)
        live = await playlist_with(client, base, 2)
        async with client.session.delete(resource.location, headers=auth(key)) as resp:
            assert resp.status == 200
        await wait_for(lambda: _state_is(client, session_id, "ended"), timeout=15)
        vod = parse_media_playlist(await text(client, base + "media.m3u8"))
        check_ll_hls_rules(vod, live=False)
        assert vod.segments[0].msn == 0, "the VOD starts at the show's first segment"
        assert len(vod.segments) >= len([s for s in live.segments if s.duration])
        for segment in vod.segments:
            assert (await client.get(base + f"s{segment.msn}.m4s")).status == 200
        # the multivariant playlist now names the VOD
        assert await variant_base(client, session_id) == base
        # the replay page plays these segments until the MP4 replay is processed
        replay = await (await client.get(f"/api/sessions/{session_id}/replay")).json()
        assert replay["instant_replay"] == (not replay["ready"]), replay
        never_live, _, _ = await new_show(client, make_user)
        replay = await (await client.get(f"/api/sessions/{never_live}/replay")).json()
        assert (replay["ready"], replay["instant_replay"]) == (False, False), replay
        # a restarted server finds the VOD on disk under the same URLs
        await client.close()
        restarted = await aiohttp_client(create_app(settings))
        # the VOD keeps its media-time epoch (asked first: the VOD is found on disk for it)
        info = await (await restarted.get(f"/api/sessions/{session_id}/hls")).json()
        assert isinstance(info["media_epoch_ms"], int), info
        assert await variant_base(restarted, session_id) == base
        again = parse_media_playlist(await text(restarted, base + "media.m3u8"))
        assert [s.msn for s in again.segments] == [s.msn for s in vod.segments]
        first = await fetch_bytes(restarted, base + "s0.m4s")
        assert first[4:8] in (b"moof", b"styp")
        assert (await restarted.get(base + "s0.p0.m4s")).status == 404, "a VOD has no parts"
    finally:
        await pc.close()


async def test_front_row_and_capacity_send_viewers_to_hls(client: Client, make_user: Any) -> None:
    session_id, key, host_token = await new_show(client, make_user, front_row=0)
    pc = await go_live(client, session_id, key, "H264")
    viewer = RTCPeerConnection()
    try:
        await wait_for(lambda: _state_is(client, session_id, "live"), timeout=15)
        viewer.addTransceiver("video", direction="recvonly")
        await viewer.setLocalDescription(await viewer.createOffer())
        resp = await client.post(
            f"/whep/{session_id}", data=viewer.localDescription.sdp, headers=SDP
        )
        assert resp.status == 503
        assert (await resp.json())["error"]["code"] == "front_row_full"
        assert int(resp.headers["Retry-After"]) >= 1
        doc = await (await client.get(f"/api/sessions/{session_id}")).json()
        assert doc["front_row"] == 0 and doc["hls_url"] == f"/hls/{session_id}/index.m3u8"
        resp = await client.patch(
            f"/api/sessions/{session_id}", json={"front_row": -1}, headers=auth(host_token)
        )
        assert resp.status == 422
    finally:
        await viewer.close()
        await pc.close()


async def test_every_hinted_part_comes_even_across_segment_boundaries(
    client: Client, make_user: Any
) -> None:
    """A player follows the preload hint part after part, as hls.js does; a hint is never
    withdrawn (a part of a segment that then closed without it would be a 404 that every
    viewer waiting behind a cache sends on to the origin)."""
    session_id, key, _ = await new_show(client, make_user)
    pc = await go_live(client, session_id, key, "H264")
    try:
        base = await variant_base(client, session_id)
        playlist = await playlist_with(client, base, 1)
        segments_seen: set[int] = set()
        for _ in range(40):  # until two segment boundaries are crossed (about 11 s at most)
            if len(segments_seen) >= 3:
                break
            hint = playlist.preload_hint
            assert hint is not None
            resp = await client.get(base + hint)
            assert resp.status == 200, f"the hinted {hint} never came"
            msn, part = (int(x) for x in hint[1:-4].split(".p"))
            segments_seen.add(msn)
            reload = await client.get(base + f"media.m3u8?_HLS_msn={msn}&_HLS_part={part}")
            assert reload.status == 200
            playlist = parse_media_playlist(await reload.text())
            assert playlist.has_part(msn, part)
        assert len(segments_seen) >= 3, segments_seen
    finally:
        await pc.close()
