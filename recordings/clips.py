"""Cutting a piece of a recording into a web-playable MP4 (PyAV).

Two paths, both keeping the show's resolution and frame rate:

* :func:`cut_copy` -- stream copy of H.264 video of one size. The cut starts at a
  keyframe (the planner snaps starts), no video decoding, moov atom first; AAC audio is
  copied too, any other audio (Opus from WebRTC) is re-encoded to AAC on the way.
* :func:`cut_transcode` -- decode (VP8, or H.264 whose size changed during the show) and
  encode H.264/AAC with the settings in :class:`EncodeSettings` at the source's largest
  picture size, every frame at its own time, frame-accurate start.

Both block and report progress as a fraction in [0, 1] through an optional callback;
run them in a worker thread.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from recordings.probe import MediaError, MediaInfo

logger = logging.getLogger(__name__)

Progress = Callable[[float], None]
VIDEO_TIME_BASE = Fraction(1, 90000)
MP4_OPTIONS = {"movflags": "+faststart"}


@dataclass(frozen=True, slots=True)
class EncodeSettings:
    """H.264/AAC settings of the transcode path (the benchmark gives ffmpeg the same)."""

    preset: str = "veryfast"
    crf: int = 23
    gop: int = 60
    audio_bitrate: int = 128_000
    audio_rate: int = 48_000
    # Only sources above 1080p are scaled down (by their short side, so a vertical phone
    # show stays vertical at its own size).
    max_short_side: int = 1080

    def ffmpeg_args(self) -> list[str]:
        """The equivalent ffmpeg command-line options (used by bench/clips.py)."""
        return [
            "-c:v", "libx264", "-preset", self.preset, "-crf", str(self.crf), "-g", str(self.gop),
            "-bf", "0", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", str(self.audio_bitrate), "-ar", str(self.audio_rate),
            "-movflags", "+faststart",
        ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class CutResult:
    """What a cut produced."""

    path: str
    start_s: float
    duration_s: float
    width: int
    height: int
    transcoded: bool


def _report(progress: Progress | None, value: float) -> None:
    if progress is not None:
        progress(min(1.0, max(0.0, value)))


def _aac_stream(out: Any, a_in: av.AudioStream, cfg: EncodeSettings) -> Any:
    a_out = out.add_stream("aac", rate=cfg.audio_rate)
    a_out.bit_rate = cfg.audio_bitrate
    layout = a_in.codec_context.layout.name if a_in.codec_context.layout else "stereo"
    a_out.layout = layout if layout in ("mono", "stereo") else "stereo"
    return a_out


def cut_copy(
    src: str | Path,
    dst: str | Path,
    start: float,
    end: float,
    progress: Progress | None = None,
    settings: EncodeSettings | None = None,
) -> CutResult:
    """Copy [start, end) of ``src`` into an MP4 without re-encoding the video.

    The first video packet written is the keyframe at or after ``start - 1 ms``
    (callers snap ``start`` to a keyframe); audio begins at the same time. AAC audio is
    copied; other audio is decoded and encoded as AAC with ``settings``.
    """
    cfg = settings or EncodeSettings()
    with av.open(str(src)) as inp:
        if not inp.streams.video:
            raise MediaError("stream copy needs a video stream")
        v_in = inp.streams.video[0]
        a_in = inp.streams.audio[0] if inp.streams.audio else None
        v_tb = v_in.time_base
        a_tb = a_in.time_base if a_in is not None else None
        if v_tb is None:
            raise MediaError("the video stream has no time base")
        origin = inp.start_time / av.time_base if inp.start_time else 0.0
        with av.open(str(dst), "w", format="mp4", options=MP4_OPTIONS) as out:
            v_out = out.add_stream_from_template(v_in)
            recode_audio = a_in is not None and a_in.codec_context.name != "aac"
            a_out = None
            if a_in is not None:
                a_out = (
                    _aac_stream(out, a_in, cfg)
                    if recode_audio
                    else out.add_stream_from_template(a_in)
                )
            if start > 0:
                inp.seek(int((start + origin) / v_tb), stream=v_in, backward=True)
            # Timestamps are compared as integer ticks of each stream: Fraction arithmetic
            # per packet would cost more than the copy itself.
            v_start = math.floor((start + origin - 1e-3) / v_tb)
            v_end = math.ceil((end + origin) / v_tb)
            a_end = math.ceil((end + origin) / a_tb) if a_tb is not None else 0
            v_index = v_in.index
            span_ticks = max(1, v_end - v_start)
            base: float | None = None
            v_shift = a_shift = 0
            last_video = last_audio = 0
            video_done = False
            audio_done = a_in is None
            count = 0
            streams = [s for s in (v_in, a_in) if s is not None]
            for packet in inp.demux(*streams):
                pts, dts = packet.pts, packet.dts
                if pts is None or dts is None:
                    continue
                if packet.stream_index == v_index:
                    if base is None:
                        if not packet.is_keyframe or pts < v_start:
                            continue
                        base = float(dts * v_tb) - origin
                        v_shift = dts
                        if a_tb is not None:
                            a_shift = round((base + origin) / a_tb)
                    if pts >= v_end:
                        video_done = True
                        if audio_done:
                            break
                        continue
                    packet.pts, packet.dts = pts - v_shift, dts - v_shift
                    last_video = max(last_video, pts - v_shift + (packet.duration or 0))
                    packet.stream = v_out
                    count += 1
                    if count % 300 == 0:
                        _report(progress, (pts - v_start) / span_ticks)
                else:
                    if base is None or pts < a_shift or a_out is None:
                        continue
                    if pts >= a_end:
                        audio_done = True
                        if video_done:
                            break
                        continue
                    if dts - a_shift < 0:
                        continue
                    last_audio = max(last_audio, pts - a_shift + (packet.duration or 0))
                    if recode_audio:
                        _recode(out, a_out, packet, a_shift)
                        continue
                    packet.pts, packet.dts = pts - a_shift, dts - a_shift
                    packet.stream = a_out
                out.mux(packet)
            if recode_audio and a_out is not None:
                out.mux(a_out.encode(None))
            if base is None:
                raise MediaError(f"no keyframe between {start:.3f}s and {end:.3f}s")
    last_end = max(float(last_video * v_tb), float(last_audio * a_tb) if a_tb is not None else 0.0)
    _report(progress, 1.0)
    return CutResult(
        str(dst), base, last_end, v_in.codec_context.width, v_in.codec_context.height, False
    )


def _recode(out: Any, a_out: Any, packet: Any, shift: int) -> None:
    """Decode one audio packet and encode it for ``a_out``, ``shift`` ticks earlier."""
    for frame in packet.decode():
        if not isinstance(frame, av.AudioFrame) or frame.pts is None or frame.time_base is None:
            continue
        rel = float((frame.pts - shift) * frame.time_base)
        frame.pts = round(rel * frame.sample_rate)
        frame.time_base = Fraction(1, frame.sample_rate)
        out.mux(a_out.encode(frame))


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def _nominal_rate(fps: float) -> Fraction:
    """A tidy declared rate for a measured one (29.97 -> 30, 14.8 -> 15, 23.976 kept)."""
    whole = round(fps)
    if whole > 0 and abs(fps - whole) <= 0.01 * fps:
        return Fraction(whole)
    return Fraction(fps).limit_denominator(1001)


def output_size(width: int, height: int, max_short_side: int) -> tuple[int, int]:
    """The encoded size for a ``width`` x ``height`` source: the same (even), or scaled
    down so that its short side is ``max_short_side``."""
    short = min(width, height)
    scale = min(1.0, max_short_side / short) if short > 0 else 1.0
    return _even(width * scale), _even(height * scale)


def cut_transcode(
    src: str | Path,
    dst: str | Path,
    start: float,
    end: float,
    progress: Progress | None = None,
    settings: EncodeSettings | None = None,
    size: tuple[int, int] | None = None,
    fps: float | None = None,
) -> CutResult:
    """Decode [start, end) of ``src`` and encode it as H.264/AAC in an MP4 (moov first).

    ``size`` is the source's resolution (its largest picture, see ``MediaInfo.source_size``;
    the header's by default): smaller pictures from the start of a WebRTC show are scaled
    up to it. Frames keep their own times, so the frame rate is the source's; ``fps`` is
    only the rate the output declares (the stream's own by default).
    """
    cfg = settings or EncodeSettings()
    span = max(1e-3, end - start)
    with av.open(str(src)) as inp:
        if not inp.streams.video:
            raise MediaError("transcode needs a video stream")
        v_in = inp.streams.video[0]
        v_in.thread_type = "AUTO"
        a_in = inp.streams.audio[0] if inp.streams.audio else None
        origin = inp.start_time / av.time_base if inp.start_time else 0.0
        src_w, src_h = size or (v_in.codec_context.width, v_in.codec_context.height)
        width, height = output_size(src_w, src_h, cfg.max_short_side)
        rate = _nominal_rate(fps) if fps else v_in.average_rate or v_in.guessed_rate or Fraction(30)
        with av.open(str(dst), "w", format="mp4", options=MP4_OPTIONS) as out:
            v_out = out.add_stream("libx264", rate=rate)
            v_out.width, v_out.height, v_out.pix_fmt = width, height, "yuv420p"
            v_out.time_base = VIDEO_TIME_BASE
            v_out.codec_context.time_base = VIDEO_TIME_BASE
            v_out.codec_context.gop_size = cfg.gop
            v_out.codec_context.max_b_frames = 0
            v_out.codec_context.options = {"preset": cfg.preset, "crf": str(cfg.crf)}
            # PyAV defaults to slice threads, which libx264 turns into sliced encoding;
            # frame threads (the ffmpeg CLI default) are faster and compress better.
            v_out.codec_context.thread_type = "AUTO"
            v_out.codec_context.thread_count = 0
            a_out = _aac_stream(out, a_in, cfg) if a_in is not None else None
            if start > 0 and v_in.time_base is not None:
                inp.seek(int((start + origin) / v_in.time_base), stream=v_in, backward=True)
            first_video: float | None = None
            last_end = 0.0
            frames = 0
            video_done = False
            audio_done = a_in is None
            streams = [s for s in (v_in, a_in) if s is not None]
            for packet in inp.demux(*streams):
                for frame in packet.decode():
                    if not isinstance(frame, av.VideoFrame | av.AudioFrame):
                        continue
                    if frame.pts is None or frame.time_base is None:
                        continue
                    t = float(frame.pts * frame.time_base) - origin
                    if isinstance(frame, av.VideoFrame):
                        if t < start - 1e-3:
                            continue
                        if t >= end:
                            video_done = True
                            continue
                        if first_video is None:
                            first_video = t
                        rel = t - start
                        if (
                            frame.width != width
                            or frame.height != height
                            or frame.format.name != "yuv420p"
                        ):
                            frame = frame.reformat(width=width, height=height, format="yuv420p")
                        frame.pts = round(rel / VIDEO_TIME_BASE)
                        frame.time_base = VIDEO_TIME_BASE
                        frame.pict_type = av.video.frame.PictureType.NONE
                        out.mux(v_out.encode(frame))
                        last_end = max(last_end, rel + 1 / float(rate))
                        frames += 1
                        if frames % 30 == 0:
                            _report(progress, rel / span)
                    elif a_out is not None:
                        if t < start - 1e-3:
                            continue
                        if t >= end:
                            audio_done = True
                            continue
                        frame.pts = round((t - start) * frame.sample_rate)
                        frame.time_base = Fraction(1, frame.sample_rate)
                        out.mux(a_out.encode(frame))
                if video_done and audio_done:
                    break
            out.mux(v_out.encode(None))
            if a_out is not None:
                out.mux(a_out.encode(None))
            if first_video is None:
                raise MediaError(f"no video between {start:.3f}s and {end:.3f}s")
    _report(progress, 1.0)
    return CutResult(str(dst), start, last_end, width, height, True)


def cut(
    info: MediaInfo,
    dst: str | Path,
    start: float,
    end: float,
    progress: Progress | None = None,
    settings: EncodeSettings | None = None,
) -> CutResult:
    """Stream-copy the video when it is H.264 of one size, else transcode at its size."""
    if info.copies_video:
        return cut_copy(info.path, dst, start, end, progress, settings)
    return cut_transcode(
        info.path, dst, start, end, progress, settings, info.source_size, info.fps or None
    )
