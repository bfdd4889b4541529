"""VP8 picture IDs stay continuous for a viewer that moves between simulcast layers.

Each layer's hub packetises with its own aiortc VP8 packetiser, whose picture IDs start at
random; libwebrtc reads a jump in them as lost pictures. The send state shifts them per
viewer (``pid_shift``, native loop and Python twin alike) and ``ViewerTrack`` sets the shift
at a switch, like its timestamp shift. Real send states, real SRTP, real sockets.
"""

from __future__ import annotations

import asyncio
import fractions
import os
import socket
from typing import Any

import av
import pytest
from aiortc.codecs.vpx import VpxPayloadDescriptor
from aiortc.rtp import RtpPacket

from live_server.media import native
from live_server.media.aiortc import sendloop
from live_server.media.aiortc.fastpath import SharedPacketizer
from live_server.media.fanout import FanoutHub
from support.send_states import (
    BACKENDS,
    FANOUT,
    PROFILES,
    counters,
    receive,
    srtp_session,
    udp_pair,
    udp_send_state,
)


def _vp8(picture_id: int, start: bool, body: bytes) -> bytes:
    descriptor = VpxPayloadDescriptor(partition_start=int(start), partition_id=0)
    descriptor.picture_id = picture_id
    return bytes(descriptor) + body


def _picture_id(payload: bytes) -> int | None:
    return VpxPayloadDescriptor.parse(payload)[0].picture_id


def test_picture_ids_are_read_and_shifted_only_in_a_vp8_descriptor() -> None:
    payload = _vp8(32760, True, b"frame")
    assert sendloop.picture_id(payload) == 32760
    shifted = sendloop.shift_picture_id(payload, 10)
    assert _picture_id(shifted) == 2 and shifted[4:] == b"frame"  # wraps at 2^15
    assert sendloop.shift_picture_id(payload, 0) is payload
    h264 = bytes([0x65, 0x88, 0x84, 0x00]) + b"idr"  # a NAL header's top bit is always 0
    assert sendloop.picture_id(h264) is None and sendloop.shift_picture_id(h264, 5) == h264
    no_id = bytes([0x10]) + b"frame"  # VP8 without the extension octet
    assert sendloop.shift_picture_id(no_id, 5) == no_id
    assert sendloop.picture_id(payload[:3]) is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_picture_id_shift_applies_from_the_next_frame_and_the_history_keeps_its_own(
    backend: str,
) -> None:
    module: Any = FANOUT if backend == "native" else sendloop
    assert module is not None
    state, key, tx, rx = udp_send_state(module, ssrc=9, seq=10, ts_origin=0)
    first = [_vp8(700, True, os.urandom(1000)), _vp8(700, False, os.urandom(300))]
    assert module.send_frame(first, 3000, 0, [state]) == bytes([sendloop.SENT])
    state.pid_shift = 1 - 701  # the next picture, 701, goes out as 1 (modulo 2^15)
    assert state.pid_shift == 32068
    other = bytes([0x10]) + os.urandom(40)  # no picture ID in it: untouched
    second = [_vp8(701, True, os.urandom(500)), other]
    assert module.send_frame(second, 6000, 0, [state]) == bytes([sendloop.SENT])
    receiver = srtp_session(PROFILES["aead_aes_128_gcm"][0], key, outbound=False)
    packets = [RtpPacket.parse(receiver.unprotect(d)) for d in receive(rx, 4)]
    assert [p.sequence_number for p in packets] == [10, 11, 12, 13]
    assert [_picture_id(p.payload) for p in packets[:3]] == [700, 700, 1]
    assert packets[0].payload == first[0] and packets[1].payload == first[1]
    assert packets[2].payload[4:] == second[0][4:] and packets[3].payload == other
    # a NACK is answered with what went out, each packet with its own shift
    assert state.entry(10)[3] == first[0]
    assert state.entry(12)[3] == packets[2].payload
    assert state.entry(13)[3] == other
    state.close()
    tx.close()
    rx.close()


