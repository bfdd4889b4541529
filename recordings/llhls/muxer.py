"""CMAF fMP4 muxing with PyAV: the init segment, then one ``moof`` + ``mdat`` per part.

Each part is muxed by its own short-lived mp4 muxer (``frag_custom``: nothing is written
until it closes; ``frag_discont``: its ``tfdt`` is the samples' real decode time). Closing it
writes the whole part at once, so a part is out the moment its last sample is known, with
no wait for ffmpeg's interleaving queue or for a later packet. A new muxer costs about 1 ms
(five a second); its ftyp + moov header, identical every time, is the init segment the first
time and dropped afterwards. The parts' ``mfhd`` sequence numbers are rewritten to keep
counting across muxers.
"""

from __future__ import annotations

import fractions
import io
import logging
from dataclasses import dataclass
from typing import Any

import av

from recordings.llhls import fmp4
from recordings.llhls.codecs import OPUS_CLOCK, avc_codec, opus_head

logger = logging.getLogger(__name__)

VIDEO_CLOCK = 90000
MOVFLAGS = "empty_moov+default_base_moof+frag_custom+frag_discont+cmaf+skip_trailer"
_TIME_BASES = {
    "video": fractions.Fraction(1, VIDEO_CLOCK),
    "audio": fractions.Fraction(1, OPUS_CLOCK),
}


@dataclass(frozen=True)
class Tracks:
    """What goes into the init segment: H.264 (SPS + PPS, size) and/or Opus."""

    video_extradata: bytes | None  # Annex B SPS + PPS; None: no video track
    width: int = 0
    height: int = 0
    audio: bool = False

    @property
    def codecs(self) -> str:
        """The RFC 6381 CODECS value for a playlist."""
        names = []
        if self.video_extradata is not None:
            names.append(avc_codec(self.video_extradata))
        if self.audio:
            names.append("opus")
        return ",".join(names)


class _Collect(io.RawIOBase):
    """A write-only, non-seekable sink that keeps what the muxer writes."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.chunks.append(chunk)
        return len(chunk)

    def take(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data


class _PartWriter:
    """One part's muxer."""

    def __init__(self, tracks: Tracks) -> None:
        self._sink = _Collect()
        self._container: Any = av.open(
            self._sink, "w", format="mp4", options={"movflags": MOVFLAGS, "flush_packets": "1"}
        )
        self._streams: dict[str, Any] = {}
        try:
            if tracks.video_extradata is not None:
                video = self._container.add_stream("h264", rate=30)
                video.width = tracks.width
                video.height = tracks.height
                video.time_base = _TIME_BASES["video"]
                video.codec_context.extradata = tracks.video_extradata
                self._streams["video"] = video
            if tracks.audio:
                audio = self._container.add_stream("opus", rate=OPUS_CLOCK)
                audio.time_base = _TIME_BASES["audio"]
                audio.codec_context.extradata = opus_head()
                self._streams["audio"] = audio
            self._container.start_encoding()
        except BaseException:
            self.abort()
            raise
        self.header = self._sink.take()
        self.samples = 0

    def add(self, kind: str, data: bytes, pts: int, duration: int, keyframe: bool) -> None:
        packet = av.Packet(data)
        packet.pts = pts
        packet.dts = pts
        packet.duration = duration
        packet.time_base = _TIME_BASES[kind]
        packet.stream = self._streams[kind]
        packet.is_keyframe = keyframe
        self._container.mux(packet)
        self.samples += 1

    def finish(self) -> bytes:
        self._container.close()
        return self._sink.take()

    def abort(self) -> None:
        try:
            self._container.close()
        except Exception:  # already failing; the first error is the one reported
            logger.debug("closing a failed part muxer", exc_info=True)


class Fragmenter:
    """The init segment, then parts' bytes: ``add`` samples, ``cut`` at a part boundary."""

    def __init__(self, tracks: Tracks) -> None:
        self.tracks = tracks
        self._writer: _PartWriter | None = _PartWriter(tracks)
        self.init = self._writer.header
        self._sequence = 1

    def add(self, kind: str, data: bytes, pts: int, duration: int, keyframe: bool) -> None:
        """Mux one sample (pts in 90 kHz for video, 48 kHz for audio) into the open part."""
        if kind not in ("video", "audio"):
            raise ValueError(f"unknown sample kind {kind!r}")
        if self._writer is None:
            self._writer = _PartWriter(self.tracks)
        self._writer.add(kind, data, pts, max(1, duration), keyframe)

    def cut(self) -> bytes:
        """The open part's moof + mdat (empty if it holds no sample)."""
        writer, self._writer = self._writer, None
        if writer is None or writer.samples == 0:
            if writer is not None:
                writer.abort()
            return b""
        data, self._sequence = fmp4.renumber(writer.finish(), self._sequence)
        return data

    def abort(self) -> None:
        """Drop the open part (after a failure)."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.abort()
