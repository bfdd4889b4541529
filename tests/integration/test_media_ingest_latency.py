"""No frame held back on ingest (issue 16 part 5), with real aiortc peers over real sockets.

One numbered camera feeds two publishers in the same run: one publishes to the SFU,
watched by three decoding aiortc viewers; the other connects straight to one decoding
aiortc viewer (the baseline). Two figures per frame:

- **The server's hold** (asserted): when the last packet of a frame reached the
  server's publisher receiver (after SRTP) to when that frame was handed to the fan-out
  (``FanoutHub.rebase``, just before ``dispatch``). It is what the server adds on top of
  the network; measured inside one process, it moves far less with the load of a shared
  2-core machine than wall-clock differences between peers do, but a loop waiting for
  the CPU shows in it, so the test runs `solo`.
- **Glass to glass** (printed; its median asserted under 8 ms): camera to decoded picture through
  the SFU minus the same frame's direct time, per viewer and frame. Both paths share the
  camera, the loop and the viewers' own jitter buffer (which holds a frame until the next
  one starts, like aiortc's always has).

Before this change the hold was one frame interval (33 ms at 30 fps, 200 ms at 5 fps):
aiortc's receiver completed a frame only when the next frame's first packet arrived.
"""

from __future__ import annotations

import asyncio
import fractions
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import av
import pytest
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpReceiver
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtpPacket

from live_server.media.clock import MediaClock
from live_server.media.sfu import Sfu
from support.helpers import wait_for
from support.peers import draw_number, negotiate, read_number, viewer_pc

SESSION = 16
TICKS = 90000


@pytest.fixture
async def sfu() -> AsyncIterator[Sfu]:
    instance = Sfu(MediaClock(), publisher_timeout_s=60)
    yield instance
    await instance.close()


@pytest.fixture
def quick_gil_handoff() -> Iterator[None]:
    """Hand the GIL over every 0.5 ms instead of 5 ms while the peers run.

    The test process hosts the encoders and the four decoding viewers next to the
    server; their threads hold the GIL for up to a switch interval while the server's
    event loop waits for it, which a real server (it decodes nothing) does not see.
    """
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    yield
    sys.setswitchinterval(interval)


