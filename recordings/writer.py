"""The recorder tap: PyAV stream copy of the host's encoded frames to WebM/Matroska.

Frames arrive on the event loop (``on_frame``, non-blocking) already stamped on
the session's media timeline (recording t=0 == media time 0) and are muxed on a
worker thread. VP8 goes to WebM, H264 to Matroska; both are written in clusters
and flushed per packet, so a file cut short by SIGKILL is still readable (it
lacks only the duration and the seek index, which ``probe`` recomputes).
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from recordings.bitstream import h264_parameter_sets, vp8_dimensions

logger = logging.getLogger(__name__)

CLOCK_RATES = {"video": 90000, "audio": 48000}
MAX_PENDING_AUDIO = 250  # audio frames held while waiting for the first video keyframe
MUXER_OPTIONS = {"flush_packets": "1", "cluster_time_limit": "1000"}


def container_for(video_codec: str | None) -> tuple[str, str]:
    """(ffmpeg format, file extension) for a recording of ``video_codec``."""
    if video_codec is not None and video_codec.upper() == "H264":
        return "matroska", "mkv"
    return "webm", "webm"


@dataclass(frozen=True)
class RecordingInfo:
    """What a finished recording holds, as ffprobe-independent facts."""

    path: Path
    container: str
    video_codec: str | None
    audio_codec: str | None
    duration_s: float
    size_bytes: int


_STOP = object()


class RecordingWriter:
    """Writes one recording; ``on_frame`` is the SFU tap, ``close`` finalises."""

    def __init__(self, path: Path, video_codec: str | None, audio_codec: str | None) -> None:
        self.path = path
        self.video_codec = video_codec.upper() if video_codec else None
        self.audio_codec = audio_codec.upper() if audio_codec else None
        self.format, _ = container_for(self.video_codec)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"recorder-{path.name}", daemon=True)
        self._started = False
        self._closed = False
        self._error: BaseException | None = None
        self.frames_written = 0
        self.first_pts_s: float | None = None
        self.last_pts_s = 0.0

    def start(self) -> None:
        """Start the muxing thread (the file is created at the first video keyframe)."""
        if not self._started:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._started = True
            self._thread.start()

    def on_frame(self, kind: str, codec: str, data: bytes, pts: int, keyframe: bool) -> None:
        """Queue one encoded frame (called on the event loop; never blocks)."""
        if self._closed or not self._started:
            return
        if (kind == "video" and codec.upper() != self.video_codec) or (
            kind == "audio" and codec.upper() != self.audio_codec
        ):
            return  # a reconnect with another codec cannot go into this file
        self._queue.put((kind, data, pts, keyframe))

    async def close(self) -> RecordingInfo:
        """Finalise the file (trailer, duration) and describe it."""
        if not self._closed:
            self._closed = True
            if self._started:
                self._queue.put(_STOP)
                await asyncio.to_thread(self._thread.join)
        if self._error is not None:
            raise RuntimeError(f"recording {self.path} failed: {self._error}")
        size = self.path.stat().st_size if self.path.exists() else 0
        return RecordingInfo(
            path=self.path,
            container=self.format,
            video_codec=self.video_codec,
            audio_codec=self.audio_codec,
            duration_s=round(self.last_pts_s, 3),
            size_bytes=size,
        )

    # -- worker thread ------------------------------------------------------------

    def _run(self) -> None:
        muxer: _Muxer | None = None
        pending_audio: list[tuple[str, bytes, int, bool]] = []
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    break
                kind, data, pts, keyframe = item
                if muxer is None:
                    if self.video_codec is not None and not (kind == "video" and keyframe):
                        if kind == "audio" and len(pending_audio) < MAX_PENDING_AUDIO:
                            pending_audio.append(item)
                        continue
                    muxer = _Muxer(self.path, self.format, self.video_codec, self.audio_codec, data)
                    for held in pending_audio:
                        self._write(muxer, *held)
                    pending_audio.clear()
                self._write(muxer, kind, data, pts, keyframe)
        except BaseException as exc:  # the loop must hear about it in close()
            logger.exception("recorder %s failed", self.path)
            self._error = exc
        finally:
            if muxer is not None:
                try:
                    muxer.close()
                except Exception as exc:
                    logger.exception("recorder %s could not finalise", self.path)
                    self._error = self._error or exc

    def _write(self, muxer: _Muxer, kind: str, data: bytes, pts: int, keyframe: bool) -> None:
        if muxer.write(kind, data, pts, keyframe):
            self.frames_written += 1
            seconds = pts / CLOCK_RATES[kind]
            if self.first_pts_s is None:
                self.first_pts_s = seconds
            self.last_pts_s = max(self.last_pts_s, seconds)


class _Muxer:
    """The PyAV output container (worker thread only)."""

    def __init__(
        self,
        path: Path,
        format_name: str,
        video_codec: str | None,
        audio_codec: str | None,
        first_keyframe: bytes,
    ) -> None:
        self._container = av.open(str(path), "w", format=format_name, options=MUXER_OPTIONS)
        self._streams: dict[str, Any] = {}
        self._last_dts: dict[str, int] = {}
        if video_codec is not None:
            width, height = _dimensions(video_codec, first_keyframe)
            stream = self._container.add_stream(
                "libvpx" if video_codec == "VP8" else "h264", rate=30
            )
            stream.width = width
            stream.height = height
            stream.pix_fmt = "yuv420p"
            stream.time_base = fractions.Fraction(1, 1000)
            if video_codec == "H264":
                extradata = h264_parameter_sets(first_keyframe)
                if extradata:
                    stream.codec_context.extradata = extradata
            self._streams["video"] = stream
        if audio_codec is not None:
            audio = self._container.add_stream("libopus", rate=48000)
            audio.time_base = fractions.Fraction(1, 1000)
            self._streams["audio"] = audio
        self._time_bases = {k: fractions.Fraction(1, r) for k, r in CLOCK_RATES.items()}

    def write(self, kind: str, data: bytes, pts: int, keyframe: bool) -> bool:
        stream = self._streams.get(kind)
        if stream is None or not data:
            return False
        # the muxer needs strictly increasing timestamps per stream (in ms)
        ms = pts * 1000 // CLOCK_RATES[kind]
        if ms <= self._last_dts.get(kind, -1):
            return False
        self._last_dts[kind] = ms
        packet = av.Packet(data)
        packet.pts = pts
        packet.dts = pts
        packet.time_base = self._time_bases[kind]
        packet.stream = stream
        packet.is_keyframe = keyframe
        self._container.mux(packet)
        return True

    def close(self) -> None:
        self._container.close()


def _dimensions(codec: str, keyframe: bytes) -> tuple[int, int]:
    if codec == "VP8":
        dims = vp8_dimensions(keyframe)
        if dims is not None:
            return dims
    else:
        # H264 sizes live in the SPS; decoding this one keyframe is the simplest
        # reliable reader (once per recording, on the worker thread).
        decoder = av.CodecContext.create("h264", "r")
        for frame in decoder.decode(av.Packet(keyframe)):
            return int(frame.width), int(frame.height)
        for frame in decoder.decode(None):
            return int(frame.width), int(frame.height)
    return 640, 480


def probe(path: Path) -> float:
    """Media duration of a (possibly truncated) recording, by reading its packets."""
    last = 0.0
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.pts is not None and packet.time_base is not None:
                last = max(last, float(packet.pts * packet.time_base))
    return last
