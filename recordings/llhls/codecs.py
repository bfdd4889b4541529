"""Codec facts the packager reads from encoded frames: H.264 NAL units, CODECS strings, Opus.

Pure functions (no PyAV). The NAL scanner uses ``bytes.find`` so that checking a keyframe
of a few hundred kilobytes costs microseconds on the worker thread.
"""

from __future__ import annotations

import struct

NAL_IDR = 5
NAL_SPS = 7
NAL_PPS = 8
OPUS_CLOCK = 48000
OPUS_PRE_SKIP = 312  # the usual libopus encoder delay, in 48 kHz samples

_START = b"\x00\x00\x01"
# Opus frame lengths in 48 kHz samples per TOC config (RFC 6716 section 3.1)
_SILK = (480, 960, 1920, 2880)  # configs 0-11: 10, 20, 40, 60 ms
_HYBRID = (480, 960)  # configs 12-15: 10, 20 ms
_CELT = (120, 240, 480, 960)  # configs 16-31: 2.5, 5, 10, 20 ms


def starts_with_start_code(data: bytes) -> bool:
    """True when ``data`` begins like an Annex B access unit."""
    return data.startswith(_START) or data.startswith(b"\x00" + _START)


def nal_units(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B access unit (start codes and trailing zeros removed)."""
    units: list[bytes] = []
    start = data.find(_START)
    while start >= 0:
        begin = start + 3
        nxt = data.find(_START, begin)
        end = len(data) if nxt < 0 else nxt
        unit = data[begin:end].rstrip(b"\x00") if nxt >= 0 else data[begin:end]
        if unit:
            units.append(unit)
        start = nxt
    return units


def nal_type(unit: bytes) -> int:
    """The nal_unit_type of one NAL unit."""
    return unit[0] & 0x1F


def has_idr(data: bytes) -> bool:
    """True when the access unit holds an IDR slice."""
    return any(nal_type(u) == NAL_IDR for u in nal_units(data))


def parameter_sets(data: bytes) -> bytes | None:
    """The first SPS and PPS of an access unit as Annex B bytes (the stream's extradata)."""
    units = nal_units(data)
    sps = next((u for u in units if nal_type(u) == NAL_SPS), None)
    pps = next((u for u in units if nal_type(u) == NAL_PPS), None)
    if sps is None or pps is None or len(sps) < 4:
        return None
    return b"\x00\x00\x00\x01" + sps + b"\x00\x00\x00\x01" + pps


def avc_codec(extradata: bytes) -> str:
    """RFC 6381 name of the H.264 stream whose SPS leads ``extradata``: "avc1.PPCCLL"."""
    sps = next(u for u in nal_units(extradata) if nal_type(u) == NAL_SPS)
    return f"avc1.{sps[1]:02x}{sps[2]:02x}{sps[3]:02x}"


def opus_samples(packet: bytes) -> int:
    """Duration of an Opus packet in 48 kHz samples from its TOC byte (0 if malformed)."""
    if not packet:
        return 0
    toc = packet[0]
    config = toc >> 3
    if config < 12:
        frame = _SILK[config % 4]
    elif config < 16:
        frame = _HYBRID[config % 2]
    else:
        frame = _CELT[config % 4]
    code = toc & 0x03
    if code == 0:
        count = 1
    elif code in (1, 2):
        count = 2
    else:
        if len(packet) < 2:
            return 0
        count = packet[1] & 0x3F
    samples = frame * count
    return samples if 0 < samples <= 5760 else 0  # at most 120 ms per packet


def opus_head(channels: int = 2) -> bytes:
    """The OpusHead identification header that goes into the init segment's dOps box."""
    return b"OpusHead" + struct.pack("<BBHIhB", 1, channels, OPUS_PRE_SKIP, OPUS_CLOCK, 0, 0)
