"""Keyframe detection and sizes read from encoded frames, on real PyAV-encoded frames."""

from __future__ import annotations

import fractions

import av
import pytest

from recordings.bitstream import (
    h264_dimensions,
    h264_nal_units,
    h264_parameter_sets,
    is_keyframe,
    vp8_dimensions,
)
from support.peers import draw_number, encode_vp8


def test_vp8_keyframes_and_dimensions() -> None:
    frames = encode_vp8(2.5, 320, 240, 30, 300_000)
    assert frames[0][1] is True
    assert vp8_dimensions(frames[0][0]) == (320, 240)
    deltas = [data for data, key in frames if not key]
    assert deltas and vp8_dimensions(deltas[0]) is None
    assert sum(1 for _, key in frames if key) >= 2  # gop of 2 s


def _h264(n: int) -> list[bytes]:
    enc = av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt = 320, 240, "yuv420p"
    enc.time_base = fractions.Fraction(1, 30)
    enc.options = {"preset": "ultrafast", "tune": "zerolatency", "g": "10"}
    out: list[bytes] = []
    for i in range(n):
        frame = draw_number(i, 320, 240)
        frame.pts = i
        out.extend(bytes(p) for p in enc.encode(frame))
    return out


def test_h264_idr_detection_and_parameter_sets() -> None:
    frames = _h264(12)
    assert is_keyframe("H264", frames[0])
    assert not is_keyframe("H264", frames[1])
    assert is_keyframe("H264", frames[10])
    extradata = h264_parameter_sets(frames[0])
    assert extradata is not None and extradata.startswith(b"\x00\x00\x00\x01\x67")
    assert h264_parameter_sets(frames[1]) is None


def test_nal_split_handles_3_and_4_byte_start_codes() -> None:
    data = b"\x00\x00\x00\x01\x67\xaa\x00\x00\x01\x68\xbb\x00\x00\x01\x65\xcc"
    assert h264_nal_units(data) == [b"\x67\xaa", b"\x68\xbb", b"\x65\xcc"]
    assert is_keyframe("h264", data)
    assert not is_keyframe("VP8", b"")
    assert is_keyframe("opus", b"\x01")


@pytest.mark.parametrize(
    ("width", "height", "options"),
    [
        (1280, 720, {"profile": "baseline"}),  # what a browser sends
        (640, 360, {"profile": "baseline"}),  # cropped: 360 is not a multiple of 16
        (288, 512, {"profile": "main"}),  # vertical
        (1920, 1080, {"profile": "high", "x264-params": "cqm=jvt"}),  # scaling lists
        (720, 576, {"profile": "high", "x264-params": "interlaced=1"}),  # field coding
    ],
)
def test_h264_size_read_from_the_sps(width: int, height: int, options: dict[str, str]) -> None:
    enc = av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt = width, height, "yuv420p"
    enc.time_base = fractions.Fraction(1, 30)
    enc.options = {"preset": "ultrafast", "tune": "zerolatency", **options}
    frame = draw_number(1, width, height)
    frame.pts = 0
    (annex_b,) = [bytes(p) for p in [*enc.encode(frame), *enc.encode(None)]][:1]
    assert h264_dimensions(annex_b) == (width, height)
    # the same access unit as MP4 and Matroska store it: 4-byte lengths
    prefixed = b"".join(len(u).to_bytes(4, "big") + u for u in h264_nal_units(annex_b))
    assert h264_dimensions(prefixed) == (width, height)
    # a unit without an SPS says nothing
    assert h264_dimensions(b"\x00\x00\x00\x01\x65\x88\x84") is None
