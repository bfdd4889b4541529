"""The viewers of bench/hls.py, each kind in worker processes driven over stdin.

- ``crowd``: N simulated LL-HLS players, as hls.js plays in low-latency mode: the multivariant
  playlist, the media playlist, the init segment, the parts from PART-HOLD-BACK behind the live
  edge (from an independent one), then forever: a blocking reload for the next part
  (``_HLS_msn`` / ``_HLS_part``) and a fetch of every part it lists that the player lacks.
  ``--decode K`` of them also decode their parts (PyAV) and note each frame's number and when
  it was decoded; ``--track T`` note when each part arrived.
- ``probe``: one player that asks for the preload-hinted part at the same time as the
  blocking reload (the hinted request is held by the origin until the part exists), so it
  notes the moment each part became fetchable through nginx, with its frames' presentation
  times (demuxed, not decoded).
- ``webrtc``: WHEP viewers (aiortc) that decode every frame and note its number and time.

Commands on stdin, one JSON line back for each: ``snap`` (counters so far), ``stop`` (stop,
then everything noted; the process exits). Times are ``time.time()``: one clock for every
process of the run.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import _common  # noqa: F401  (puts tests/ on sys.path for support.*)
import aiohttp
import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from hls_playlist import PartInfo, Playlist, parse

from support.hls_publisher import NumberReader, fragment_pts
from support.peers import BITS, http_negotiate, viewer_pc

RETRY_S = 0.5  # a player's pause after a failed request before it starts over
TIMEOUT = aiohttp.ClientTimeout(total=30)


def read_number_fast(frame: av.VideoFrame) -> int:
    """``support.peers.read_number`` without copying the plane (16 bytes read in place)."""
    plane = frame.planes[0]
    row = memoryview(plane)[(frame.height // 2) * plane.line_size :]
    bar = frame.width // BITS
    number = 0
    for bit in range(BITS):
        number = (number << 1) | (1 if row[bit * bar + bar // 2] > 128 else 0)
    return number


@dataclass
class Stats:
    """What this process's players did."""

    requests: collections.Counter[str] = field(default_factory=collections.Counter)
    body_bytes: collections.Counter[str] = field(default_factory=collections.Counter)
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    started: int = 0
    parts: list[tuple[str, float]] = field(default_factory=list)  # tracked players' parts
    frames: list[tuple[int, int, float]] = field(default_factory=list)  # (pts, number, at)
    probe: list[tuple[str, float, list[int]]] = field(default_factory=list)

    def snap(self) -> dict[str, Any]:
        """The counters (not the notes)."""
        return {
            "requests": dict(self.requests),
            "bytes": dict(self.body_bytes),
            "errors": dict(self.errors),
            "started": self.started,
        }


async def fetch(http: aiohttp.ClientSession, url: str, kind: str, stats: Stats) -> bytes:
    """GET ``url``; raises on anything but 200."""
    async with http.get(url) as resp:
        body = await resp.read()
        stats.requests[kind] += 1
        stats.body_bytes[kind] += len(body)
        if resp.status != 200:
            raise RuntimeError(f"{resp.status} for {kind}")
        return body


@dataclass
class Player:
    """One low-latency player."""

    http: aiohttp.ClientSession
    index_url: str
    stats: Stats
    track: bool = False
    decode: bool = False

    async def run(self, stop: asyncio.Event, delay: float = 0.0) -> None:
        """Play from ``delay`` s on until ``stop``; start over after an error, as a player
        retries."""
        await asyncio.sleep(delay)
        self.stats.started += 1
        while not stop.is_set():
            try:
                await self.play(stop)
            except (aiohttp.ClientError, TimeoutError, RuntimeError, ValueError) as exc:
                self.stats.errors[str(exc) if isinstance(exc, RuntimeError) else repr(exc)] += 1
                await asyncio.sleep(RETRY_S)

    async def play(self, stop: asyncio.Event) -> None:
        """One playback from the multivariant playlist to the end of the show (or ``stop``)."""
        variant = (await self._get(self.index_url, "multivariant")).decode()
        uri = next(line for line in variant.splitlines() if line and not line.startswith("#"))
        media_url = urljoin(self.index_url, uri)
        playlist = parse((await self._get(media_url, "playlist")).decode())
        if playlist.map_uri is None:
            raise ValueError("the media playlist names no init segment")
        init = await self._get(urljoin(media_url, playlist.map_uri), "init")
        reader = NumberReader(init) if self.decode else None
        last: tuple[int, int] | None = None
        for part in start_parts(playlist):
            await self._part(media_url, part, reader)
            last = (part.msn, part.index)
        while not stop.is_set() and not playlist.ended:
            msn, index = playlist.next_directive()
            url = f"{media_url}?_HLS_msn={msn}&_HLS_part={index}"
            playlist = parse((await self._get(url, "blocking")).decode())
            for part in playlist.parts:
                if last is None or (part.msn, part.index) > last:
                    await self._part(media_url, part, reader)
                    last = (part.msn, part.index)

    async def _get(self, url: str, kind: str) -> bytes:
        return await fetch(self.http, url, kind, self.stats)

    async def _part(self, media_url: str, part: PartInfo, reader: NumberReader | None) -> None:
        data = await self._get(urljoin(media_url, part.uri), "part")
        now = time.time()
        if self.track:
            self.stats.parts.append((part.uri, now))
        if reader is not None:
            frames = await asyncio.to_thread(reader.feed, data)
            done = time.time()
            self.stats.frames.extend((pts, number, done) for pts, number in frames)