class PacedCamera(MediaStreamTrack):
    """Numbered 320x240 frames at ``fps``; remembers when each was taken."""

    kind = "video"

    def __init__(self, fps: int) -> None:
        super().__init__()
        self.fps = fps
        self.sent = 0
        self.taken: dict[int, float] = {}
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:  # type: ignore[override]
        if self._start is None:
            self._start = time.monotonic()
        delay = self._start + self.sent / self.fps - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = draw_number(self.sent, 320, 240)
        frame.pts = self.sent * (TICKS // self.fps)
        frame.time_base = fractions.Fraction(1, TICKS)
        self.taken[self.sent] = time.monotonic()
        self.sent += 1
        return frame


@dataclass
class TimedViewer:
    """A decoding aiortc viewer noting when each numbered picture came out of its decoder."""

    pc: RTCPeerConnection = field(default_factory=lambda: viewer_pc(passthrough=False))
    shown: dict[int, float] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pc.on("track", self._on_track)

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
            number = read_number(frame)
            self.shown.setdefault(number, time.monotonic())
            self.order.append(number)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await self.pc.close()


@dataclass
class IngestProbe:
    """Times on the server: last packet of each frame in, frame handed to the fan-out."""

    last_packet: dict[int, float] = field(default_factory=dict)  # RTP timestamp -> time
    handed: list[tuple[int, float]] = field(default_factory=list)  # (pts, time)
    first_ts: int | None = None
    video_pt: int = -1
    packets: list[RtpPacket] = field(default_factory=list)
    drop: Callable[[RtpPacket], bool] = lambda packet: False

    def watch(self, receiver: RTCRtpReceiver) -> None:
        original = receiver._handle_rtp_packet

        async def handle(packet: RtpPacket, arrival_time_ms: int) -> None:
            now = time.monotonic()
            if self.drop(packet):
                return
            self.packets.append(packet)
            if packet.payload_type == self.video_pt:
                if self.first_ts is None:
                    self.first_ts = packet.timestamp
                self.last_packet[packet.timestamp] = now
            await original(packet, arrival_time_ms)

        receiver._handle_rtp_packet = handle  # type: ignore[method-assign]

    def holds_ms(self, skip: int) -> list[float]:
        assert self.first_ts is not None
        holds = []
        for pts, at in self.handed[skip:]:
            arrived = self.last_packet.get((self.first_ts + pts) & 0xFFFFFFFF)
            assert arrived is not None, f"frame pts={pts} handed on without its packets"
            holds.append((at - arrived) * 1000)
        return holds


async def publish_to_sfu(
    sfu: Sfu, track: MediaStreamTrack, probe: IngestProbe
) -> RTCPeerConnection:
    pc = RTCPeerConnection()
    pc.addTransceiver(track, direction="sendonly")

    async def answer(offer: str) -> str:
        _, sdp = await sfu.publish(SESSION, offer)
        room = sfu.room(SESSION)
        assert room is not None and room.publisher is not None
        receiver = room.publisher.receivers["video"]
        video = next(t for t in room.publisher.pc.getTransceivers() if t.kind == "video")
        probe.video_pt = video._codecs[0].payloadType
        probe.watch(receiver)
        hub = room.hubs["video"]
        rebase = hub.rebase

        def handed(packet: Any) -> None:
            probe.handed.append((int(packet.pts), time.monotonic()))
            rebase(packet)

        hub.rebase = handed  # type: ignore[method-assign]
        return sdp

    await negotiate(pc, answer)
    return pc


async def connect_direct(track: MediaStreamTrack, viewer: TimedViewer) -> RTCPeerConnection:
    pc = RTCPeerConnection()
    pc.addTransceiver(track, direction="sendonly")

    async def answer(offer: str) -> str:
        from aiortc import RTCSessionDescription

        await viewer.pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        await viewer.pc.setLocalDescription(await viewer.pc.createAnswer())
        return str(viewer.pc.localDescription.sdp)

    await negotiate(pc, answer)
    return pc


async def _answer(coro: Awaitable[tuple[str, str]]) -> str:
    _, sdp = await coro
    return sdp


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# alone on the machine: a hold of a few milliseconds is the target, and another worker's
# browser encoding video delays this event loop by about that much (CI: p95 8.7 ms at
# 5 fps with three workers beside it); 6 s at 5 fps gives the p95 30 frames to go by
@pytest.mark.solo
@pytest.mark.usefixtures("quick_gil_handoff")
@pytest.mark.parametrize(("fps", "seconds"), [(30, 3.0), (5, 6.0)])
async def test_the_server_hands_each_frame_on_as_soon_as_it_is_complete(
    sfu: Sfu, fps: int, seconds: float
) -> None:
    camera = PacedCamera(fps)
    relay = MediaRelay()
    probe = IngestProbe()
    direct_viewer = TimedViewer(pc=RTCPeerConnection())
    viewers = [TimedViewer() for _ in range(3)]
    pcs: list[RTCPeerConnection] = []
    try:
        pcs.append(await publish_to_sfu(sfu, relay.subscribe(camera, buffered=True), probe))
        pcs.append(await connect_direct(relay.subscribe(camera, buffered=True), direct_viewer))
        await wait_for(lambda: sfu.is_receiving(SESSION), timeout=15)
        for viewer in viewers:
            await negotiate(viewer.pc, lambda offer: _answer(sfu.subscribe(SESSION, offer)))
        await wait_for(lambda: all(v.shown for v in viewers) and direct_viewer.shown, timeout=15)
        first = camera.sent + 1  # taken from now on: every viewer is past its keyframe
        last = first + round(seconds * fps)
        await wait_for(
            lambda: all(last in v.shown for v in [*viewers, direct_viewer]),
            timeout=seconds + 10,
            message=f"frame {last} at every viewer",
        )
    finally:
        for viewer in [*viewers, direct_viewer]:
            await viewer.close()
        for pc in pcs:
            await pc.close()

    holds = probe.holds_ms(skip=2)
    added = [
        (viewer.shown[n] - direct_viewer.shown[n]) * 1000
        for viewer in viewers
        for n in range(first, last + 1)
        if n in viewer.shown and n in direct_viewer.shown
    ]
    direct = [(direct_viewer.shown[n] - camera.taken[n]) * 1000 for n in range(first, last + 1)]
    print(
        f"\n{fps} fps: server hold p50 {p(holds, 0.5):.2f} ms p95 {p(holds, 0.95):.2f} ms"
        f" max {max(holds):.2f} ms ({len(holds)} frames); glass to glass direct"
        f" p50 {p(direct, 0.5):.1f} ms, through the SFU minus direct"
        f" p50 {p(added, 0.5):.1f} ms p95 {p(added, 0.95):.1f} ms ({len(added)} pictures)"
    )
    assert len(holds) >= seconds * fps * 0.9
    assert p(holds, 0.95) < 8.0, f"the server held frames: {sorted(holds)[-10:]}"
    # every viewer decoded every frame of the window, in order
    for viewer in viewers:
        window = [n for n in viewer.order if first <= n <= last]
        assert window == list(range(first, last + 1))
    # glass to glass (a frame interval held at the server, 33 / 200 ms, shows here too);
    # the median, since the tail of a wall-clock difference between peers moves with load
    assert statistics.median(added) < 8.0


async def test_a_frame_missing_a_packet_waits_for_its_retransmission_and_nothing_is_lost(
    sfu: Sfu,
) -> None:
    camera = PacedCamera(30)
    probe = IngestProbe()
    dropped: list[tuple[int, int, float]] = []  # (sequence number, RTP timestamp, time)

    def drop(packet: RtpPacket) -> bool:
        # once, past the start (these small frames are one packet each: a whole frame goes)
        if dropped or packet.payload_type != probe.video_pt:
            return False
        if len(probe.packets) < 60:
            return False
        dropped.append((packet.sequence_number, packet.timestamp, time.monotonic()))
        return True

    probe.drop = drop
    viewers = [TimedViewer() for _ in range(3)]
    pcs: list[RTCPeerConnection] = []
    try:
        pcs.append(await publish_to_sfu(sfu, camera, probe))
        await wait_for(lambda: sfu.is_receiving(SESSION), timeout=15)
        for viewer in viewers:
            await negotiate(viewer.pc, lambda offer: _answer(sfu.subscribe(SESSION, offer)))
        await wait_for(lambda: all(v.shown for v in viewers), timeout=15)
        first = camera.sent + 1
        await wait_for(lambda: bool(dropped), timeout=10, message="a packet dropped")
        last = camera.sent + 30
        await wait_for(
            lambda: all(last in v.shown for v in viewers), timeout=15, message=f"frame {last}"
        )
    finally:
        for viewer in viewers:
            await viewer.close()
        for pc in pcs:
            await pc.close()

    seq, timestamp, lost_at = dropped[0]
    room_pt = probe.video_pt
    rtx = [
        (i, p)
        for i, p in enumerate(probe.packets)
        if p.payload_type != room_pt and len(p.payload) >= 2 and p.payload[:2] == seq.to_bytes(2)
    ]
    assert rtx, "the server never got the lost packet back as RTX"
    assert probe.first_ts is not None
    pts = (timestamp - probe.first_ts) & 0xFFFFFFFF
    handed = [at for p_, at in probe.handed if p_ == pts]
    assert len(handed) == 1, "the damaged frame was handed on once, whole"
    assert handed[0] > lost_at
    # nothing dropped to a keyframe: every viewer decoded every frame around the loss
    for viewer in viewers:
        window = [n for n in viewer.order if first <= n <= last]
        assert window == list(range(first, last + 1))
