"""Pre-encoded H.264 test streams (numbered frames, like ``peers.encode_vp8``)."""

from __future__ import annotations

import fractions
from typing import Any

import av

from support.peers import draw_number

VIDEO_TICKS = 90000


def encode_h264(
    seconds: float,
    width: int = 320,
    height: int = 240,
    fps: int = 30,
    keyframe_s: float = 2.0,
    bframes: int = 0,
) -> list[tuple[bytes, int, bool]]:
    """Numbered frames as H.264 access units: (Annex B bytes, pts in 90 kHz, keyframe).

    Like a browser's: constrained baseline, one access unit per frame, SPS and PPS in front
    of every keyframe, a keyframe every ``keyframe_s``. With ``bframes`` > 0 the stream is
    main profile with B-frames, like a misconfigured OBS, and comes in decode order (pts
    going backwards).
    """
    codec = av.CodecContext.create("libx264", "w")
    codec.width = width
    codec.height = height
    codec.pix_fmt = "yuv420p"
    codec.framerate = fractions.Fraction(fps, 1)
    codec.time_base = fractions.Fraction(1, VIDEO_TICKS)
    codec.gop_size = max(1, round(keyframe_s * fps))
    if bframes:
        codec.max_b_frames = bframes
        codec.options = {"preset": "ultrafast", "profile": "main", "bframes": str(bframes)}
    else:
        codec.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "profile": "baseline",
            "x264-params": "scenecut=0",
        }
    ticks = VIDEO_TICKS // fps
    out: list[tuple[bytes, int, bool]] = []
    for i in range(round(seconds * fps)):
        frame = draw_number(i, width, height)
        frame.pts = i * ticks
        frame.time_base = fractions.Fraction(1, VIDEO_TICKS)
        out.extend(_units(codec.encode(frame)))
    out.extend(_units(codec.encode(None)))
    return out


def _units(packets: list[Any]) -> list[tuple[bytes, int, bool]]:
    return [(bytes(p), p.pts or 0, bool(p.is_keyframe)) for p in packets]


async def write_webrtc_recording(
    path: Any, codec: str, segments: list[tuple[float, int, int]], fps: int = 25
) -> Any:
    """A recording written by the real recorder tap, as a browser's show would make it.

    ``segments`` are (seconds, width, height) sent one after the other (a browser starts
    small and steps up as its bandwidth estimate grows); ``codec`` is "VP8" or "H264";
    Opus audio throughout. Frames are stamped on the media clock (90 kHz video, 48 kHz
    audio). Returns the writer's ``RecordingInfo``.
    """
    from recordings.bitstream import is_keyframe
    from recordings.writer import RecordingWriter
    from support.peers import encode_opus, encode_vp8

    frames: list[bytes] = []
    for seconds, width, height in segments:
        if codec == "VP8":
            frames += [d for d, _ in encode_vp8(seconds, width, height, fps, 600_000)]
        else:
            frames += [d for d, _, _ in encode_h264(seconds, width, height, fps, keyframe_s=2.0)]
    total = sum(s for s, _, _ in segments)
    writer = RecordingWriter(path, codec, "OPUS")
    writer.start()
    events = [(i * 0.02, "audio", d, i * 960) for i, d in enumerate(encode_opus(total))]
    events += [(i / fps, "video", d, i * VIDEO_TICKS // fps) for i, d in enumerate(frames)]
    for _, kind, data, pts in sorted(events, key=lambda e: (e[0], e[1] == "video")):
        key = is_keyframe(codec, data) if kind == "video" else True
        writer.on_frame(kind, codec if kind == "video" else "OPUS", data, pts, key)
    return await writer.close()