def start_parts(playlist: Playlist) -> list[PartInfo]:
    """Where a low-latency player starts: PART-HOLD-BACK behind the last part, moved back to
    an independent part (a decoder starts on a keyframe)."""
    parts = playlist.parts
    if not parts:
        return []
    target = playlist.part_target
    back = max(1, round(playlist.part_hold_back / target)) if target else 3
    start = max(0, len(parts) - back)
    while start > 0 and not parts[start].independent:
        start -= 1
    return parts[start:]


async def probe(
    http: aiohttp.ClientSession, index_url: str, stats: Stats, stop: asyncio.Event
) -> None:
    """Ask for each hinted part while it is being made; note when it arrives."""
    while not stop.is_set():
        try:
            variant = (await fetch(http, index_url, "multivariant", stats)).decode()
            uri = next(x for x in variant.splitlines() if x and not x.startswith("#"))
            media_url = urljoin(index_url, uri)
            playlist = parse((await fetch(http, media_url, "playlist", stats)).decode())
            assert playlist.map_uri is not None
            init = await fetch(http, urljoin(media_url, playlist.map_uri), "init", stats)
            seen = {p.uri for p in playlist.parts}
            while not stop.is_set() and not playlist.ended:
                hint = playlist.preload_hint
                msn, index = playlist.next_directive()
                reload = asyncio.ensure_future(
                    fetch(http, f"{media_url}?_HLS_msn={msn}&_HLS_part={index}", "blocking", stats)
                )
                if hint is not None and hint not in seen:
                    seen.add(hint)
                    try:
                        data = await fetch(http, urljoin(media_url, hint), "hinted", stats)
                        stats.probe.append((hint, time.time(), fragment_pts(init, data)))
                    except RuntimeError as exc:  # a hint that never came: the reload goes on
                        stats.errors[f"{exc} {hint}"] += 1
                        seen.discard(hint)
                playlist = parse((await reload).decode())
                for part in playlist.parts:  # a part that was never hinted (a new segment)
                    if part.uri not in seen:
                        data = await fetch(http, urljoin(media_url, part.uri), "part", stats)
                        stats.probe.append((part.uri, time.time(), fragment_pts(init, data)))
                        seen.add(part.uri)
        except (aiohttp.ClientError, TimeoutError, RuntimeError, ValueError) as exc:
            stats.errors[repr(exc)] += 1
            await asyncio.sleep(RETRY_S)


class WebRtcViewer:
    """A WHEP viewer that decodes every frame and notes its number."""

    def __init__(self, stats: Stats) -> None:
        self.pc = viewer_pc(passthrough=False)
        self.stats = stats
        self.tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", lambda t: self.tasks.append(asyncio.ensure_future(self._read(t))))

    async def _read(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if isinstance(frame, av.VideoFrame):
                self.stats.frames.append((-1, read_number_fast(frame), time.time()))


async def serve(args: argparse.Namespace) -> None:
    """Start this process's viewers, answer ``snap`` and ``stop``."""
    stats = Stats()
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    webrtc: list[WebRtcViewer] = []
    # no cookie jar and no decompression: less work per request for a crowd in one process
    async with aiohttp.ClientSession(
        connector=connector,
        timeout=TIMEOUT,
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
    ) as http:
        if args.role == "crowd":
            for i in range(args.clients):
                player = Player(http, args.url, stats, i < args.track, i < args.decode)
                # starts spread over the ramp, so the first playlists do not arrive as one
                delay = args.ramp * i / args.clients
                tasks.append(asyncio.ensure_future(player.run(stop, delay)))
        elif args.role == "probe":
            tasks.append(asyncio.ensure_future(probe(http, args.url, stats, stop)))
        else:
            for _ in range(args.clients):
                viewer = WebRtcViewer(stats)
                await http_negotiate(http, viewer.pc, args.url)
                webrtc.append(viewer)
        print(json.dumps({"ready": True}), flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            if line == "snap":
                print(json.dumps(stats.snap()), flush=True)
                continue
            break  # "stop", or the orchestrator went away
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for viewer in webrtc:
            for task in viewer.tasks:
                task.cancel()
            await viewer.pc.close()
    result = {**stats.snap(), "parts": stats.parts, "frames": stats.frames, "probe": stats.probe}
    print(json.dumps(result), flush=True)


def main() -> None:
    """``python bench/hls_clients.py ROLE URL [--clients N] ...`` (started by bench/hls.py)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("role", choices=["crowd", "probe", "webrtc"])
    parser.add_argument("url", help="the multivariant playlist (crowd, probe) or WHEP URL")
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--decode", type=int, default=0, help="crowd players that decode")
    parser.add_argument("--track", type=int, default=0, help="crowd players that note parts")
    parser.add_argument("--ramp", type=float, default=0.0, help="seconds to start the crowd")
    parser.add_argument("--nice", type=int, default=0, help="lower this process's priority")
    args = parser.parse_args()
    if args.nice:
        os.nice(args.nice)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
