"""Small facts read straight from encoded frames (no decoding)."""

from __future__ import annotations

H264_IDR = 5
H264_SPS = 7
H264_PPS = 8


def h264_nal_units(data: bytes) -> list[bytes]:
    """Split an Annex B byte stream into NAL units (start codes removed)."""
    units: list[bytes] = []
    i = 0
    n = len(data)
    start = -1
    while i + 2 < n:
        if data[i] == 0 and data[i + 1] == 0 and data[i + 2] == 1:
            if start >= 0:
                end = i - 1 if i > 0 and data[i - 1] == 0 else i
                units.append(data[start:end])
            i += 3
            start = i
            continue
        i += 1
    if start >= 0 and start < n:
        units.append(data[start:])
    return [u for u in units if u]


def is_keyframe(codec_name: str, data: bytes) -> bool:
    """True when ``data`` starts a decodable picture for ``codec_name``.

    VP8: bit 0 of the first byte is 0 on key frames (RFC 6386 9.1).
    H264: an IDR slice (NAL type 5) is present. Audio frames always count.
    """
    name = codec_name.upper()
    if name == "VP8":
        return len(data) > 0 and (data[0] & 0x01) == 0
    if name == "H264":
        return any((u[0] & 0x1F) == H264_IDR for u in h264_nal_units(data))
    return True


def vp8_dimensions(data: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 key frame header, or None."""
    if len(data) < 10 or (data[0] & 0x01) != 0:
        return None
    if data[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(data[6:8], "little") & 0x3FFF
    height = int.from_bytes(data[8:10], "little") & 0x3FFF
    return width, height


def h264_parameter_sets(data: bytes) -> bytes | None:
    """The SPS and PPS of an Annex B key frame, as Annex B extradata, or None."""
    sps = [u for u in h264_nal_units(data) if (u[0] & 0x1F) == H264_SPS]
    pps = [u for u in h264_nal_units(data) if (u[0] & 0x1F) == H264_PPS]
    if not sps or not pps:
        return None
    return b"".join(b"\x00\x00\x00\x01" + u for u in sps[:1] + pps[:1])
