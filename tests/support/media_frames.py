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
