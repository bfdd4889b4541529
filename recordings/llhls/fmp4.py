"""Reading fragmented MP4 (ISO/IEC 14496-12) just enough for the packager and its tests.

Top-level boxes; in the init segment each track's id, timescale and ``trex`` defaults; in a
``moof`` each ``traf``'s ``tfhd``/``tfdt``/``trun``: decode time, sample count, durations and
sync flags. ``renumber`` rewrites ``mfhd`` sequence numbers (each part is muxed by its own
short-lived muxer, which starts counting at 1).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

NON_SYNC = 0x00010000  # sample_is_non_sync_sample in sample flags


class BoxError(ValueError):
    """Bytes that are not a well-formed box sequence."""


@dataclass(frozen=True)
class Box:
    """One box: its four-character type and where its payload lies in the buffer."""

    type: str
    start: int  # offset of the box header
    end: int  # offset just past the box
    payload: int  # offset of the payload (after size, type and any largesize)


@dataclass(frozen=True)
class Track:
    """A track of the init segment with its fragment defaults (``trex``)."""

    track_id: int
    timescale: int
    handler: str  # "vide" or "soun"
    default_duration: int = 0
    default_flags: int = 0


@dataclass(frozen=True)
class Run:
    """The samples one ``traf`` holds."""

    track_id: int
    decode_time: int  # tfdt, in the track's timescale
    durations: tuple[int, ...]
    sync: tuple[bool, ...]

    @property
    def end_time(self) -> int:
        """Decode time just after the last sample."""
        return self.decode_time + sum(self.durations)


@dataclass(frozen=True)
class Fragment:
    """One ``moof``: its sequence number and its tracks' runs."""

    sequence: int
    runs: tuple[Run, ...]


def boxes(data: bytes, start: int = 0, end: int | None = None) -> list[Box]:
    """The boxes laid end to end in ``data[start:end]``."""
    end = len(data) if end is None else end
    found: list[Box] = []
    pos = start
    while pos < end:
        if end - pos < 8:
            raise BoxError(f"{end - pos} stray bytes at offset {pos}")
        size, kind = struct.unpack_from(">I4s", data, pos)
        payload = pos + 8
        if size == 1:
            if end - pos < 16:
                raise BoxError(f"truncated largesize box at offset {pos}")
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            payload = pos + 16
        elif size == 0:
            size = end - pos
        if size < payload - pos or pos + size > end:
            raise BoxError(f"box {kind!r} at offset {pos} claims {size} bytes")
        found.append(Box(kind.decode("latin-1"), pos, pos + size, payload))
        pos += size
    return found


def _children(data: bytes, box: Box) -> list[Box]:
    return boxes(data, box.payload, box.end)


def _walk(data: bytes, box: Box, path: tuple[str, ...]) -> Iterator[Box]:
    """Boxes below ``box`` along ``path`` (each name one level down)."""
    for child in _children(data, box):
        if child.type == path[0]:
            if len(path) == 1:
                yield child
            else:
                yield from _walk(data, child, path[1:])


def tracks(init: bytes) -> dict[int, Track]:
    """The tracks of an init segment (ftyp + moov), by track id."""
    moov = next((b for b in boxes(init) if b.type == "moov"), None)
    if moov is None:
        raise BoxError("no moov box in the init segment")
    defaults: dict[int, tuple[int, int]] = {}
    for trex in _walk(init, moov, ("mvex", "trex")):
        track_id, _, duration, _, flags = struct.unpack_from(">IIIII", init, trex.payload + 4)
        defaults[track_id] = (duration, flags)
    found: dict[int, Track] = {}
    for trak in _walk(init, moov, ("trak",)):
        tkhd = next(_walk(init, trak, ("tkhd",)))
        version = init[tkhd.payload]
        track_id = struct.unpack_from(">I", init, tkhd.payload + (20 if version == 1 else 12))[0]
        mdhd = next(_walk(init, trak, ("mdia", "mdhd")))
        version = init[mdhd.payload]
        timescale = struct.unpack_from(">I", init, mdhd.payload + (20 if version == 1 else 12))[0]
        hdlr = next(_walk(init, trak, ("mdia", "hdlr")))
        handler = init[hdlr.payload + 8 : hdlr.payload + 12].decode("latin-1")
        duration, flags = defaults.get(track_id, (0, 0))
        found[track_id] = Track(track_id, timescale, handler, duration, flags)
    return found


