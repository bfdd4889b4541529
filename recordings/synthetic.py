"""Synthetic recordings made with PyAV: test media, benchmark input and demo content.

A moving square on a gradient with a tone, encoded either as VP8/Opus in WebM (what
a WebRTC recorder writes) or H.264/AAC in MP4 (what OBS over WHIP may send). No
network, no numpy: planes are filled from prebuilt byte rows.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

AUDIO_RATE = 48000


@dataclass(frozen=True, slots=True)
class SyntheticSpec:
    """What to generate: size, rate, length and codecs."""

    duration_s: float = 10.0
    width: int = 640
    height: int = 360
    fps: int = 30
    gop: int = 60
    flavour: str = "vp8"  # "vp8" -> VP8/Opus WebM, "h264" -> H.264/AAC MP4
    audio: bool = True
    hue: int = 0  # shifts the colours so demo clips look different


def _gradient_plane(width: int, height: int, shift: int) -> bytes:
    row = bytes(((x * 160) // max(1, width) + 40 + shift) % 256 for x in range(width))
    return row * height


def _fill_plane(plane: av.video.plane.VideoPlane, data: bytes, width: int) -> None:
    stride = plane.line_size
    if stride == width:
        plane.update(data)
        return
    pad = b"\x00" * (stride - width)
    rows = len(data) // width
    plane.update(b"".join(data[r * width : (r + 1) * width] + pad for r in range(rows)))


def _tone(seconds: int = 1, freq: int = 375) -> bytes:
    samples = AUDIO_RATE * seconds
    amp = 6000
    return b"".join(
        struct.pack("<h", int(amp * math.sin(2 * math.pi * freq * i / AUDIO_RATE)))
        for i in range(samples)
    )


def generate_recording(path: Path, spec: SyntheticSpec) -> Path:
    """Write a synthetic recording to ``path`` and return it (blocking: run in a thread)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = "webm" if spec.flavour == "vp8" else "mp4"
    w, h = spec.width, spec.height
    with av.open(str(path), "w", format=fmt) as out:
        if spec.flavour == "vp8":
            vs = out.add_stream("libvpx", rate=spec.fps)
            vs.codec_context.options = {
                "deadline": "realtime",
                "cpu-used": "8",
                "lag-in-frames": "0",
            }
            vs.bit_rate = 1_500_000
        else:
            vs = out.add_stream("libx264", rate=spec.fps)
            vs.codec_context.options = {"preset": "ultrafast", "tune": "zerolatency", "crf": "26"}
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.codec_context.gop_size = spec.gop
        vs.codec_context.max_b_frames = 0
        astream = None
        if spec.audio:
            astream = out.add_stream("libopus" if spec.flavour == "vp8" else "aac", rate=AUDIO_RATE)
            astream.layout = "mono"
            astream.bit_rate = 64_000
        y_base = _gradient_plane(w, h, spec.hue)
        u_plane = bytes([(128 + spec.hue * 3) % 256]) * ((w // 2) * (h // 2))
        v_plane = bytes([(140 - spec.hue * 2) % 256]) * ((w // 2) * (h // 2))
        tone = _tone()
        box = max(16, h // 8)
        n_frames = round(spec.duration_s * spec.fps)
        audio_chunk = 960 if spec.flavour == "vp8" else 1024
        audio_pts = 0
        total_samples = int(spec.duration_s * AUDIO_RATE)
        for i in range(n_frames):
            y = bytearray(y_base)
            x0 = (i * 7) % max(1, w - box)
            y0 = (i * 3) % max(1, h - box)
            stripe = b"\xeb" * box
            for row in range(y0, y0 + box):
                off = row * w + x0
                y[off : off + box] = stripe
            frame = av.VideoFrame(w, h, "yuv420p")
            for plane, data, pw in zip(
                frame.planes, (y, u_plane, v_plane), (w, w // 2, w // 2), strict=True
            ):
                _fill_plane(plane, bytes(data), pw)
            frame.pts = i
            frame.time_base = Fraction(1, spec.fps)
            for packet in vs.encode(frame):
                out.mux(packet)
            if astream is not None:
                video_end = int((i + 1) * AUDIO_RATE / spec.fps)
                while audio_pts < min(video_end, total_samples):
                    n = min(audio_chunk, total_samples - audio_pts)
                    start = (audio_pts % AUDIO_RATE) * 2
                    chunk = (tone + tone)[start : start + n * 2]
                    af = av.AudioFrame(format="s16", layout="mono", samples=n)
                    af.planes[0].update(chunk + b"\x00" * (af.planes[0].buffer_size - len(chunk)))
                    af.sample_rate = AUDIO_RATE
                    af.pts = audio_pts
                    af.time_base = Fraction(1, AUDIO_RATE)
                    audio_pts += n
                    for packet in astream.encode(af):
                        out.mux(packet)
        for packet in vs.encode(None):
            out.mux(packet)
        if astream is not None:
            for packet in astream.encode(None):
                out.mux(packet)
    return path


def repeat_recording(segment: Path, dst: Path, repeats: int, segment_s: float) -> Path:
    """Stream-copy ``segment`` ``repeats`` times back to back into ``dst`` (blocking).

    Makes long test recordings in seconds: each copy's timestamps are shifted by
    ``segment_s``; audio that would spill past a segment's end is dropped (at most one
    frame) so timestamps stay monotonic. The segment must start with a keyframe.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    fmt = "webm" if dst.suffix == ".webm" else "mp4"
    # The template container stays open while muxing: its streams back the output's.
    with av.open(str(segment)) as first, av.open(str(dst), "w", format=fmt) as out:
        outs = [out.add_stream_from_template(s) for s in first.streams]
        for k in range(repeats):
            with av.open(str(segment)) as inp:
                for packet in inp.demux():
                    if packet.pts is None or packet.dts is None or packet.time_base is None:
                        continue
                    tb = packet.time_base
                    end = float((packet.pts + (packet.duration or 0)) * tb)
                    if packet.stream.type == "audio" and (
                        end > segment_s + 1e-6 or (k > 0 and packet.pts < 0)
                    ):
                        continue  # spill past the end, or encoder priming of a later copy
                    shift = round(k * segment_s / tb)
                    packet.pts += shift
                    packet.dts += shift
                    packet.stream = outs[packet.stream.index]
                    out.mux(packet)
    return dst
