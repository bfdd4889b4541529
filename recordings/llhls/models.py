"""What the LL-HLS packager is configured with and what it hands its sink (no PyAV here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class PackagerConfig:
    """Part and segment lengths (media seconds) and the transcode frame rate."""

    part_target_s: float = 0.2  # nominal part length: parts close at the first frame at/after it
    part_max_s: float = 0.3  # the announced PART-TARGET: no part is longer (frames >= 10 fps)
    segment_target_s: float = 2.0  # a segment closes at the first keyframe at/after this
    segment_max_s: float = 4.0  # the announced TARGETDURATION: a segment never exceeds it
    transcode_fps: int = 30  # VP8 -> H.264: a keyframe every round(segment_target_s * fps)

    def __post_init__(self) -> None:
        if not 0 < self.part_target_s <= self.part_max_s:
            raise ValueError("part_target_s must be positive and at most part_max_s")
        if not self.part_max_s <= self.segment_target_s <= self.segment_max_s:
            raise ValueError("segment_target_s must lie between part_max_s and segment_max_s")
        if self.transcode_fps <= 0:
            raise ValueError("transcode_fps must be positive")

    @property
    def transcode_keyframe_interval(self) -> int:
        """Frames between the transcoder's own keyframes."""
        return max(1, round(self.segment_target_s * self.transcode_fps))


@dataclass(frozen=True)
class InitSegment:
    """The fMP4 initialisation segment (ftyp + moov) and what a playlist says about it."""

    data: bytes
    codecs: str  # RFC 6381 CODECS value, e.g. "avc1.42c01f,opus"
    width: int | None
    height: int | None


@dataclass(frozen=True)
class Part:
    """One LL-HLS partial segment: one or more moof + mdat pairs."""

    msn: int  # media sequence number of its segment
    index: int  # its number within the segment, from 0
    data: bytes
    start_s: float  # media time of its first video (audio-only: audio) sample
    duration_s: float
    independent: bool  # starts with a video keyframe (audio only: always)


@dataclass(frozen=True)
class SegmentEnd:
    """A segment is complete: its bytes are its parts' data concatenated in order."""

    msn: int
    start_s: float
    duration_s: float  # the sum of its parts' durations
    parts: int


class PackagerSink(Protocol):
    """Hears the packager's output, on the event loop, in order."""

    def on_init(self, init: InitSegment) -> None:
        """The init segment, before the first part."""

    def on_part(self, part: Part) -> None:
        """A part is complete."""

    def on_segment(self, end: SegmentEnd) -> None:
        """The segment of the part just delivered is complete."""

    def on_closed(self, error: BaseException | None) -> None:
        """The packager stopped: after ``close()`` (None) or when its worker failed."""
