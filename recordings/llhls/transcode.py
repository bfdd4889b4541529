"""VP8 -> H.264 for the LL-HLS tier: libvpx decodes, libx264 encodes (worker thread only).

HLS cannot carry VP8, so a VP8 show is transcoded once, on the packager's worker thread:
libx264 ``ultrafast`` / ``zerolatency`` / baseline (no B-frames, no lookahead: one frame in,
one access unit out), the input's pts kept, a keyframe every ``keyframe_interval`` frames
and whenever the caller asks for one (the packager asks when a segment is due). The output
is Annex B with SPS and PPS before every keyframe, like a browser's H.264, so it takes the
same path as H.264 from the host. The size is fixed by the first keyframe; later frames of
another size (a browser adapting its resolution) are scaled to it.
"""

from __future__ import annotations

import fractions
import logging
from typing import Any

import av

logger = logging.getLogger(__name__)

TIME_BASE = fractions.Fraction(1, 90000)
MAX_BITRATE_KBPS = 3000  # VBV cap: the CDN tier serves every viewer this stream


class BadFrame(Exception):
    """A VP8 frame libvpx refused; the transcoder stays usable."""


class Vp8ToH264:
    """Decodes VP8 frames and re-encodes them as H.264 access units."""

    def __init__(self, fps: int, keyframe_interval: int) -> None:
        self._fps = fps
        self._keyframe_interval = keyframe_interval
        self._decoder: Any = None  # made on the first frame, on the worker thread
        self._encoder: Any = None
        self.width = 0
        self.height = 0
        self.frames_in = 0

    def transcode(self, data: bytes, pts: int, keyframe: bool) -> list[tuple[bytes, int, bool]]:
        """H.264 access units (data, pts, keyframe) for one VP8 frame at ``pts`` (90 kHz).

        ``keyframe`` asks for the frame to be encoded as a keyframe.
        """
        packet = av.Packet(data)
        packet.pts = pts
        packet.dts = pts
        packet.time_base = TIME_BASE
        if self._decoder is None:
            self._decoder = av.CodecContext.create("libvpx", "r")
        try:
            frames = self._decoder.decode(packet)
        except av.FFmpegError as exc:
            raise BadFrame(f"libvpx could not decode a {len(data)}-byte frame: {exc}") from exc
        out: list[tuple[bytes, int, bool]] = []
        for frame in frames:
            self.frames_in += 1
            out.extend(self._encode(frame, pts, keyframe))
        return out

    def flush(self) -> list[tuple[bytes, int, bool]]:
        """Whatever the encoder still holds (nothing, with zerolatency)."""
        if self._encoder is None:
            return []
        return [(bytes(p), int(p.pts), bool(p.is_keyframe)) for p in self._encoder.encode(None)]

    def _encode(self, frame: Any, pts: int, keyframe: bool) -> list[tuple[bytes, int, bool]]:
        if self._encoder is None:
            self._open(frame.width & ~1, frame.height & ~1)
        if (
            frame.width != self.width
            or frame.height != self.height
            or frame.format.name != ("yuv420p")
        ):
            frame = frame.reformat(width=self.width, height=self.height, format="yuv420p")
        frame.pts = pts
        frame.time_base = TIME_BASE
        frame.pict_type = (
            av.video.frame.PictureType.I if keyframe else (av.video.frame.PictureType.NONE)
        )
        return [(bytes(p), int(p.pts), bool(p.is_keyframe)) for p in self._encoder.encode(frame)]

    def _open(self, width: int, height: int) -> None:
        encoder: Any = av.CodecContext.create("libx264", "w")
        encoder.width = width
        encoder.height = height
        encoder.pix_fmt = "yuv420p"
        encoder.time_base = TIME_BASE
        encoder.framerate = fractions.Fraction(self._fps, 1)
        encoder.gop_size = self._keyframe_interval
        encoder.max_b_frames = 0
        encoder.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "profile": "baseline",
            "x264-params": (
                f"scenecut=0:vbv-maxrate={MAX_BITRATE_KBPS}:vbv-bufsize={MAX_BITRATE_KBPS}"
            ),
        }
        encoder.open()
        self._encoder = encoder
        self.width = width
        self.height = height
        logger.debug("transcoding VP8 to H.264 at %dx%d", width, height)
