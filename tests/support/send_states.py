"""Real send states on real sockets for the fan-out loop tests: the native loop's and its
Python twin's, SRTP sessions as aiortc's DTLS transport makes them, UDP pairs on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import time
from types import SimpleNamespace
from typing import Any

import pytest
from aiortc.rtp import RtpPacket
from pylibsrtp import Policy, Session

from live_server.media import native

FANOUT = native.backend()
# in CI the extension is built by `pip install -e .`: a missing one fails there, not skips
needs_native = pytest.mark.skipif(
    FANOUT is None and not os.environ.get("CI"),
    reason=f"native fan-out not built here: {native.unavailable_reason()}",
)
BACKENDS = [pytest.param("native", marks=needs_native), "python"]

PROFILES = {
    "aes128_cm_sha1_80": (Policy.SRTP_PROFILE_AES128_CM_SHA1_80, 30),
    "aead_aes_128_gcm": (Policy.SRTP_PROFILE_AEAD_AES_128_GCM, 28),
    "aead_aes_256_gcm": (Policy.SRTP_PROFILE_AEAD_AES_256_GCM, 44),
}


def srtp_session(profile: int, key: bytes, outbound: bool) -> Session:
    """What aiortc's ``RTCDtlsTransport._setup_srtp`` builds."""
    policy = Policy(
        key=key,
        ssrc_type=Policy.SSRC_ANY_OUTBOUND if outbound else Policy.SSRC_ANY_INBOUND,
        srtp_profile=profile,
    )
    policy.allow_repeat_tx = True
    policy.window_size = 1024
    return Session(policy)


def counters() -> tuple[Any, Any]:
    """Stand-ins for the aiortc sender and DTLS transport: the counters the loop updates."""
    names = ("ntp_timestamp", "rtp_timestamp", "octet_count", "packet_count")
    sender = SimpleNamespace(**{f"_RTCRtpSender__{n}": 0 for n in names})
    dtls = SimpleNamespace(_RTCDtlsTransport__tx_bytes=0, _RTCDtlsTransport__tx_packets=0)
    return sender, dtls


def udp_pair() -> tuple[socket.socket, socket.socket]:
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.bind(("127.0.0.1", 0))
    tx.setblocking(False)
    return tx, rx


def receive(rx: socket.socket, count: int, timeout: float = 5.0) -> list[bytes]:
    rx.settimeout(0.2)
    out: list[bytes] = []
    deadline = time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        try:
            out.append(rx.recv(65536))
        except TimeoutError:
            continue
    return out


def udp_send_state(
    module: Any, ssrc: int, seq: int, ts_origin: int, payload_type: int = 96
) -> tuple[Any, bytes, socket.socket, socket.socket]:
    """A send state of ``module`` (the native loop's or the Python twin's) with an AES-GCM
    SRTP session, sending to a UDP socket on 127.0.0.1: (state, key, sender, receiver)."""
    profile, key_len = PROFILES["aead_aes_128_gcm"]
    key = os.urandom(key_len)
    session = srtp_session(profile, key, outbound=True)
    tx, rx = udp_pair()
    header = RtpPacket(payload_type=payload_type, ssrc=ssrc).serialize()
    state = module.SendState(
        header, -1, payload_type, seq, ts_origin, session, native.srtp_address(session),
        *counters(),
    )  # fmt: skip
    state.set_destination(tx.fileno(), "127.0.0.1", rx.getsockname()[1])
    return state, key, tx, rx
