"""The native fan-out loop (live_server/media/native/_fanout.c) against its Python twin
(live_server/media/aiortc/sendloop.py): same input, same packets, on real sockets.

Both send to real UDP sockets on 127.0.0.1; a receiving pylibsrtp Session made from the same
keys decrypts what arrived. SRTP is deterministic for a given key, SSRC and packet index, so
the protected datagrams must be identical too.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import pytest
from aiortc import RTCPeerConnection
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import RtpPacket

from live_server.media import native
from live_server.media.aiortc import fastpath, sendloop
from support.send_states import (
    BACKENDS,
    FANOUT,
    PROFILES,
    counters,
    needs_native,
    receive,
    srtp_session,
    udp_pair,
    udp_send_state,
)

_fanout = FANOUT
SSRC = 0x1234ABCD


async def _template(abs_send_time: bool) -> tuple[bytearray, int, Any]:
    pc = RTCPeerConnection()
    sender = pc.addTransceiver("video", direction="sendonly").sender
    extensions = [RTCRtpHeaderExtensionParameters(id=4, uri="urn:ietf:params:rtp-hdrext:sdes:mid")]
    if abs_send_time:
        extensions.append(
            RTCRtpHeaderExtensionParameters(
                id=3, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
            )
        )
    ext_map = sender._RTCRtpSender__rtp_header_extensions_map
    ext_map.configure(RTCRtpParameters(headerExtensions=extensions))
    header, abs_at = fastpath._header_template(sender, 96, SSRC, "1")
    await pc.close()
    return header, abs_at, ext_map


def _frames() -> list[tuple[list[bytes], int, int]]:
    """(payloads, rtp timestamp, ntp) of a few frames: single packets, equal-sized runs
    ending in a shorter one (a GSO send), a run longer than one GSO message, odd sizes."""
    rnd = os.urandom
    ntp0 = 0xE8000000_12345678
    return [
        ([rnd(1200)] * 3 + [rnd(400)], 0, ntp0),
        ([rnd(90)], 960, ntp0 + (1 << 30)),
        ([rnd(1100) for _ in range(70)] + [rnd(7)], 3000, ntp0 + (1 << 31)),
        ([rnd(1200), rnd(1000), rnd(1200)], 2**32 - 1000, ntp0 + (3 << 30)),
        ([rnd(1)], 6000, ntp0 + (1 << 32)),
        ([rnd(1250) for _ in range(60)], 9000, ntp0 + (5 << 30)),  # history wraps (128)
    ]


@needs_native
@pytest.mark.parametrize("profile_name", sorted(PROFILES))
@pytest.mark.parametrize("abs_send_time", [True, False])
async def test_native_packets_are_the_python_loops_packet_for_packet(
    profile_name: str, abs_send_time: bool
) -> None:
    assert _fanout is not None, native.unavailable_reason()
    profile, key_len = PROFILES[profile_name]
    key = os.urandom(key_len)
    header, abs_at, ext_map = await _template(abs_send_time)
    frames = _frames()
    total = sum(len(p) for p, _, _ in frames)
    results = {}
    for name, module in (("native", _fanout), ("python", sendloop)):
        session = srtp_session(profile, key, outbound=True)
        sender, dtls = counters()
        tx, rx = udp_pair()
        state = module.SendState(
            bytes(header), abs_at, 96, 65530, 0x0F0F0F0F, session,
            native.srtp_address(session), sender, dtls,
        )  # fmt: skip
        state.set_destination(tx.fileno(), "127.0.0.1", rx.getsockname()[1])
        statuses = [module.send_frame(p, ts, ntp, [state]) for p, ts, ntp in frames]
        assert statuses == [bytes([sendloop.SENT])] * len(frames)
        wire = receive(rx, total)
        assert len(wire) == total
        receiver = srtp_session(profile, key, outbound=False)
        plain = [receiver.unprotect(d) for d in wire]
        results[name] = (wire, plain, state, sender, dtls)
        tx.close()
        rx.close()
    n_wire, n_plain, n_state, n_sender, n_dtls = results["native"]
    p_wire, p_plain, p_state, p_sender, p_dtls = results["python"]
    assert n_plain == p_plain
    assert n_wire == p_wire  # same key, SSRC and index: same ciphertext
    # what aiortc's own serialiser makes of the same packets
    seq = 65530
    i = 0
    for payloads, ts, ntp in frames:
        for k, payload in enumerate(payloads):
            packet = RtpPacket.parse(n_plain[i], ext_map)
            assert (packet.sequence_number, packet.timestamp) == (
                seq & 0xFFFF,
                (0x0F0F0F0F + ts) & 0xFFFFFFFF,
            )
            assert packet.marker == (k == len(payloads) - 1) and packet.ssrc == SSRC
            assert packet.payload == payload and packet.extensions.mid == "1"
            if abs_at > 0:
                assert packet.extensions.abs_send_time == (ntp >> 14) & 0xFFFFFF
            seq += 1
            i += 1
    # the same state afterwards: sequence, history, counters
    assert n_state.seq == p_state.seq == (65530 + total) & 0xFFFF
    assert n_state.packets_sent == p_state.packets_sent == total
    first = max(65530, 65530 + total - sendloop.HISTORY_SIZE)
    kept = [s & 0xFFFF for s in range(first, 65530 + total)]
    assert [n_state.entry(s) for s in kept] == [p_state.entry(s) for s in kept]
    assert all(n_state.entry(s) is not None for s in kept)
    assert n_state.entry(kept[0] - 1) is None  # never sent
    last_payloads = frames[-1][0]
    assert n_state.entry((65530 + total - 1) & 0xFFFF) == (
        (65530 + total - 1) & 0xFFFF,
        (0x0F0F0F0F + frames[-1][1]) & 0xFFFFFFFF,
        0x80,
        last_payloads[-1],
    )
    assert vars(n_sender) == vars(p_sender)
    assert n_sender._RTCRtpSender__packet_count == total
    assert n_sender._RTCRtpSender__octet_count == sum(len(x) for p, _, _ in frames for x in p)
    assert n_sender._RTCRtpSender__rtp_timestamp == (0x0F0F0F0F + frames[-1][1]) & 0xFFFFFFFF
    assert n_sender._RTCRtpSender__ntp_timestamp == frames[-1][2]
    assert vars(n_dtls) == vars(p_dtls)
    assert n_dtls._RTCDtlsTransport__tx_bytes == sum(len(d) for d in n_wire)
    # equal-sized runs went out as UDP GSO sends in both
    assert n_state.gso_sends == p_state.gso_sends > 0
    n_state.close()
    p_state.close()
    assert n_state.entry(kept[-1]) is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_call_serves_many_viewers_with_their_own_ssrc_keys_and_sequence(backend: str) -> None:
    module: Any = _fanout if backend == "native" else sendloop
    assert module is not None
    profile, key_len = PROFILES["aead_aes_128_gcm"]
    viewers = []
    for v in range(5):
        key = os.urandom(key_len)
        session = srtp_session(profile, key, outbound=True)
        sender, dtls = counters()
        tx, rx = udp_pair()
        header = RtpPacket(payload_type=97, ssrc=1000 + v).serialize()
        state = module.SendState(
            header, -1, 97, 100 * v, 7 * v, session, native.srtp_address(session), sender, dtls
        )
        state.set_destination(tx.fileno(), "127.0.0.1", rx.getsockname()[1])
        viewers.append((state, key, tx, rx))
    unconnected = module.SendState(
        header, -1, 97, 0, 0, session, native.srtp_address(session), *counters()
    )
    payloads = [os.urandom(1000), os.urandom(1000), os.urandom(10)]
    states = [v[0] for v in viewers] + [unconnected]
    assert module.send_frame(payloads, 90000, 1 << 40, states) == bytes([0] * 5 + [1])
    for v, (_, key, tx, rx) in enumerate(viewers):
        receiver = srtp_session(profile, key, outbound=False)
        packets = [RtpPacket.parse(receiver.unprotect(d)) for d in receive(rx, 3)]
        assert [p.sequence_number for p in packets] == [100 * v, 100 * v + 1, 100 * v + 2]
        assert {p.ssrc for p in packets} == {1000 + v}
        assert {p.timestamp for p in packets} == {90000 + 7 * v}
        assert [p.payload for p in packets] == payloads
        tx.close()
        rx.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_timestamp_shift_keeps_the_history_for_nacks(backend: str) -> None:
    """A switch to another simulcast layer moves the timestamp origin; packets sent before
    it stay in the history with their own timestamps (a NACK for one is still answered)."""
    module: Any = _fanout if backend == "native" else sendloop
    assert module is not None
    state, key, tx, rx = udp_send_state(module, ssrc=77, seq=500, ts_origin=1000, payload_type=97)
    before = [os.urandom(900), os.urandom(20)]
    assert module.send_frame(before, 3000, 1 << 40, [state]) == bytes([0])
    state.ts_origin = (1000 + 2**32 - 90_000) & 0xFFFFFFFF  # back one second, wrapping
    assert state.ts_origin == (1000 - 90_000) % 2**32
    after = [os.urandom(50)]
    assert module.send_frame(after, 93_003, 1 << 40, [state]) == bytes([0])
    receiver = srtp_session(PROFILES["aead_aes_128_gcm"][0], key, outbound=False)
    packets = [RtpPacket.parse(receiver.unprotect(d)) for d in receive(rx, 3)]
    assert [(p.sequence_number, p.timestamp) for p in packets] == [
        (500, 4000), (501, 4000), (502, 4003)
    ]  # fmt: skip
    assert state.entry(500) == (500, 4000, 0, before[0])
    assert state.entry(501) == (501, 4000, 0x80, before[1])
    assert state.entry(502) == (502, 4003, 0x80, after[0])
    tx.close()
    rx.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_full_socket_reports_would_block(backend: str) -> None:
    # a datagram socket pair whose receiver never reads: the kernel answers EAGAIN
    # (UDP on loopback frees the sender's buffer at once, so it never blocks there)
    module: Any = _fanout if backend == "native" else sendloop
    assert module is not None
    tx, rx = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    tx.setblocking(False)
    tx.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    profile, key_len = PROFILES["aes128_cm_sha1_80"]
    session = srtp_session(profile, os.urandom(key_len), outbound=True)
    sender, dtls = counters()
    header = RtpPacket(payload_type=96, ssrc=5).serialize()
    state = module.SendState(
        header, -1, 96, 0, 0, session, native.srtp_address(session), sender, dtls
    )
    state.set_destination(tx.fileno(), "", 0)
    statuses = [module.send_frame([os.urandom(1000)] * 4, i * 3000, 0, [state]) for i in range(50)]
    assert statuses[0] == bytes([sendloop.SENT])
    assert bytes([sendloop.WOULD_BLOCK]) in statuses
    # the frame still took its sequence numbers and history (as a sent-but-lost frame)
    assert state.seq == 200 and state.entry(199) is not None
    state.close()
    tx.close()
    rx.close()


@needs_native
def test_native_check_passes_with_the_pinned_pylibsrtp() -> None:
    assert native.verify_native() == []


class StateSender:
    """A fast sender whose send state is a real one (native or Python) on a datagram socket."""

    def __init__(self, module: Any, tx: socket.socket, send_batch: Any) -> None:
        profile, key_len = PROFILES["aead_aes_128_gcm"]
        session = srtp_session(profile, os.urandom(key_len), outbound=True)
        header = RtpPacket(payload_type=96, ssrc=7).serialize()
        self.state = module.SendState(
            header, -1, 96, 0, 0, session, native.srtp_address(session), *counters()
        )
        self.state.set_destination(tx.fileno(), "", 0)
        self._session = session
        self.backlog = 0
        self.send_batch = send_batch  # shared, like a send loop's module function

    def batch_state(self) -> Any:
        return self.state

    def send_frame(self, payloads: list[bytes], timestamp: int) -> int:
        return self.send_batch(payloads, timestamp, 0, [self.state])[0]

    def detach(self) -> None:
        self.state.close()


def _drain(sock: socket.socket) -> int:
    count = 0
    while True:
        try:
            sock.recv(65536, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return count
        count += 1


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_hub_sends_each_frame_in_one_call_and_a_full_socket_drops_to_a_keyframe(
    backend: str,
) -> None:
    import asyncio
    import fractions

    import av

    from live_server.media.fanout import FanoutHub

    module: Any = _fanout if backend == "native" else sendloop
    assert module is not None
    asked: list[int] = []
    hub = FanoutHub("video", 90000, lambda: asked.append(1))
    hub.codec_name = "VP8"
    calls: list[int] = []
    pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM) for _ in range(3)]
    for tx, _ in pairs:
        tx.setblocking(False)
    pairs[2][0].setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)  # never read: fills up
    tracks = [hub.new_track(f"v{i}") for i in range(3)]

    def send_batch(payloads: list[bytes], ts: int, ntp: int, states: list[Any]) -> bytes:
        calls.append(len(states))
        result: bytes = module.send_frame(payloads, ts, ntp, states)
        return result

    senders = [StateSender(module, tx, send_batch) for tx, _ in pairs]
    tasks = []
    for track, fake in zip(tracks, senders, strict=True):
        track.use_fast_path(lambda fake=fake: fake)  # type: ignore[misc,return-value]
        tasks.append(asyncio.ensure_future(track.recv()))  # aiortc's sender loop starts
    await asyncio.sleep(0)
    assert all(t.fast is not None for t in tracks)
    received = [0, 0]
    for i in range(60):
        packet = av.Packet(bytes([0x10 if i % 30 == 0 else 0x11]) + os.urandom(3000))
        packet.pts = i * 3000
        packet.time_base = fractions.Fraction(1, 90000)
        hub.dispatch(packet, keyframe=i % 30 == 0)
        for k in range(2):
            received[k] += _drain(pairs[k][1])
    # one call per frame for all the viewers that took it
    assert len(calls) == 60 and calls[0] == 3 and min(calls) >= 2
    assert [t.delivered for t in tracks[:2]] == [60, 60]
    assert senders[0].state.packets_sent == senders[1].state.packets_sent == 60 * 3
    # (a Unix socket takes a GSO message as one datagram: at least one per frame arrived)
    assert min(received) >= 60
    # the unread viewer's socket filled: it dropped to the next keyframe and asked for one
    full = tracks[2]
    assert full.overflows >= 1 and full.dropped > 0 and asked
    assert full.delivered + full.dropped == 60
    assert 2 in calls  # frames it skipped (waiting for the keyframe) did not go to it
    for track in tracks:
        track.stop()
    await asyncio.gather(*tasks, return_exceptions=True)
    for tx, rx in pairs:
        tx.close()
        rx.close()


@needs_native
def test_a_changed_pylibsrtp_internal_keeps_the_python_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # e.g. libsrtp 3's srtp_protect(ctx, rtp, len, srtp, &srtp_len, mki): never call it
    monkeypatch.setattr(native, "PROTECT_CTYPE", "srtp_err_status_t(*)(void)")
    problems = native.verify_native()
    assert any("srtp_protect" in p for p in problems)
    monkeypatch.setattr(native, "_configured", False)
    monkeypatch.setattr(native, "_module", _fanout)
    monkeypatch.setattr(native, "_load_error", None)
    assert native.backend() is None
    assert "srtp_protect" in (native.unavailable_reason() or "")


def test_the_environment_switch_keeps_the_python_loop() -> None:
    import subprocess
    import sys

    from live_server.settings import Settings

    code = (
        "from live_server.media import native; "
        "print(native.backend() is None, native.unavailable_reason())"
    )
    env = {**os.environ, "LIVESHOP_NATIVE_FANOUT": "0"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "True" and "LIVESHOP_NATIVE_FANOUT=0" in out.stdout
    assert Settings.load(env={"LIVESHOP_NATIVE_FANOUT": "0"}).native_fanout is False
    assert Settings.load(env={}).native_fanout is True
