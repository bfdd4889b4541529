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


# profiles whose SPS carries chroma format, bit depths and scaling lists (H.264 7.3.2.1.1)
_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})


class _Bits:
    """An MSB-first bit reader over an RBSP (emulation prevention bytes removed)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def u(self, n: int) -> int:
        value = 0
        for _ in range(n):
            byte = self._pos >> 3
            if byte >= len(self._data):
                raise ValueError("SPS ends early")
            value = (value << 1) | ((self._data[byte] >> (7 - (self._pos & 7))) & 1)
            self._pos += 1
        return value

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("bad Exp-Golomb code")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)


def _rbsp(nal: bytes) -> bytes:
    return nal.replace(b"\x00\x00\x03", b"\x00\x00")


def h264_sps_dimensions(sps: bytes) -> tuple[int, int]:
    """Displayed width and height from one SPS NAL unit (header byte included).

    Raises ``ValueError`` on a malformed SPS.
    """
    r = _Bits(_rbsp(sps[1:]))
    profile = r.u(8)
    r.u(16)  # constraint flags, level
    r.ue()  # seq_parameter_set_id
    chroma = 1
    if profile in _HIGH_PROFILES:
        chroma = r.ue()
        if chroma == 3 and r.u(1):  # separate colour planes: no chroma subsampling
            chroma = 0
        r.ue()  # bit depths
        r.ue()
        r.u(1)
        if r.u(1):  # scaling matrices: skip every list that is present
            for i in range(12 if chroma == 3 else 8):
                if r.u(1):
                    last = nxt = 8
                    for _ in range(16 if i < 6 else 64):
                        if nxt:
                            nxt = (last + r.se() + 256) % 256
                        last = nxt or last
    r.ue()  # log2_max_frame_num_minus4
    poc_type = r.ue()
    if poc_type == 0:
        r.ue()
    elif poc_type == 1:
        r.u(1)
        r.se()
        r.se()
        for _ in range(r.ue()):
            r.se()
    r.ue()  # max_num_ref_frames
    r.u(1)
    width = (r.ue() + 1) * 16
    map_units = r.ue() + 1
    frame_mbs_only = r.u(1)
    height = (2 - frame_mbs_only) * map_units * 16
    if not frame_mbs_only:
        r.u(1)
    r.u(1)  # direct_8x8_inference
    if r.u(1):  # frame cropping, in chroma sample units
        left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
        unit_x = 2 if chroma in (1, 2) else 1
        unit_y = (2 - frame_mbs_only) * (2 if chroma == 1 else 1)
        width -= (left + right) * unit_x
        height -= (top + bottom) * unit_y
    if width <= 0 or height <= 0:
        raise ValueError("SPS crops the whole picture")
    return width, height


def _length_prefixed_units(data: bytes) -> list[bytes]:
    units: list[bytes] = []
    pos = 0
    while pos + 4 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        if size == 0 or pos + 4 + size > len(data):
            return []
        units.append(data[pos + 4 : pos + 4 + size])
        pos += 4 + size
    return units if pos == len(data) else []


def h264_dimensions(data: bytes) -> tuple[int, int] | None:
    """Width and height from the SPS inside an H.264 access unit, or None when it has none.

    Takes Annex B (as WebRTC delivers it) or 4-byte length-prefixed units (as MP4 and
    Matroska store it).
    """
    if data[:3] == b"\x00\x00\x01" or data[:4] == b"\x00\x00\x00\x01":
        units = h264_nal_units(data)
    else:
        units = _length_prefixed_units(data)
    for unit in units:
        if unit and (unit[0] & 0x1F) == H264_SPS:
            try:
                return h264_sps_dimensions(unit)
            except ValueError:
                return None
    return None