class ShiftingSender:
    """A fast sender (as ``ViewerTrack`` uses it) over a real send state on a socket."""

    def __init__(self, module: Any, tx: socket.socket, port: int, key: bytes) -> None:
        session = srtp_session(PROFILES["aead_aes_128_gcm"][0], key, outbound=True)
        header = RtpPacket(payload_type=96, ssrc=3).serialize()
        self.state = module.SendState(
            header, -1, 96, 100, 0, session, native.srtp_address(session), *counters()
        )
        self.state.set_destination(tx.fileno(), "127.0.0.1", port)
        self._session = session
        self.backlog = 0
        self.send_batch = module.send_frame

    def batch_state(self) -> Any:
        return self.state

    def send_frame(self, payloads: list[bytes], timestamp: int) -> int:
        return int(self.send_batch(payloads, timestamp, 0, [self.state])[0])

    def shift_timestamps(self, ticks: int) -> None:
        self.state.ts_origin = (self.state.ts_origin + ticks) & 0xFFFFFFFF

    def shift_picture_ids(self, step: int) -> None:
        self.state.pid_shift = (self.state.pid_shift + step) & 0x7FFF

    def detach(self) -> None:
        self.state.close()


def _hub(first_picture_id: int) -> FanoutHub:
    hub = FanoutHub("video", 90000, lambda: None)
    hub.codec_name = "VP8"
    hub._packetizer = SharedPacketizer("video", "VP8", 90000)
    hub._packetizer._encoder.picture_id = first_picture_id  # type: ignore[attr-defined]
    return hub


def _frame(i: int, keyframe: bool) -> av.Packet:
    # a VP8 frame tag: bit 0 clear for a keyframe
    packet = av.Packet(bytes([0x10 if keyframe else 0x11]) + os.urandom(1500))
    packet.pts = i * 3000
    packet.time_base = fractions.Fraction(1, 90000)
    return packet


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_viewer_moving_layers_sees_picture_ids_go_on_by_one(backend: str) -> None:
    module: Any = FANOUT if backend == "native" else sendloop
    assert module is not None
    high, low = _hub(32766), _hub(9000)  # far apart, and the high one wraps meanwhile
    tx, rx = udp_pair()
    key = os.urandom(PROFILES["aead_aes_128_gcm"][1])
    fake = ShiftingSender(module, tx, rx.getsockname()[1], key)
    track = high.new_track("v1")
    track.use_fast_path(lambda: fake)  # type: ignore[arg-type,return-value]
    task = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0)
    assert track.fast is not None
    for i in range(4):  # the high layer: ids 32766, 32767, 0, 1
        high.dispatch(_frame(i, i == 0), keyframe=i == 0)
    track.move_to(low)
    low.dispatch(_frame(4, False), keyframe=False)  # not its keyframe yet: still high
    high.dispatch(_frame(4, False), keyframe=False)  # id 2
    low.dispatch(_frame(5, True), keyframe=True)  # the switch: low's id 9000 becomes 3
    high.dispatch(_frame(5, False), keyframe=False)
    low.dispatch(_frame(6, False), keyframe=False)
    track.move_to(high)
    high.dispatch(_frame(7, True), keyframe=True)  # back: high's id 3 becomes 5
    assert track.switches == 2 and track.delivered == 8
    receiver = srtp_session(PROFILES["aead_aes_128_gcm"][0], key, outbound=False)
    packets = [RtpPacket.parse(receiver.unprotect(d)) for d in receive(rx, 16)]
    firsts = [p for p in packets if VpxPayloadDescriptor.parse(p.payload)[0].partition_start]
    assert len(firsts) == 8
    ids = [_picture_id(p.payload) for p in firsts]
    assert ids == [32766, 32767, 0, 1, 2, 3, 4, 5]
    assert [p.sequence_number for p in packets] == list(range(100, 116))
    track.stop()
    await asyncio.gather(task, return_exceptions=True)
    tx.close()
    rx.close()
