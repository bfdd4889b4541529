"""The SFU with real aiortc peers over real sockets (no HTTP): forwarding, order, keyframes."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import av
import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from live_server.media.clock import MediaClock
from live_server.media.sfu import NotLive, PublisherBusy, Sfu
from support.helpers import wait_for
from support.peers import NumberedVideoTrack, negotiate, read_number, viewer_pc

SESSION = 7


@pytest.fixture
async def sfu() -> AsyncIterator[Sfu]:
    instance = Sfu(MediaClock(), publisher_timeout_s=60)
    yield instance
    await instance.close()


class DecodingViewer:
    """A viewer whose aiortc receiver decodes (stock decoder) and reads frame numbers."""

    def __init__(self) -> None:
        self.pc = viewer_pc(passthrough=False)
        self.numbers: list[int] = []
        self.first_frame_at: float | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "video":
            self._tasks.append(asyncio.ensure_future(self._read(track)))

    async def _read(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            assert isinstance(frame, av.VideoFrame)
            if self.first_frame_at is None:
                self.first_frame_at = time.monotonic()
            self.numbers.append(read_number(frame))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()


async def start_publisher(
    publish: Callable[[str], Awaitable[tuple[str, str]]],
) -> tuple[RTCPeerConnection, NumberedVideoTrack]:
    pc = RTCPeerConnection()
    track = NumberedVideoTrack()
    pc.addTransceiver(track, direction="sendonly")

    async def answer(offer: str) -> str:
        _, sdp = await publish(offer)
        return sdp

    await negotiate(pc, answer)
    return pc, track


async def test_three_viewers_receive_numbered_frames_in_order_from_a_keyframe(sfu: Sfu) -> None:
    pub_pc, track = await start_publisher(lambda offer: sfu.publish(SESSION, offer))
    await wait_for(lambda: sfu.is_receiving(SESSION))
    viewers = [DecodingViewer() for _ in range(3)]
    try:
        for v in viewers:
            await negotiate(v.pc, lambda offer: _answer(sfu.subscribe(SESSION, offer)))
        assert sfu.viewer_count(SESSION) == 3
        await wait_for(lambda: all(len(v.numbers) >= 45 for v in viewers), timeout=20)
        for v in viewers:
            nums = v.numbers
            # strictly increasing: in order, no duplicates, nothing from before the join
            assert all(b > a for a, b in itertools.pairwise(nums)), nums[:60]
            # the stock decoder only yields pictures once it saw a keyframe; frames
            # are consecutive except for (rare) loss on loopback
            assert nums[-1] - nums[0] + 1 - len(nums) <= 2, nums
            assert nums[0] <= track.sent
        # the room forwards, it never decoded: the hub saw the frames as packets
        room = sfu.room(SESSION)
        assert room is not None and room.hubs["video"].frames_in >= 45
    finally:
        for v in viewers:
            await v.close()
        await pub_pc.close()


@pytest.mark.slow
async def test_viewer_joining_mid_stream_gets_a_picture_fast(sfu: Sfu) -> None:
    pub_pc, track = await start_publisher(lambda offer: sfu.publish(SESSION, offer))
    await wait_for(lambda: track.sent > 90, timeout=15)  # past the first keyframe
    viewer = DecodingViewer()
    try:
        started = time.monotonic()
        await negotiate(viewer.pc, lambda offer: _answer(sfu.subscribe(SESSION, offer)))
        await wait_for(lambda: viewer.first_frame_at is not None, timeout=10)
        assert viewer.first_frame_at is not None
        elapsed = viewer.first_frame_at - started
        # includes ICE + DTLS on a busy 2-core machine; the PLI path makes this fast
        assert elapsed < 3.0, elapsed
        room = sfu.room(SESSION)
        assert room is not None and room.keyframes.sent >= 1
    finally:
        await viewer.close()
        await pub_pc.close()


async def test_second_publisher_is_refused_and_viewer_before_live_is_409(sfu: Sfu) -> None:
    viewer = viewer_pc()
    await viewer.setLocalDescription(await viewer.createOffer())
    with pytest.raises(NotLive):
        await sfu.subscribe(SESSION, viewer.localDescription.sdp)
    await viewer.close()
    pub_pc, _ = await start_publisher(lambda offer: sfu.publish(SESSION, offer))
    other = RTCPeerConnection()
    other.addTransceiver(NumberedVideoTrack(), direction="sendonly")
    await other.setLocalDescription(await other.createOffer())
    with pytest.raises(PublisherBusy):
        await sfu.publish(SESSION, other.localDescription.sdp)
    await other.close()
    await pub_pc.close()


async def _answer(coro: Awaitable[tuple[str, str]]) -> str:
    _, sdp = await coro
    return sdp


async def test_h264_publisher_is_forwarded_as_h264_to_viewers(sfu: Sfu) -> None:
    from aiortc import RTCRtpSender

    pc = RTCPeerConnection()
    track = NumberedVideoTrack()
    transceiver = pc.addTransceiver(track, direction="sendonly")
    h264 = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.name in ("H264", "rtx")]
    transceiver.setCodecPreferences(h264)

    async def answer(offer: str) -> str:
        _, sdp = await sfu.publish(SESSION, offer)
        return sdp

    await negotiate(pc, answer)
    await wait_for(lambda: sfu.is_receiving(SESSION), timeout=15)
    room = sfu.room(SESSION)
    assert room is not None and room.codec_caps["video"].mimeType == "video/H264"
    viewer = DecodingViewer()  # offers VP8 first, H264 second: the server picks H264
    try:
        await negotiate(viewer.pc, lambda offer: _answer(sfu.subscribe(SESSION, offer)))
        await wait_for(lambda: len(viewer.numbers) >= 20, timeout=20)
        nums = viewer.numbers
        assert all(b > a for a, b in itertools.pairwise(nums))
        assert "H264/90000" in viewer.pc.remoteDescription.sdp
        assert "VP8/90000" not in viewer.pc.remoteDescription.sdp
    finally:
        await viewer.close()
        await pc.close()
