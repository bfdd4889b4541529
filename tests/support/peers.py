"""Client-side peers for tests and benchmarks: WHIP publishers and WHEP viewers.

``NumberedVideoTrack`` draws its frame number as 16 black/white blocks, so a
viewer that decodes can tell exactly which frames arrived and in what order.
``PacketLoopTrack`` replays pre-encoded packets in real time (no encoder cost on
the publisher side); ``viewer_pc(passthrough=True)`` receives encoded frames
without decoding them. Importing this module pins the process's ICE to 127.0.0.1;
``selected_addresses(pc)`` tells which addresses a connected peer really uses.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp
import av
import av.packet
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from aiortc.mediastreams import MediaStreamError
from yarl import URL

from live_server.media.aiortc import hooks as aiortc_hooks
from recordings.bitstream import is_keyframe

if TYPE_CHECKING:
    from av.stream import Stream

    Packet = av.packet.Packet[Stream]
else:
    Packet = av.packet.Packet

logger = logging.getLogger(__name__)

# Test and benchmark WebRTC traffic stays on 127.0.0.1 (docs: DESIGN "Media plane"): every
# aiortc peer in a process that uses these helpers does ICE on 127.0.0.1 only, through
# the same hook the server's ``ice_loopback`` setting installs. It is process-wide, so
# in-process servers (create_app tests, Sfu benchmarks) are pinned with the peers.
aiortc_hooks.use_loopback_candidates()

BITS = 16
VIDEO_TIME_BASE = fractions.Fraction(1, 90000)


class NumberedVideoTrack(VideoStreamTrack):
    """Synthetic camera: frame ``n`` shows ``n`` in binary as big luma blocks."""

    def __init__(self, width: int = 320, height: int = 240) -> None:
        super().__init__()
        self.width = width
        self.height = height
        self.sent = 0

    async def recv(self) -> av.VideoFrame:  # type: ignore[override]
        """The next numbered frame, paced at 30 fps."""
        pts, time_base = await self.next_timestamp()
        frame = draw_number(self.sent, self.width, self.height)
        frame.pts = pts
        frame.time_base = time_base
        self.sent += 1
        return frame


def draw_number(number: int, width: int, height: int) -> av.VideoFrame:
    """A yuv420p frame whose luma encodes ``number`` in 16 vertical bars."""
    bar = width // BITS
    row = bytearray()
    for bit in range(BITS):
        value = 235 if (number >> (BITS - 1 - bit)) & 1 else 16
        row += bytes([value]) * bar
    row += bytes([16]) * (width - len(row))
    luma = bytes(row) * height
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    frame = av.VideoFrame(width, height, "yuv420p")
    for plane, data in zip(frame.planes, (luma, chroma, chroma), strict=True):
        _fill_plane(plane, data, plane.width, plane.height)
    return frame


def _fill_plane(plane: av.video.plane.VideoPlane, data: bytes, width: int, height: int) -> None:
    stride = plane.line_size
    if stride == width:
        plane.update(data)
        return
    padded = bytearray(stride * height)
    for y in range(height):
        padded[y * stride : y * stride + width] = data[y * width : (y + 1) * width]
    plane.update(bytes(padded))


def read_number(frame: av.VideoFrame) -> int:
    """Inverse of ``draw_number`` on a decoded frame (samples the middle row)."""
    plane = frame.planes[0]
    data = bytes(plane)
    y = frame.height // 2
    bar = frame.width // BITS
    number = 0
    for bit in range(BITS):
        x = bit * bar + bar // 2
        number = (number << 1) | (1 if data[y * plane.line_size + x] > 128 else 0)
    return number


def encode_vp8(
    seconds: float, width: int = 1280, height: int = 720, fps: int = 30, bitrate: int = 1_500_000
) -> list[tuple[bytes, bool]]:
    """Pre-encode a moving test pattern to VP8; returns (frame bytes, keyframe) pairs."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width = width
    codec.height = height
    codec.pix_fmt = "yuv420p"
    codec.bit_rate = bitrate
    codec.framerate = fractions.Fraction(fps, 1)
    codec.time_base = fractions.Fraction(1, fps)
    codec.gop_size = fps * 2
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    out: list[tuple[bytes, bool]] = []
    for i in range(int(seconds * fps)):
        frame = draw_number(i, width, height)
        frame.pts = i
        for packet in codec.encode(frame):
            data = bytes(packet)
            out.append((data, is_keyframe("VP8", data)))
    for packet in codec.encode(None):
        data = bytes(packet)
        out.append((data, is_keyframe("VP8", data)))
    return out


