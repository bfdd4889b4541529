"""An H.264 host of numbered frames for LL-HLS tests and benchmarks, and a reader of the numbers.

``encode_numbered_h264`` pre-encodes frames that show their number as 16 black/white bars
(``support.peers.draw_number``'s code, readable with ``read_number``) above a band of noise
that moves every frame, so that the encoder spends its bit rate (~1.5 Mbit/s at 720p30) as a
camera would; one keyframe per ``gop`` frames. ``h264_publisher`` sends them over WHIP with
H.264 as the only video codec offered (LL-HLS carries H.264; VP8 would be transcoded) and
logs the wall-clock time at which each frame left the track. ``NumberReader`` decodes an
fMP4 stream part by part (init segment once, then each part's fragments in order) and gives
each frame's presentation time and number.
"""

from __future__ import annotations

import bisect
import fractions
import io
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import av
from aiortc import RTCPeerConnection, RTCRtpSender

from support.peers import BITS, PacketLoopTrack, read_number

if TYPE_CHECKING:
    from support.peers import Packet

NOISE_ROWS = 48  # a moving noise band at the top: what makes the encoder spend its bit rate


def numbered_frame(number: int, width: int, height: int, noise: bytes) -> av.VideoFrame:
    """A yuv420p frame: ``number`` in 16 bars (as ``draw_number``) under a noise band."""
    bar = width // BITS
    row = bytearray()
    for bit in range(BITS):
        row += bytes([235 if (number >> (BITS - 1 - bit)) & 1 else 16]) * bar
    row += bytes([16]) * (width - len(row))
    band_rows = min(NOISE_ROWS, height // 4)
    offset = (number * 7919) % (len(noise) - width * band_rows)
    luma = noise[offset : offset + width * band_rows] + bytes(row) * (height - band_rows)
    frame = av.VideoFrame(width, height, "yuv420p")
    if frame.planes[0].line_size == width:
        frame.planes[0].update(luma)
    else:
        _fill(frame, luma)
    for plane in frame.planes[1:]:
        plane.update(bytes([128]) * plane.buffer_size)
    return frame


def _fill(frame: av.VideoFrame, luma: bytes) -> None:
    plane = frame.planes[0]
    stride, width = plane.line_size, frame.width
    padded = bytearray(stride * frame.height)
    for y in range(frame.height):
        padded[y * stride : y * stride + width] = luma[y * width : (y + 1) * width]
    plane.update(bytes(padded))


def encode_numbered_h264(
    frames: int,
    width: int = 1280,
    height: int = 720,
    fps: int = 30,
    bitrate: int = 1_500_000,
    gop: int = 60,
) -> list[bytes]:
    """``frames`` numbered frames (0, 1, ...) as H.264 Annex-B access units, one per frame.

    Constrained baseline as WebRTC sends it (no B-frames), SPS/PPS before every keyframe,
    a keyframe every ``gop`` frames (``frames`` should be a multiple, so a loop restarts on
    one).
    """
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.bit_rate = bitrate
    codec.framerate = fractions.Fraction(fps, 1)
    codec.time_base = fractions.Fraction(1, fps)
    codec.gop_size = gop
    codec.options = {
        "preset": "veryfast",
        "tune": "zerolatency",
        "profile": "baseline",
        "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:repeat-headers=1:"
        f"vbv-maxrate={bitrate // 1000}:vbv-bufsize={bitrate // 1000}",
    }
    noise = os.urandom(width * NOISE_ROWS * 4)
    out: list[bytes] = []
    for i in range(frames):
        frame = numbered_frame(i, width, height, noise)
        frame.pts = i
        out.extend(bytes(p) for p in codec.encode(frame))
    out.extend(bytes(p) for p in codec.encode(None))
    if len(out) != frames:
        raise RuntimeError(f"libx264 gave {len(out)} access units for {frames} frames")
    return out


class LoggedLoopTrack(PacketLoopTrack):
    """``PacketLoopTrack`` that notes when each frame left it (``time.time()``, shared by
    every process on the machine). Frame ``k`` shows number ``k % len(frames)``."""

    def __init__(self, kind: str, frames: list[bytes], frame_ticks: int, clock_rate: int) -> None:
        super().__init__(kind, frames, frame_ticks, clock_rate)
        self.loop_length = len(frames)
        self.sent_at: list[float] = []

    async def recv(self) -> Packet:
        """The next frame, on schedule; its departure is logged."""
        packet = await super().recv()
        self.sent_at.append(time.time())
        return packet


def h264_publisher(
    video: list[bytes], audio: list[bytes] | None = None, fps: int = 30
) -> tuple[RTCPeerConnection, LoggedLoopTrack]:
    """A WHIP publisher of ``video`` (H.264 access units) looped at ``fps``, plus Opus."""
    pc = RTCPeerConnection()
    track = LoggedLoopTrack("video", video, 90000 // fps, 90000)
    transceiver = pc.addTransceiver(track, direction="sendonly")
    codecs = RTCRtpSender.getCapabilities("video").codecs
    transceiver.setCodecPreferences(
        [c for c in codecs if c.mimeType in ("video/H264", "video/rtx")]
    )
    if audio:
        pc.addTransceiver(PacketLoopTrack("audio", audio, 960, 48000), direction="sendonly")
    return pc, track


def sent_time(number: int, seen_at: float, sent_at: list[float], loop_length: int) -> float | None:
    """When the frame showing ``number`` that was on screen at ``seen_at`` left the publisher:
    the latest departure of that number not after ``seen_at`` (None if there is none)."""
    last = bisect.bisect_right(sent_at, seen_at) - 1
    if last < 0:
        return None
    k = last - ((last - number) % loop_length)
    return sent_at[k] if k >= 0 else None


@dataclass
class NumberReader:
    """Decodes an fMP4 H.264 stream fed part by part; keeps its decoder between parts (a part
    that does not start with a keyframe needs the frames before it)."""

    init: bytes
    _codec: Any = field(default=None, repr=False)
    time_base: fractions.Fraction = fractions.Fraction(1, 90000)

    def feed(self, fragment: bytes) -> list[tuple[int, int]]:
        """(presentation time in ``time_base`` units, frame number) of each decoded frame."""
        out: list[tuple[int, int]] = []
        with av.open(io.BytesIO(self.init + fragment), mode="r", format="mp4") as container:
            stream = container.streams.video[0]
            if self._codec is None:
                self._codec = av.CodecContext.create("h264", "r")
                self._codec.extradata = stream.codec_context.extradata
                self.time_base = stream.time_base or self.time_base
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue
                for frame in self._codec.decode(packet):
                    out.append((int(frame.pts or 0), read_number(frame)))
        return out


def fragment_pts(init: bytes, fragment: bytes) -> list[int]:
    """The video presentation times in a part (demuxed only, nothing decoded)."""
    with av.open(io.BytesIO(init + fragment), mode="r", format="mp4") as container:
        stream = container.streams.video[0]
        return [int(p.pts) for p in container.demux(stream) if p.size and p.pts is not None]
