"""The LL-HLS packager with real PyAV, libx264/libvpx and ffprobe.

Numbered frames (tests/support) go in at their real pts spacing; what comes out is checked
against every rule the playlist announces, read back with our fMP4 reader, probed with
Debian's ffprobe (the whole stream and each part on its own) and decoded with PyAV: the
numbers read must be the ones pushed, in order.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import logging
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import pytest

from recordings.llhls import InitSegment, LivePackager, PackagerConfig, Part, SegmentEnd, fmp4
from recordings.llhls import muxer as llhls_muxer
from support.helpers import wait_for
from support.media_frames import encode_h264
from support.peers import encode_opus, encode_vp8, read_number

pytestmark = pytest.mark.slow

CONFIG = PackagerConfig()
FFPROBE = (
    "ffprobe",
    "-v",
    "error",
    "-of",
    "json",
    "-show_format",
    "-show_streams",
    "-show_packets",
)
Frame = tuple[str, str, bytes, int, bool]  # kind, codec, data, pts, keyframe


@dataclass
class Collector:
    """A PackagerSink that keeps everything, with the time each call came."""

    events: list[tuple[float, str, Any]] = field(default_factory=list)
    thread_ids: set[int] = field(default_factory=set)

    def _add(self, kind: str, item: Any) -> None:
        self.thread_ids.add(threading.get_ident())
        self.events.append((time.monotonic(), kind, item))

    def on_init(self, init: InitSegment) -> None:
        self._add("init", init)

    def on_part(self, part: Part) -> None:
        self._add("part", part)

    def on_segment(self, end: SegmentEnd) -> None:
        self._add("segment", end)

    def on_closed(self, error: BaseException | None) -> None:
        self._add("closed", error)

    def of(self, kind: str) -> list[Any]:
        return [item for _, k, item in self.events if k == kind]

    @property
    def init(self) -> InitSegment:
        (init,) = self.of("init")
        return init  # type: ignore[no-any-return]

    @property
    def parts(self) -> list[Part]:
        return self.of("part")

    @property
    def segments(self) -> list[SegmentEnd]:
        return self.of("segment")

    def segment_bytes(self) -> bytes:
        """The init segment, then every segment (its parts' bytes in order)."""
        return self.init.data + b"".join(p.data for p in self.parts)


def h264_show(seconds: float, **kwargs: Any) -> list[Frame]:
    video = [("video", "H264", d, pts, key) for d, pts, key in encode_h264(seconds, **kwargs)]
    return interleave(video, opus(seconds))


def vp8_show(seconds: float) -> list[Frame]:
    frames = encode_vp8(seconds, 320, 240, 30, 300_000)
    video = [("video", "VP8", d, i * 3000, key) for i, (d, key) in enumerate(frames)]
    return interleave(video, opus(seconds))


def opus(seconds: float) -> list[Frame]:
    return [("audio", "OPUS", d, i * 960, True) for i, d in enumerate(encode_opus(seconds))]


def interleave(video: list[Frame], audio: list[Frame]) -> list[Frame]:
    """Both kinds in media-time order (video in its own order, which may go backwards)."""
    out: list[Frame] = []
    a = 0
    for frame in video:
        while a < len(audio) and audio[a][3] / 48000 <= frame[3] / 90000:
            out.append(audio[a])
            a += 1
        out.append(frame)
    return out + audio[a:]


async def package(
    video_codec: str | None,
    audio_codec: str | None,
    frames: Iterable[Frame],
    config: PackagerConfig = CONFIG,
    prepare: Callable[[LivePackager], None] | None = None,
) -> tuple[Collector, LivePackager]:
    """Push every frame (not in real time; waiting when the queue gets long), then close."""
    sink = Collector()
    packager = LivePackager(
        video_codec, audio_codec, sink, asyncio.get_running_loop(), config, label="test"
    )
    if prepare is not None:
        prepare(packager)
    packager.start()
    for frame in frames:
        packager.on_frame(*frame)
        if packager.backlog > 150:
            await wait_for(lambda: packager.backlog < 20, timeout=60, message="the worker")
    await packager.close()
    return sink, packager


def check_rules(sink: Collector, config: PackagerConfig = CONFIG) -> None:
    """What the playlist announces: order, numbering, durations, independence."""
    kinds = [k for _, k, _ in sink.events]
    assert kinds[0] == "init" and kinds[-1] == "closed" and kinds.count("closed") == 1
    assert sink.of("closed") == [None]
    parts, segments = sink.parts, sink.segments
    assert [s.msn for s in segments] == list(range(len(segments)))
    items = [item for _, k, item in sink.events if k in ("part", "segment")]
    assert isinstance(items[-1], SegmentEnd)
    position = 0
    for segment in segments:
        mine = parts[position : position + segment.parts]
        position += segment.parts
        assert [(p.msn, p.index) for p in mine] == [(segment.msn, i) for i in range(len(mine))]
        assert items.index(segment) == items.index(mine[-1]) + 1  # right after its last part
        assert segment.start_s == mine[0].start_s
        assert segment.duration_s == pytest.approx(sum(p.duration_s for p in mine), abs=1e-6)
        assert segment.duration_s <= config.segment_max_s
        for i, part in enumerate(mine):
            assert 0 < part.duration_s <= config.part_max_s + 1e-6, part
            if i < len(mine) - 1 and not part.independent:
                assert part.duration_s >= 0.85 * config.part_target_s - 1e-6, part
    assert position == len(parts)
    for before, after in itertools.pairwise(parts):
        assert after.start_s == pytest.approx(before.start_s + before.duration_s, abs=2e-6)


def check_fragments(
    sink: Collector, video: bool = True, continuous: bool = True
) -> dict[int, list[fmp4.Run]]:
    """tfdt continuous per track across parts; start times and independence match the data."""
    tracks = fmp4.tracks(sink.init.data)
    runs: dict[int, list[fmp4.Run]] = {tid: [] for tid in tracks}
    for part in sink.parts:
        fragments = fmp4.fragments(part.data, tracks)
        assert len(fragments) >= 1
        part_runs = [run for f in fragments for run in f.runs]
        for run in part_runs:
            runs[run.track_id].append(run)
        handler = "vide" if video else "soun"
        first = next((r for r in part_runs if tracks[r.track_id].handler == handler), None)
        if first is None:  # audio cut the parts while the video stalled
            assert video and not part.independent
            continue
        scale = tracks[first.track_id].timescale
        assert first.decode_time / scale == pytest.approx(part.start_s, abs=1e-6)
        if video:
            assert part.independent == first.sync[0], part
    for track_id, track_runs in runs.items():
        for before, after in itertools.pairwise(track_runs):
            if continuous:
                assert after.decode_time == before.end_time, (track_id, before, after)
            else:
                assert after.decode_time >= before.end_time, (track_id, before, after)
    sequences = [f.sequence for p in sink.parts for f in fmp4.fragments(p.data)]
    assert sequences == list(range(1, len(sequences) + 1))
    return runs


def ffprobe(path: Path, clean: bool = True) -> dict[str, Any]:
    """ffprobe's view of a file; ``clean``: not even a decoder complaint on stderr."""
    result = subprocess.run(
        [*FFPROBE, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    if clean:
        assert not result.stderr.strip(), result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def check_with_ffprobe(
    sink: Collector, tmp_path: Path, codecs: set[str], continuous: bool = True
) -> dict[str, Any]:
    """Init + all segments probe as one stream with continuous timestamps; every part with
    the init probes on its own."""
    whole = tmp_path / "show.mp4"
    whole.write_bytes(sink.segment_bytes())
    info = ffprobe(whole)
    assert {s["codec_name"] for s in info["streams"]} == codecs
    for stream in info["streams"]:
        packets = [p for p in info["packets"] if p["stream_index"] == stream["index"]]
        times = [float(p["pts_time"]) for p in packets]
        steps = [b - a for a, b in itertools.pairwise(times)]
        assert min(steps) > 0, stream["codec_name"]
        if not continuous:
            continue
        if all("duration_time" in p for p in packets):  # each packet ends where the next starts
            for packet, step in zip(packets, steps, strict=False):
                assert float(packet["duration_time"]) == pytest.approx(step, abs=1e-4), packet
        else:  # ffprobe 5.1 gives Opus packets no duration; the input is evenly spaced
            assert max(steps) - min(steps) < 1e-4, (stream["codec_name"], min(steps), max(steps))
    start = sink.segments[0].start_s
    total = sum(s.duration_s for s in sink.segments)
    assert float(info["format"]["duration"]) == pytest.approx(start + total, abs=0.05)
    for part in sink.parts:
        single = tmp_path / f"part-{part.msn}-{part.index}.mp4"
        single.write_bytes(sink.init.data + part.data)
        # a part that does not start on a keyframe demuxes, but its first frames lack
        # their references (ffprobe's decoder says so); an independent one is clean
        one = ffprobe(single, clean=part.independent)
        assert {s["codec_name"] for s in one["streams"]} == codecs
        samples = sum(len(r.durations) for f in fmp4.fragments(part.data) for r in f.runs)
        assert len(one["packets"]) == samples, part
    return info


def decoded_numbers(data: bytes) -> list[int]:
    with av.open(io.BytesIO(data), "r") as container:
        return [read_number(frame) for frame in container.decode(video=0)]


async def test_h264_and_opus_remux_to_valid_cmaf(tmp_path: Path) -> None:
    frames = h264_show(7.0)
    sink, packager = await package("H264", "OPUS", frames)
    assert not packager.transcoding
    assert packager.last_keyframe_s == pytest.approx(6.0)
    assert sink.thread_ids == {threading.get_ident()}  # the sink ran on the event loop
    check_rules(sink)
    check_fragments(sink)
    init = sink.init
    assert (init.codecs, init.width, init.height) == ("avc1.42c00d,opus", 320, 240)
    segments = sink.segments
    assert [s.start_s for s in segments] == [0.0, 2.0, 4.0, 6.0]
    assert [s.duration_s for s in segments] == pytest.approx([2.0, 2.0, 2.0, 1.0])
    assert all(p.duration_s == pytest.approx(0.2) for p in sink.parts)
    assert [p.independent for p in sink.parts] == [p.index == 0 for p in sink.parts]
    check_with_ffprobe(sink, tmp_path, {"h264", "opus"})
    assert decoded_numbers(sink.segment_bytes()) == list(range(210))


async def test_vp8_is_transcoded_with_keyframes_at_the_segment_cadence(tmp_path: Path) -> None:
    sink, packager = await package("VP8", "OPUS", vp8_show(6.5))
    assert packager.transcoding
    check_rules(sink)
    runs = check_fragments(sink)
    assert sink.init.codecs.startswith("avc1.42") and sink.init.codecs.endswith(",opus")
    segments = sink.segments
    assert [s.start_s for s in segments] == pytest.approx([0.0, 2.0, 4.0, 6.0])
    # the encoder's keyframes are where the segments start (and nowhere else)
    keyframes = []
    for run in runs[1]:
        t = run.decode_time
        for duration, sync in zip(run.durations, run.sync, strict=True):
            if sync:
                keyframes.append(t / 90000)
            t += duration
    assert keyframes == pytest.approx([0.0, 2.0, 4.0, 6.0])
    check_with_ffprobe(sink, tmp_path, {"h264", "opus"})
    assert decoded_numbers(sink.segment_bytes()) == list(range(195))


async def test_the_transcoder_makes_a_keyframe_when_a_segment_is_due() -> None:
    # 25 fps: the encoder's own interval (60 frames, 2.4 s here) would come too late
    frames = encode_vp8(4.5, 320, 240, 25, 300_000)
    video = [("video", "VP8", d, i * 3600, key) for i, (d, key) in enumerate(frames)]
    sink, _ = await package("VP8", None, video)
    check_rules(sink)
    check_fragments(sink)
    assert [s.start_s for s in sink.segments] == pytest.approx([0.0, 2.0, 4.0])
    assert all(p.independent == (p.index == 0) for p in sink.parts)
    assert decoded_numbers(sink.segment_bytes()) == list(range(len(frames)))


async def test_without_keyframes_segments_close_before_segment_max(tmp_path: Path) -> None:
    sink, _ = await package("H264", "OPUS", h264_show(9.0, keyframe_s=20.0))
    check_rules(sink)
    check_fragments(sink)
    segments = sink.segments
    assert len(segments) == 3 and all(s.duration_s <= CONFIG.segment_max_s for s in segments)
    firsts = [p for p in sink.parts if p.index == 0]
    assert [p.independent for p in firsts] == [True, False, False]
    check_with_ffprobe(sink, tmp_path, {"h264", "opus"})
    assert decoded_numbers(sink.segment_bytes()) == list(range(270))


async def test_audio_only_show_is_cut_by_audio(tmp_path: Path) -> None:
    sink, _ = await package(None, "OPUS", opus(5.0))
    check_rules(sink)
    check_fragments(sink, video=False)
    assert sink.init.codecs == "opus" and sink.init.width is None
    assert all(p.independent for p in sink.parts)
    assert [s.duration_s for s in sink.segments] == pytest.approx([2.0, 2.0, 1.0])
    check_with_ffprobe(sink, tmp_path, {"opus"})


async def test_video_waits_for_the_first_keyframe_and_holds_the_audio(tmp_path: Path) -> None:
    frames = [f for f in h264_show(5.0) if not (f[0] == "video" and f[3] < 15 * 3000)]
    sink, _ = await package("H264", "OPUS", frames)
    check_rules(sink)
    check_fragments(sink)
    assert sink.parts[0].start_s == 2.0 and sink.parts[0].independent
    info = check_with_ffprobe(sink, tmp_path, {"h264", "opus"})
    assert {float(s["start_time"]) for s in info["streams"]} == {2.0}
    assert decoded_numbers(sink.segment_bytes()) == list(range(60, 150))


@pytest.mark.parametrize("codec", ["H264", "VP8"])
async def test_a_part_is_out_as_soon_as_the_frame_after_it_is_pushed(codec: str) -> None:
    frames = h264_show(2.2) if codec == "H264" else vp8_show(2.2)
    sink = Collector()
    packager = LivePackager(codec, "OPUS", sink, asyncio.get_running_loop(), CONFIG, "rt")
    packager.start()
    pushed: dict[int, float] = {}  # video pts -> when it was pushed
    began = time.monotonic()
    for frame in frames:  # a real-time feed: each frame at its media time
        due = began + frame[3] / (90000 if frame[0] == "video" else 48000)
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        if frame[0] == "video":
            pushed[frame[3]] = time.monotonic()
        packager.on_frame(*frame)
    await wait_for(lambda: len(sink.parts) >= 10, timeout=5, message="ten parts")
    await packager.close()
    lags = []
    for at, kind, part in sink.events:
        if kind != "part" or part is sink.parts[-1]:
            continue  # the last part is flushed by close()
        closing_pts = round((part.start_s + part.duration_s) * 90000)
        lags.append(at - pushed[closing_pts])
    assert len(lags) >= 10
    logging.getLogger(__name__).info(
        "%s push -> on_part lag: median %.1f ms, max %.1f ms",
        codec,
        sorted(lags)[len(lags) // 2] * 1000,
        max(lags) * 1000,
    )
    assert max(lags) < 0.1, lags


async def test_b_frames_warn_once_and_the_show_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    frames = h264_show(4.0, bframes=2)
    videos = [f for f in frames if f[0] == "video"]
    assert any(b[3] < a[3] for a, b in itertools.pairwise(videos))  # decode order
    with caplog.at_level(logging.WARNING, logger="recordings.llhls"):
        sink, _ = await package("H264", "OPUS", frames)
    warnings = [r for r in caplog.records if "B-frames" in r.getMessage()]
    assert len(warnings) == 1
    assert "set OBS to profile baseline / bframes=0" in warnings[0].getMessage()
    check_rules(sink)
    check_fragments(sink)  # tfdt still runs on without a gap: each frame lasts until the next
    check_with_ffprobe(sink, tmp_path, {"h264", "opus"}, continuous=False)
    numbers = decoded_numbers(sink.segment_bytes())
    # what is left is the frames that came in pts order (I and P): increasing, none invented
    assert numbers[0] == 0 and numbers == sorted(set(numbers)) and len(numbers) >= 40


def garbage(size: int = 700) -> bytes:
    return b"\xfe" + os.urandom(size)  # no start code, not a VP8 key frame header


@pytest.mark.parametrize("codec", ["H264", "VP8"])
async def test_random_bytes_marked_as_keyframes_are_dropped(codec: str, tmp_path: Path) -> None:
    frames = h264_show(4.0) if codec == "H264" else vp8_show(4.0)
    videos = [i for i, f in enumerate(frames) if f[0] == "video"]
    for index in (videos[70], videos[0]):  # mid-stream, then before the very first frame
        pts = frames[index][3] - 1
        frames.insert(index, ("video", codec, garbage(), pts, True))
    # and the very first frame the packager sees is garbage too (pts before the show)
    frames.insert(0, ("video", codec, b"\x10" + os.urandom(300), 0, True))
    sink, _ = await package(codec, "OPUS", frames)
    assert sink.of("closed") == [None]  # it carried on
    check_rules(sink)
    check_fragments(sink)
    check_with_ffprobe(sink, tmp_path, {"h264", "opus"})
    assert decoded_numbers(sink.segment_bytes()) == list(range(120))


async def test_a_full_queue_drops_frames_and_video_resumes_at_a_keyframe(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gate = threading.Event()
    frames = h264_show(8.0)
    first_batch = [f for f in frames if f[3] / (90000 if f[0] == "video" else 48000) < 4.0]
    second_batch = [f for f in frames if f[3] / (90000 if f[0] == "video" else 48000) >= 4.5]
    sink = Collector()
    packager = LivePackager("H264", "OPUS", sink, asyncio.get_running_loop(), CONFIG, "full")
    push = packager._pipeline.push

    def stuck_worker(*args: Any) -> None:
        gate.wait(30)  # the worker is stuck (a slow machine) until the test lets it go
        push(*args)

    packager._pipeline.push = stuck_worker  # type: ignore[method-assign,assignment]
    packager.start()
    with caplog.at_level(logging.WARNING, logger="recordings.llhls"):
        packager.on_frame(*first_batch[0])
        await wait_for(lambda: packager.backlog == 0, message="the worker took the first frame")
        for frame in first_batch[1:]:
            packager.on_frame(*frame)
        assert packager.backlog == 300
        assert packager.overflow_drops == len(first_batch) - 301  # one is with the worker
        gate.set()
        await wait_for(lambda: packager.backlog == 0, timeout=30, message="the queue drained")
        for frame in second_batch:
            packager.on_frame(*frame)
        await packager.close()
    assert len([r for r in caplog.records if "frames behind" in r.getMessage()]) == 1
    assert sink.of("closed") == [None]
    check_fragments(sink, continuous=False)  # what was dropped is a hole, not an overlap
    check_with_ffprobe(sink, tmp_path, {"h264", "opus"}, continuous=False)
    numbers = decoded_numbers(sink.segment_bytes())
    kept = len([f for f in first_batch[:301] if f[0] == "video"])
    # video resumed at the keyframe at 6 s (frame 180), not at 4.5 s
    assert numbers == list(range(kept)) + list(range(180, 240))


async def test_a_failing_muxer_closes_the_packager_with_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    add = llhls_muxer._PartWriter.add
    calls = 0

    def failing_add(self: Any, *args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 100:
            raise av.error.InvalidDataError(1094995529, "simulated muxer failure")
        add(self, *args)

    monkeypatch.setattr(llhls_muxer._PartWriter, "add", failing_add)
    sink = Collector()
    packager = LivePackager("H264", "OPUS", sink, asyncio.get_running_loop(), CONFIG, "boom")
    packager.start()
    frames = h264_show(3.0)
    for frame in frames[:150]:
        packager.on_frame(*frame)
    await wait_for(lambda: sink.of("closed"), timeout=10, message="on_closed")
    (error,) = sink.of("closed")
    assert isinstance(error, av.error.InvalidDataError)
    for frame in frames[150:]:  # later frames are ignored, nothing raises
        packager.on_frame(*frame)
    await packager.close()
    assert len(sink.of("closed")) == 1
    assert sink.parts and sink.of("init")  # what came before the failure was delivered
    assert await asyncio.sleep(0, result="the loop is fine") == "the loop is fine"