def encode_opus(seconds: float) -> list[bytes]:
    """Pre-encode a 440 Hz tone to 20 ms Opus frames."""
    import math

    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate = 48000
    codec.layout = "stereo"
    codec.format = "s16"
    codec.bit_rate = 64000
    codec.time_base = fractions.Fraction(1, 48000)
    samples = 960
    out: list[bytes] = []
    for i in range(int(seconds * 50)):
        frame = av.AudioFrame(format="s16", layout="stereo", samples=samples)
        pcm = bytearray()
        for s in range(samples):
            v = int(3000 * math.sin(2 * math.pi * 440 * (i * samples + s) / 48000))
            pcm += v.to_bytes(2, "little", signed=True) * 2
        frame.planes[0].update(bytes(pcm))
        frame.sample_rate = 48000
        frame.pts = i * samples
        frame.time_base = fractions.Fraction(1, 48000)
        out.extend(bytes(p) for p in codec.encode(frame))
    return out


class PacketLoopTrack(MediaStreamTrack):
    """Replays pre-encoded frames at their real-time rate, looping forever."""

    def __init__(self, kind: str, frames: list[bytes], frame_ticks: int, clock_rate: int) -> None:
        super().__init__()
        self.kind = kind
        self._frames = frames
        self._ticks = frame_ticks
        self._time_base = fractions.Fraction(1, clock_rate)
        self._period = frame_ticks / clock_rate
        self._index = 0
        self._start: float | None = None
        self.sent = 0

    async def recv(self) -> Packet:  # type: ignore[override]
        """The next pre-encoded frame, on schedule."""
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self.sent * self._period
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        packet = av.Packet(self._frames[self._index])
        packet.pts = self.sent * self._ticks
        packet.time_base = self._time_base
        self._index = (self._index + 1) % len(self._frames)
        self.sent += 1
        return packet


async def negotiate(pc: RTCPeerConnection, answer_for: Callable[[str], Awaitable[str]]) -> None:
    """Create an offer on ``pc``, get the answer from ``answer_for`` and apply it."""
    await pc.setLocalDescription(await pc.createOffer())
    answer = await answer_for(pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))


@dataclass
class HttpResource:
    """A WHIP/WHEP resource created over HTTP."""

    location: str
    etag: str | None


async def http_negotiate(
    http: aiohttp.ClientSession,
    pc: RTCPeerConnection,
    url: str,
    token: str | None = None,
) -> HttpResource:
    """Do a WHIP/WHEP POST for ``pc``; returns the resource URL. Raises on non-201."""
    await pc.setLocalDescription(await pc.createOffer())
    headers = {"Content-Type": "application/sdp"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with http.post(url, data=pc.localDescription.sdp, headers=headers) as resp:
        body = await resp.text()
        if resp.status != 201:
            raise RuntimeError(f"{url}: {resp.status} {body}")
        location = str(resp.url.join(URL(resp.headers["Location"])))
        etag = resp.headers.get("ETag")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
    return HttpResource(location=location, etag=etag)


def selected_addresses(pc: RTCPeerConnection) -> tuple[tuple[str, int], tuple[str, int]] | None:
    """(local, remote) address of the ICE pair ``pc`` nominated, or None before it connects."""
    for transceiver in pc.getTransceivers():
        dtls = transceiver.sender.transport or transceiver.receiver.transport
        if dtls is not None:
            return aiortc_hooks.selected_pair_addresses(dtls.transport)
    sctp = pc.sctp
    return aiortc_hooks.selected_pair_addresses(sctp.transport.transport) if sctp else None


def viewer_pc(passthrough: bool = True) -> RTCPeerConnection:
    """A receive-only viewer connection (audio + video transceivers).

    With ``passthrough`` the viewer gets the encoded frames (nothing decoded).
    """
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    if passthrough:
        _mark_after_answer(pc)
    return pc


def _mark_after_answer(pc: RTCPeerConnection) -> None:
    original = pc.setRemoteDescription

    async def set_remote(description: RTCSessionDescription) -> None:
        await original(description)
        for transceiver in pc.getTransceivers():
            aiortc_hooks.mark_passthrough(transceiver)

    pc.setRemoteDescription = set_remote  # type: ignore[method-assign,assignment]
