"""The fast send path (live_server/media/aiortc/fastpath.py) with real aiortc peers.

Viewers capture the RTP packets their aiortc receiver accepted: aiortc only hands a
packet on after SRTP authentication and decryption succeeded, so anything captured
was protected with the viewer's own SRTP keys.
"""

from __future__ import annotations

import asyncio
import fractions
import itertools
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import av
import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import RtpPacket

from live_server.media import native
from live_server.media.aiortc.fastpath import FastRtpSender
from live_server.media.clock import MediaClock
from live_server.media.fanout import ViewerTrack
from live_server.media.sfu import Sfu
from support.helpers import wait_for
from support.peers import (
    NumberedVideoTrack,
    PacketLoopTrack,
    draw_number,
    negotiate,
    read_number,
    viewer_pc,
)

SESSION = 11


@pytest.fixture(autouse=True, params=["native", "python"])
def send_loop(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test runs with the native send loop and with its Python twin (the fallback
    when the extension is not built or LIVESHOP_NATIVE_FANOUT=0)."""
    if request.param == "native" and native.backend() is None and not os.environ.get("CI"):
        pytest.skip(f"native fan-out not built here: {native.unavailable_reason()}")
    was = native.enabled()
    native.set_enabled(request.param == "native")
    yield str(request.param)
    native.set_enabled(was)


@pytest.fixture
async def sfu() -> AsyncIterator[Sfu]:
    instance = Sfu(MediaClock(), publisher_timeout_s=60)
    yield instance
    await instance.close()


@dataclass
class Captured:
    ssrc: int
    seq: int
    ts: int
    pt: int
    marker: int
    payload: bytes
    mid: str | None
    abs_send_time: int | None


@dataclass
class CapturingViewer:
    """A decoding aiortc viewer that also records every video RTP packet it accepted."""

    pc: RTCPeerConnection = field(default_factory=lambda: viewer_pc(passthrough=False))
    packets: list[Captured] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    drop: Callable[[RtpPacket], bool] = lambda packet: False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pc.on("track", self._on_track)

    def hook_receiver(self) -> None:
        """Wrap the video receiver's packet handler (after negotiation)."""
        receiver = next(t.receiver for t in self.pc.getTransceivers() if t.kind == "video")
        original = receiver._handle_rtp_packet

        async def handle(packet: RtpPacket, arrival_time_ms: int) -> None:
            if self.drop(packet):
                return
            self.packets.append(
                Captured(
                    packet.ssrc,
                    packet.sequence_number,
                    packet.timestamp,
                    packet.payload_type,
                    packet.marker,
                    packet.payload,
                    packet.extensions.mid,
                    packet.extensions.abs_send_time,
                )
            )
            await original(packet, arrival_time_ms)

        receiver._handle_rtp_packet = handle  # type: ignore[method-assign]

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "video":
            self.tasks.append(asyncio.ensure_future(self._read(track)))

    async def _read(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            assert isinstance(frame, av.VideoFrame)
            self.numbers.append(read_number(frame))

    def media(self, pt: int) -> list[Captured]:
        return [p for p in self.packets if p.pt == pt]

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await self.pc.close()


async def _answer(coro: Awaitable[tuple[str, str]]) -> str:
    _, sdp = await coro
    return sdp


async def start(sfu: Sfu) -> tuple[RTCPeerConnection, NumberedVideoTrack]:
    pc = RTCPeerConnection()
    track = NumberedVideoTrack()
    pc.addTransceiver(track, direction="sendonly")
    await negotiate(pc, lambda offer: _answer(sfu.publish(SESSION, offer)))
    await wait_for(lambda: sfu.is_receiving(SESSION), timeout=15)
    return pc, track


async def join(sfu: Sfu, viewer: CapturingViewer) -> None:
    await negotiate(viewer.pc, lambda offer: _answer(sfu.subscribe(SESSION, offer)))
    viewer.hook_receiver()


def server_video_tracks(sfu: Sfu) -> list[ViewerTrack]:
    room = sfu.room(SESSION)
    assert room is not None
    return [t for v in room.viewers.values() for t in v.tracks if t.kind == "video"]


def video_pt(viewer: CapturingViewer) -> int:
    transceiver = next(t for t in viewer.pc.getTransceivers() if t.kind == "video")
    codecs: list[Any] = transceiver._codecs
    return int(codecs[0].payloadType)


async def test_two_viewers_get_identical_payloads_with_their_own_ssrc_and_sequence(
    sfu: Sfu, send_loop: str
) -> None:
    pub_pc, _ = await start(sfu)
    viewers = [CapturingViewer(), CapturingViewer()]
    try:
        for v in viewers:
            await join(sfu, v)
        await wait_for(lambda: all(len(v.numbers) >= 40 for v in viewers), timeout=20)
        tracks = server_video_tracks(sfu)
        assert len(tracks) == 2 and all(t.fast is not None for t in tracks)
        assert all(t.fast.native == (send_loop == "native") for t in tracks if t.fast)

        streams = [v.media(video_pt(v)) for v in viewers]
        ssrcs = [{p.ssrc for p in s} for s in streams]
        assert all(len(s) == 1 for s in ssrcs) and ssrcs[0] != ssrcs[1]
        server_ssrcs = set()
        room = sfu.room(SESSION)
        assert room is not None
        for viewer in room.viewers.values():
            for transceiver in viewer.pc.getTransceivers():
                if transceiver.kind == "video":
                    server_ssrcs.add(transceiver.sender._ssrc)
        assert ssrcs[0] | ssrcs[1] == server_ssrcs
        for stream, v in zip(streams, viewers, strict=True):
            seqs = [p.seq for p in stream]
            # this viewer's own sequence: consecutive (loopback loses next to nothing)
            gaps = sum(((b - a) & 0xFFFF) != 1 for a, b in itertools.pairwise(seqs))
            assert gaps <= 2, seqs[:40]
            mid = next(t.mid for t in v.pc.getTransceivers() if t.kind == "video")
            assert {p.mid for p in stream} == {mid}
            assert all(p.abs_send_time is not None for p in stream)
            # a frame's packets share a timestamp and only the last carries the marker
            for _, group in itertools.groupby(stream, key=lambda p: p.ts):
                markers = [p.marker for p in group]
                assert markers[-1] == 1 and not any(markers[:-1])
        if sys.platform == "linux":  # a frame's equal-sized packets leave in one GSO send
            sizes = [
                [len(p.payload) for p in g]
                for _, g in itertools.groupby(streams[0], key=lambda p: p.ts)
            ]
            if any(len(f) > 1 and f[0] == f[1] for f in sizes):
                assert sum(t.fast.gso_sends for t in tracks if t.fast is not None) > 0
        # same payload bytes for both (shared packetisation), in the same order
        common = {p.payload for p in streams[0]} & {p.payload for p in streams[1]}
        assert len(common) >= 30
        order = [[p.payload for p in s if p.payload in common] for s in streams]
        assert order[0] == order[1]
        # the viewers decoded the frames in order
        for v in viewers:
            assert all(b > a for a, b in itertools.pairwise(v.numbers))
        # RTCP sender reports carry the fast path's counters
        deadline = time.monotonic() + 10
        while await remote_packets_sent(viewers[0]) < 40:
            assert time.monotonic() < deadline, "no RTCP sender report with the counters"
            await asyncio.sleep(0.1)
        # a viewer that leaves releases the fast path's socket descriptor
        fast = tracks[0].fast
        assert fast is not None and fast._raw is not None
        await viewers[0].close()
        await wait_for(lambda: fast._raw is None, timeout=15)
    finally:
        for v in viewers:
            await v.close()
        await pub_pc.close()


async def remote_packets_sent(viewer: CapturingViewer) -> int:
    """packetsSent from the last RTCP sender report the viewer got for its video."""
    receiver = next(t.receiver for t in viewer.pc.getTransceivers() if t.kind == "video")
    stats = await receiver.getStats()
    return max(
        (int(s.packetsSent) for s in stats.values() if s.type == "remote-outbound-rtp"),
        default=0,
    )


@pytest.mark.slow
async def test_a_viewers_nack_is_answered_with_an_rtx_retransmission(sfu: Sfu) -> None:
    pub_pc, _ = await start(sfu)
    dropped: set[int] = set()
    viewer = CapturingViewer()

    def drop(packet: RtpPacket) -> bool:
        # lose every 25th media packet once (the first time it arrives)
        pt = video_pt(viewer)
        if packet.payload_type != pt or packet.sequence_number % 25:
            return False
        if packet.sequence_number in dropped:
            return False
        dropped.add(packet.sequence_number)
        return True

    viewer.drop = drop
    try:
        await join(sfu, viewer)
        await wait_for(lambda: len(dropped) >= 4, timeout=20)
        tracks = server_video_tracks(sfu)
        assert tracks and tracks[0].fast is not None
        fast = tracks[0].fast
        await wait_for(lambda: fast.retransmitted >= 3, timeout=10)
        pt = video_pt(viewer)
        rtx = [p for p in viewer.packets if p.pt != pt and len(p.payload) > 2]
        osns = {int.from_bytes(p.payload[:2], "big") for p in rtx}
        assert len(osns & dropped) >= 3, (osns, dropped)
        room = sfu.room(SESSION)
        assert room is not None
        sender = next(
            t.sender
            for v in room.viewers.values()
            for t in v.pc.getTransceivers()
            if t.kind == "video"
        )
        assert {p.ssrc for p in rtx} == {sender._rtx_ssrc}
        # the retransmitted payload is the original packet's payload
        media = viewer.media(pt)
        by_osn = {int.from_bytes(p.payload[:2], "big"): p.payload[2:] for p in rtx}
        neighbours = {p.seq: p for p in media}
        for osn in osns & dropped:
            before = neighbours.get((osn - 1) & 0xFFFF)
            if before is not None and before.marker == 0:
                # same frame: same RTP timestamp as its predecessor
                assert any(p.ts == before.ts for p in rtx if p.payload[2:] == by_osn[osn])
        # decoding never went backwards despite the losses
        await wait_for(lambda: len(viewer.numbers) >= 30, timeout=15)
        assert all(b > a for a, b in itertools.pairwise(viewer.numbers))
    finally:
        await viewer.close()
        await pub_pc.close()


async def test_fast_path_off_keeps_aiortcs_own_sender() -> None:
    sfu = Sfu(MediaClock(), publisher_timeout_s=60, fast_path=False)
    pub_pc, _ = await start(sfu)
    viewer = CapturingViewer()
    try:
        await join(sfu, viewer)
        await wait_for(lambda: len(viewer.numbers) >= 20, timeout=20)
        tracks = server_video_tracks(sfu)
        assert tracks and all(t.fast is None for t in tracks)
        assert all(b > a for a, b in itertools.pairwise(viewer.numbers))
    finally:
        await viewer.close()
        await pub_pc.close()
        await sfu.close()


async def test_a_viewer_whose_socket_backs_up_drops_to_a_keyframe(
    sfu: Sfu, monkeypatch: pytest.MonkeyPatch
) -> None:
    pub_pc, _ = await start(sfu)
    viewer = CapturingViewer()
    try:
        await join(sfu, viewer)
        await wait_for(lambda: len(viewer.numbers) >= 10, timeout=20)
        track = server_video_tracks(sfu)[0]
        assert track.fast is not None
        # the socket's send buffer is over the limit: frames are dropped, not buffered
        monkeypatch.setattr(FastRtpSender, "backlog", property(lambda self: 10**9))
        before = track.overflows
        await wait_for(lambda: track.overflows > before, timeout=5)
        monkeypatch.undo()
        # it resumes at a keyframe (requested from the host) and keeps decoding in order
        count = len(viewer.numbers)
        await wait_for(lambda: len(viewer.numbers) >= count + 10, timeout=15)
        assert all(b > a for a, b in itertools.pairwise(viewer.numbers))
    finally:
        await viewer.close()
        await pub_pc.close()


def noisy_vp8(count: int) -> list[bytes]:
    """Numbered 640x360 frames with noise in the chroma planes: several packets each."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = 640, 360, "yuv420p"
    codec.bit_rate = 4_000_000
    codec.time_base = fractions.Fraction(1, 30)
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    out: list[bytes] = []
    for i in range(count):
        frame = draw_number(i, 640, 360)
        for plane in frame.planes[1:]:
            plane.update(os.urandom(plane.buffer_size))
        frame.pts = i
        out.extend(bytes(p) for p in codec.encode(frame))
    return out


@pytest.mark.slow
async def test_multi_packet_frames_leave_in_one_gso_send_and_decode(sfu: Sfu) -> None:
    if sys.platform != "linux":
        pytest.skip("UDP GSO is Linux only")
    frames = await asyncio.to_thread(noisy_vp8, 30)
    pc = RTCPeerConnection()
    track = PacketLoopTrack("video", frames, 3000, 90000)
    pc.addTransceiver(track, direction="sendonly")
    await negotiate(pc, lambda offer: _answer(sfu.publish(SESSION, offer)))
    await wait_for(lambda: sfu.is_receiving(SESSION), timeout=15)
    viewer = CapturingViewer()
    try:
        await join(sfu, viewer)
        await wait_for(lambda: len(viewer.numbers) >= 30, timeout=20)
        fast = server_video_tracks(sfu)[0].fast
        pt = video_pt(viewer)
        per_frame = [
            [len(p.payload) for p in g]
            for _, g in itertools.groupby(viewer.media(pt), key=lambda p: p.ts)
        ]
        assert fast is not None and fast.gso_sends > 0, (fast._state.gso, per_frame[:10])
        # the kernel split each GSO send back into the datagrams the viewer parsed
        assert any(len(f) >= 3 for f in per_frame)
        assert all(max(f) <= 1300 for f in per_frame)
        # and the viewer decoded those frames: the numbers in the luma bars are intact
        assert len(set(viewer.numbers)) >= 20
    finally:
        await viewer.close()
        await pc.close()


def test_the_fast_path_setting_reads_from_the_environment() -> None:
    from live_server.settings import Settings

    assert Settings.load(env={}).media_fast_path is True
    assert Settings.load(env={"LIVESHOP_MEDIA_FAST_PATH": "0"}).media_fast_path is False