def fragments(data: bytes, defaults: dict[int, Track] | None = None) -> list[Fragment]:
    """Every ``moof`` in ``data`` (a part or a segment), read into runs."""
    return [_fragment(data, b, defaults or {}) for b in boxes(data) if b.type == "moof"]


def _fragment(data: bytes, moof: Box, defaults: dict[int, Track]) -> Fragment:
    mfhd = next(_walk(data, moof, ("mfhd",)), None)
    sequence = struct.unpack_from(">I", data, mfhd.payload + 4)[0] if mfhd else 0
    runs = [_run(data, traf, defaults) for traf in _walk(data, moof, ("traf",))]
    return Fragment(sequence, tuple(runs))


def _run(data: bytes, traf: Box, defaults: dict[int, Track]) -> Run:
    tfhd = next(_walk(data, traf, ("tfhd",)))
    flags = int.from_bytes(data[tfhd.payload + 1 : tfhd.payload + 4], "big")
    track_id = struct.unpack_from(">I", data, tfhd.payload + 4)[0]
    track = defaults.get(track_id)
    default_duration = track.default_duration if track else 0
    default_flags = track.default_flags if track else 0
    pos = tfhd.payload + 8
    if flags & 0x01:
        pos += 8  # base_data_offset
    if flags & 0x02:
        pos += 4  # sample_description_index
    if flags & 0x08:
        default_duration = struct.unpack_from(">I", data, pos)[0]
        pos += 4
    if flags & 0x10:
        pos += 4  # default_sample_size
    if flags & 0x20:
        default_flags = struct.unpack_from(">I", data, pos)[0]
    tfdt = next(_walk(data, traf, ("tfdt",)), None)
    decode_time = 0
    if tfdt is not None:
        wide = data[tfdt.payload] == 1
        decode_time = struct.unpack_from(">Q" if wide else ">I", data, tfdt.payload + 4)[0]
    durations: list[int] = []
    sync: list[bool] = []
    for trun in _walk(data, traf, ("trun",)):
        _read_trun(data, trun, default_duration, default_flags, durations, sync)
    return Run(track_id, decode_time, tuple(durations), tuple(sync))


def _read_trun(
    data: bytes,
    trun: Box,
    default_duration: int,
    default_flags: int,
    durations: list[int],
    sync: list[bool],
) -> None:
    flags = int.from_bytes(data[trun.payload + 1 : trun.payload + 4], "big")
    count = struct.unpack_from(">I", data, trun.payload + 4)[0]
    pos = trun.payload + 8
    if flags & 0x01:
        pos += 4  # data_offset
    first_flags: int | None = None
    if flags & 0x04:
        first_flags = struct.unpack_from(">I", data, pos)[0]
        pos += 4
    per_sample = 4 * sum(1 for bit in (0x100, 0x200, 0x400, 0x800) if flags & bit)
    if pos + count * per_sample > trun.end:
        raise BoxError(f"trun at offset {trun.start} holds fewer samples than it says")
    for i in range(count):
        duration, sample_flags = default_duration, default_flags
        if flags & 0x100:
            duration = struct.unpack_from(">I", data, pos)[0]
            pos += 4
        if flags & 0x200:
            pos += 4  # sample_size
        if flags & 0x400:
            sample_flags = struct.unpack_from(">I", data, pos)[0]
            pos += 4
        if flags & 0x800:
            pos += 4  # composition time offset
        if i == 0 and first_flags is not None:
            sample_flags = first_flags
        durations.append(duration)
        sync.append(not sample_flags & NON_SYNC)


def renumber(data: bytes, first: int) -> tuple[bytes, int]:
    """``data`` with its ``moof`` boxes numbered ``first``, ``first + 1``, ...; and the next."""
    out = bytearray(data)
    number = first
    for moof in boxes(data):
        if moof.type != "moof":
            continue
        mfhd = next(_walk(data, moof, ("mfhd",)), None)
        if mfhd is None:
            raise BoxError(f"moof at offset {moof.start} has no mfhd")
        struct.pack_into(">I", out, mfhd.payload + 4, number)
        number += 1
    return bytes(out), number
