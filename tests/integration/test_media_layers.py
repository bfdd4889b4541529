"""A simulcast layer per viewer, with real aiortc peers over loopback: a two-layer host
(tests/support/aiortc_simulcast_host.py), viewers whose aiortc receivers decode. A viewer that
asks for the low layer gets 320x240 pictures while another gets 640x480; switching happens
at a keyframe, the pictures keep decoding across it, and the viewer's RTP sequence numbers
and timestamps run on as one stream. Both send loops (native and its Python twin)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import av
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci

from live_server.media import native
from live_server.media.clock import MediaClock
from live_server.media.sfu import Sfu
from live_server.media.viewing import LoadMeter
from support.aiortc_simulcast_host import SimulcastHost
from support.helpers import wait_for
from support.peers import viewer_pc

SESSION = 11
HIGH, LOW = (640, 480), (320, 240)


@pytest.fixture(params=["native", "python"])
def send_loop(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "native" and native.backend() is None and native.enabled():
        pytest.skip(f"native send loop not built: {native.unavailable_reason()}")
    was = native.enabled()
    native.set_enabled(request.param == "native")
    yield str(request.param)
    native.set_enabled(was)


@pytest.fixture
async def sfu(send_loop: str) -> AsyncIterator[Sfu]:
    instance = Sfu(MediaClock(), publisher_timeout_s=60)
    yield instance
    await instance.close()


class LayerViewer:
    """Decodes its video and keeps each picture's size and each RTP packet's numbers."""

    def __init__(self, own_remb: bool = True) -> None:
        self.pc: RTCPeerConnection = viewer_pc(passthrough=False)
        self._own_remb = own_remb
        self._receiver: Any = None
        self.id = ""
        self.frames: list[tuple[float, tuple[int, int]]] = []
        self.rtp: list[tuple[float, int, int]] = []  # (arrival, sequence number, timestamp)
        self._tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)

    async def join(self, sfu: Sfu) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.id, answer = await sfu.subscribe(SESSION, self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        video = next(t for t in self.pc.getTransceivers() if t.kind == "video")
        receiver: Any = video.receiver
        handle = receiver._handle_rtp_packet
        media_types = {c.payloadType for c in video._codecs if c.name.lower() != "rtx"}

        async def watch(packet: Any, arrival_time_ms: int) -> None:
            if packet.payload_type in media_types:
                self.rtp.append((time.monotonic(), packet.sequence_number, packet.timestamp))
            await handle(packet, arrival_time_ms)

        receiver._handle_rtp_packet = watch
        self._receiver = receiver
        if not self._own_remb:
            receiver._RTCRtpReceiver__remote_bitrate_estimator = None

    async def send_remb(self, bitrate: list[float]) -> None:
        """Send a REMB of ``bitrate[0]`` for the video stream every 250 ms (real RTCP)."""
        receiver = self._receiver
        while True:
            sources = [s.source for s in receiver.getSynchronizationSources()]
            if sources:
                packet = RtcpPsfbPacket(
                    fmt=RTCP_PSFB_APP,
                    ssrc=receiver._RTCRtpReceiver__rtcp_ssrc or 1,
                    media_ssrc=0,
                    fci=pack_remb_fci(int(bitrate[0]), sources),
                )
                await receiver._send_rtcp(packet)
            await asyncio.sleep(0.25)

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
            self.frames.append((time.monotonic(), (frame.width, frame.height)))

    def describe(self) -> str:
        return f"{len(self.frames)} pictures, last {self.frames[-3:]}, {len(self.rtp)} packets"

    def size(self) -> tuple[int, int] | None:
        return self.frames[-1][1] if self.frames else None

    def steady(self, size: tuple[int, int], count: int = 15) -> bool:
        """The last ``count`` pictures all had ``size``."""
        tail = self.frames[-count:]
        return len(tail) == count and all(s == size for _, s in tail)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()


async def settle(condition: Callable[[], bool], timeout: float, *viewers: LayerViewer) -> None:
    """Wait for ``condition``; on a timeout say what the viewers got."""
    try:
        await wait_for(condition, timeout=timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}: " + "; ".join(v.describe() for v in viewers)) from None


def assert_one_stream(viewer: LayerViewer, since: float) -> None:
    """Pictures every < 1 s and RTP numbers of one continuous stream after ``since``."""
    times = [t for t, _ in viewer.frames if t >= since]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert times and max(gaps) < 1.0, f"longest gap between pictures {max(gaps):.2f} s"
    packets = [(seq, ts) for t, seq, ts in viewer.rtp if t >= since]
    first = packets[0][0]
    # unwrapped around the first one (16-bit wrap): the order the sender numbered them
    ordered = sorted(((seq - first + 32768) % 65536, ts) for seq, ts in packets)
    seqs = sorted({seq for seq, _ in ordered})
    assert seqs[-1] - seqs[0] + 1 == len(seqs), "a sequence number is missing"
    steps = [(b[1] - a[1]) % (1 << 32) for a, b in itertools.pairwise(ordered)]
    # timestamps go forward (never back: a modular step under half the space), and by
    # less than half a second from one packet to the next (no jump at a switch)
    assert all(step < 45000 for step in steps), f"timestamp jump {max(steps)}"


async def test_each_viewer_gets_the_layer_it_asks_for(sfu: Sfu) -> None:
    host = SimulcastHost()
    saver, hd = LayerViewer(), LayerViewer()
    try:
        await _live(sfu, host)
        await saver.join(sfu)
        await hd.join(sfu)
        # HD for both first (a viewer that joins before the top layer's first keyframe
        # starts on the low one)
        assert sfu.set_layer(SESSION, hd.id, "high") is True
        assert sfu.set_layer(SESSION, saver.id, "high") is True
        await settle(lambda: saver.steady(HIGH) and hd.steady(HIGH), 15, saver, hd)

        # data saver: the low layer from its next keyframe, the other viewer unchanged
        switched_at = time.monotonic()
        assert sfu.set_layer(SESSION, saver.id, "low") is True
        await settle(lambda: saver.steady(LOW), 10, saver)
        assert hd.steady(HIGH, count=30)
        room: Any = sfu.room(SESSION)
        assert room.layers.viewers[saver.id].layer == "l"
        assert room.layers.viewers[hd.id].layer == "h"
        # the node's outbound bitrate counts each viewer's own layer, not the top one twice
        meter = LoadMeter(sfu)
        await asyncio.sleep(0.6)  # measuring windows, not waits for a condition
        meter()  # the first reading of every hub's bytes
        await asyncio.sleep(2.0)
        out = meter().out_bitrate
        rates = {r.rid: r.bitrate_bps for r in room.layers.rates(time.monotonic())}
        assert 0 < out < 0.85 * 2 * rates["h"], (out, rates)

        # and back to HD
        assert sfu.set_layer(SESSION, saver.id, "high") is True
        await settle(lambda: saver.steady(HIGH), 10, saver)
        assert_one_stream(saver, switched_at)
        sizes = [s for t, s in saver.frames if t >= switched_at]
        changes = sum(1 for a, b in itertools.pairwise(sizes) if a != b)
        assert changes == 2, f"the picture size changed {changes} times"
        assert_one_stream(hd, switched_at)
    finally:
        await saver.close()
        await hd.close()
        await host.close()


async def test_a_viewer_follows_its_remb(sfu: Sfu) -> None:
    """Auto: the viewer's REMB (sent over its real RTCP path, its own estimator switched
    off so only these count) decides; below the top layer's bitrate it settles on the low
    layer, and it returns when the estimate rises."""
    host = SimulcastHost()
    viewer = LayerViewer(own_remb=False)
    remb = [5_000_000.0]
    try:
        await _live(sfu, host)
        await viewer.join(sfu)
        sender = asyncio.ensure_future(viewer.send_remb(remb))
        room: Any = sfu.room(SESSION)
        await settle(lambda: viewer.steady(HIGH), 20, viewer)
        went_down = time.monotonic()
        rates = {r.rid: r.bitrate_bps for r in room.layers.rates(went_down)}
        assert rates["h"] > 2 * rates["l"] > 0, rates
        remb[0] = (rates["l"] + rates["h"]) / 2 / 0.85  # l fits with headroom, h does not
        await settle(lambda: viewer.steady(LOW), 10, viewer)
        settled_low = time.monotonic() - went_down
        assert room.layers.viewers[viewer.id].layer == "l"
        remb[0] = 5_000_000.0
        await settle(lambda: viewer.steady(HIGH), 25, viewer)
        assert_one_stream(viewer, went_down)
        assert settled_low < 5, f"took {settled_low:.1f} s to go down"
        sender.cancel()
    finally:
        await viewer.close()
        await host.close()


async def test_bad_layer_is_refused(sfu: Sfu) -> None:
    from live_server.platform.errors import BadRequest, NotFound

    host = SimulcastHost()
    viewer = LayerViewer()
    try:
        await _live(sfu, host)
        await viewer.join(sfu)
        with pytest.raises(BadRequest):
            sfu.set_layer(SESSION, viewer.id, "ultra")
        with pytest.raises(NotFound):
            sfu.set_layer(SESSION, "nobody", "low")
    finally:
        await viewer.close()
        await host.close()


async def _live(sfu: Sfu, host: SimulcastHost) -> None:
    await host.publish(lambda offer: _answer(sfu, offer))
    await wait_for(lambda: sfu.clock.is_running(SESSION), timeout=10, message="the show is live")


async def _answer(sfu: Sfu, offer: str) -> str:
    _, sdp = await sfu.publish(SESSION, offer)
    return sdp
