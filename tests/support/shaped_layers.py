"""The shaped-viewer scenario of tests/integration/test_media_layers_shaped.py, in two roles.

``server`` runs inside the server namespace (``ip netns exec``): an SFU, a two-layer aiortc
host (the top layer 640x480 with noise, several hundred kbit/s; the low one 320x240 plain,
tens of kbit/s) and, for a viewer in the client namespace, the SDP exchange over the child's
stdin/stdout. It applies ``tc tbf`` on its veth end (everything towards the viewer) when
told, and prints one JSON line per second: the viewer's layer and its decoded picture size.
``viewer`` runs inside the client namespace: an aiortc viewer that decodes and reports the
size of each picture on stdout.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import sys
import time
from typing import Any

import av
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from live_server.startup import prepare_process
from support.netns_pair import take_due_step

SESSION = 5


class NoisyTrack(MediaStreamTrack):
    """A 640x480 camera with a patch of fresh noise in every picture: several hundred
    kbit/s of VP8, far above the low layer (noise all over would be tens of Mbit/s)."""

    kind = "video"

    def __init__(self, patch: tuple[int, int] = (112, 84)) -> None:
        super().__init__()
        from aiortc.mediastreams import VideoStreamTrack

        self._clock = VideoStreamTrack()
        self._patch = patch

    async def recv(self) -> av.VideoFrame:  # type: ignore[override]
        pts, time_base = await self._clock.next_timestamp()
        frame = av.VideoFrame(640, 480, "yuv420p")
        luma, *chroma = frame.planes
        stride, (w, h) = luma.line_size, self._patch
        data = bytearray(b"\x80" * (stride * luma.height))
        for row in range(h):
            data[row * stride : row * stride + w] = os.urandom(w)
        luma.update(bytes(data))
        for plane in chroma:
            plane.update(b"\x80" * plane.buffer_size)
        frame.pts = pts
        frame.time_base = time_base
        return frame


async def viewer() -> None:
    """The client namespace's side: offer on stdout, answer from stdin, sizes on stdout."""
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    tasks: list[asyncio.Task[None]] = []

    async def read(track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            assert isinstance(frame, av.VideoFrame)
            print(json.dumps({"size": [frame.width, frame.height], "t": time.monotonic()}))
            sys.stdout.flush()

    pc.on("track", lambda track: tasks.append(asyncio.ensure_future(read(track))))
    await pc.setLocalDescription(await pc.createOffer())
    print(json.dumps({"offer": pc.localDescription.sdp}), flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    answer = json.loads(line)["answer"]
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # until EOF
    await pc.close()


async def server(client_ns: str, dev: str, plan: list[tuple[float, str]]) -> None:
    """The server namespace's side; ``plan``: (seconds from the viewer's first picture,
    "shape" | "lift") steps."""
    from bench.netns import use_namespace_candidates
    from live_server.media.clock import MediaClock
    from live_server.media.sfu import Sfu
    from support.aiortc_simulcast_host import SimulcastHost

    use_namespace_candidates()
    sfu = Sfu(MediaClock(), publisher_timeout_s=120)
    host = SimulcastHost()
    host.high = NoisyTrack()  # type: ignore[assignment]
    host.transceiver.sender.replaceTrack(host.high)

    async def answer(offer: str) -> str:
        _, sdp = await sfu.publish(SESSION, offer)
        return sdp

    await host.publish(answer)
    while not sfu.clock.is_running(SESSION):
        await asyncio.sleep(0.05)
    child = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", client_ns, sys.executable, "-m", "support.shaped_layers", "viewer",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
    )  # fmt: skip
    assert child.stdout is not None and child.stdin is not None
    offer = json.loads(await child.stdout.readline())["offer"]
    viewer_id, sdp = await sfu.subscribe(SESSION, offer)
    child.stdin.write((json.dumps({"answer": sdp}) + "\n").encode())
    await child.stdin.drain()
    room: Any = sfu.room(SESSION)
    steps = list(plan)
    seen: dict[str, Any] = {"size": None, "frames": 0}

    async def pictures() -> None:
        assert child.stdout is not None
        while line := await child.stdout.readline():
            seen["size"] = json.loads(line)["size"]
            seen["frames"] += 1

    counts: dict[str, Any] = {"nacked": 0, "asks": {}}
    ingest = room.layers.ingest
    ask = ingest.request_keyframe

    def counted_ask(rid: str) -> None:
        counts["asks"][rid] = counts["asks"].get(rid, 0) + 1
        ask(rid)

    for rid, hub in room.layers.hubs.items():  # the layer hubs' keyframe requests
        hub._on_keyframe_needed = functools.partial(counted_ask, rid)
    hooked: set[str] = set()

    reader = asyncio.ensure_future(pictures())
    while not seen["frames"]:
        await asyncio.sleep(0.05)
    start = time.monotonic()
    try:
        while steps:
            await asyncio.sleep(0.5)
            now = time.monotonic()
            action = take_due_step(steps, now - start, dev)
            if action is not None:
                print(json.dumps({"t": now - start, "action": action}), flush=True)
            entry = room.layers.viewers.get(viewer_id) if room.layers else None
            if entry is not None and viewer_id not in hooked:
                hooked.add(viewer_id)
                on_nack = entry.meter.on_nack

                def counted_nack(packets: int, now: float, on_nack: Any = on_nack) -> None:
                    counts["nacked"] += packets
                    on_nack(packets, now)

                entry.meter.on_nack = counted_nack  # type: ignore[method-assign]
            feedback = entry.meter.feedback(now) if entry else None
            print(json.dumps({
                "t": now - start, "layer": entry.layer if entry else None,
                "size": seen["size"], "frames": seen["frames"],
                "rates": {r.rid: round(r.bitrate_bps) for r in room.layers.rates(now)},
                "remb": feedback.remb_bps if feedback else None,
                "loss": feedback.fraction_lost if feedback else None,
                "sent": [entry.track.delivered, entry.track.dropped, entry.track.overflows,
                         entry.track.fast.backlog if entry.track.fast else None] if entry else None,
                "probe": entry.chooser.probe.rid if entry and entry.chooser.probe else None,
                "padded": entry.track.fast.padded if entry and entry.track.fast else None,
                "rtx": entry.track.fast.retransmitted if entry and entry.track.fast else None,
                "nacked": counts["nacked"], "keyframe_asks": counts["asks"],
            }), flush=True)  # fmt: skip
        reader.cancel()
    finally:
        child.stdin.close()
        await asyncio.wait_for(child.wait(), timeout=10)
        await host.close()
        await sfu.close()


def main() -> None:
    prepare_process()
    if sys.argv[1] == "viewer":
        from bench.netns import use_namespace_candidates

        use_namespace_candidates()
        asyncio.run(viewer())
    else:
        plan = [(float(t), action) for t, action in json.loads(sys.argv[4])]
        asyncio.run(server(sys.argv[2], sys.argv[3], plan))


if __name__ == "__main__":
    main()
