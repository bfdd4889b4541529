"""Every hook into aiortc 1.16 internals, in one place.

aiortc has no public API for three things the SFU needs:

1. Receiving the publisher's *encoded* frames. The receiver hands each
   reassembled ``JitterFrame`` to a decoder obtained from the module global
   ``aiortc.rtcrtpreceiver.get_decoder``. We replace that global with a
   dispatcher that returns a pass-through "decoder" (turning the frame into an
   ``av.Packet``) for codecs we marked, and the stock decoder otherwise. A marked
   receiver's jitter buffer is also swapped (``aiortc/ingest.py``) so each frame is
   handed on the moment it is complete, never held for the next frame's first packet.
   A simulcast host's video is demultiplexed by rid into one such receiver per layer
   (``aiortc/simulcast.py``, checked by its ``verify_simulcast()``).
2. Asking the publisher for a keyframe: ``RTCRtpReceiver._send_rtcp_pli``.
3. Seeing a viewer's PLI/FIR: in pack mode ``RTCRtpSender._send_keyframe`` only
   flags an encoder that is never used, so we override it per sender instance.
4. Cost: every RTP packet a sender emits reads the NTP clock twice through
   ``aiortc.clock.current_ntp_time``, which goes through ``datetime`` (about 4 us a
   call). It is replaced by the same value computed from ``time.time()`` (0.8 us).

5. Sending: ``live_server/media/aiortc/fastpath.py`` holds the fast send path for
   forwarded frames (shared packetisation, per-viewer RTP headers, SRTP protect and
   ``sendto`` in one synchronous loop) and every sender/DTLS/ICE internal it touches.
6. Loopback ICE (tests and benchmarks, setting ``ice_loopback``): aioice's
   ``get_host_addresses`` skips 127.0.0.1, so peers on one machine pair up over the
   machine's interface address. ``use_loopback_candidates()`` replaces that module
   global (``Connection.gather_candidates`` looks it up at call time) with one that
   returns only 127.0.0.1, and wraps ``Connection.request_received`` so connectivity
   checks from non-loopback addresses go unanswered: Chromium otherwise pairs its
   interface address with our 127.0.0.1 candidate (it ranks loopback below networks
   without a "network cost"). Process-wide and never undone: call it at start-up.
7. Hearing a viewer: aiortc reports no "last packet received" per connection, and aioice's
   consent freshness only gives up after 30 s of silence. ``track_remote_activity(pc)``
   shadows, on each of the connection's aioice ``Connection`` instances, the two methods
   its ``StunProtocol`` hands every incoming datagram to (``data_received`` for DTLS,
   SRTP and SRTCP; ``request_received`` for the peer's STUN checks), to stamp the time.

Sending pre-encoded packets *is* public behaviour (a track's ``recv()`` may
return an ``av.Packet``). ``verify_hooks()`` fails loudly when an upgrade
removes one of these points (including the fast path's, via
``aiortc_fastpath.verify_fastpath()``); ``tests/unit/test_media_hooks.py`` calls it.
"""

from __future__ import annotations

import fractions
import inspect
import ipaddress
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from aioice import Connection as _IceConnection
from aioice import ice as _aioice_module
from aiortc import (
    RTCIceTransport,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
)
from aiortc import clock as _clock_module
from aiortc import rtcrtpreceiver as _receiver_module
from aiortc.codecs import get_decoder as _stock_get_decoder
from aiortc.codecs.base import Decoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from live_server.media.aiortc.fastpath import verify_fastpath
from live_server.media.aiortc.feedback import verify_feedback
from live_server.media.aiortc.ingest import encoded_packet, forward_complete_frames, verify_ingest
from live_server.media.aiortc.ntp import fast_ntp_time
from live_server.media.aiortc.simulcast import verify_simulcast
from live_server.media.aiortc.twcc import verify_twcc

logger = logging.getLogger(__name__)

AIORTC_VERSION = "1.16.0"
AIOICE_VERSION = "0.13.0"
LOOPBACK_IPV4 = "127.0.0.1"
_MARK = "_liveshop_passthrough"
_install_lock = threading.Lock()
_installed = False
# kept at import so the canary checks aioice's own functions even after the swap
_stock_get_host_addresses: Callable[[bool, bool], list[str]] | None = getattr(
    _aioice_module, "get_host_addresses", None
)
_stock_request_received: Callable[..., None] | None = getattr(
    _IceConnection, "request_received", None
)


class HookUnavailable(RuntimeError):
    """An aiortc internal the SFU relies on is missing (aiortc was upgraded?)."""


class PassthroughDecoder(Decoder):
    """A "decoder" that hands the reassembled encoded frame on as an ``av.Packet``."""

    def __init__(self, clock_rate: int) -> None:
        self._time_base = fractions.Fraction(1, clock_rate)

    def decode(self, encoded_frame: JitterFrame) -> list[Any]:
        """Wrap the frame's bytes in a packet stamped with its RTP timestamp."""
        return [encoded_packet(encoded_frame.data, encoded_frame.timestamp, self._time_base)]


def _dispatching_get_decoder(codec: RTCRtpCodecParameters) -> Decoder:
    if getattr(codec, _MARK, False):
        return PassthroughDecoder(codec.clockRate)
    return _stock_get_decoder(codec)


def verify_hooks() -> None:
    """Raise ``HookUnavailable`` unless every internal we use exists as expected."""
    problems: list[str] = []
    if not callable(getattr(_receiver_module, "get_decoder", None)):
        problems.append("aiortc.rtcrtpreceiver.get_decoder is gone")
    if not callable(getattr(_receiver_module, "decoder_worker", None)):
        problems.append("aiortc.rtcrtpreceiver.decoder_worker is gone")
    if not callable(getattr(RTCRtpReceiver, "_send_rtcp_pli", None)):
        problems.append("RTCRtpReceiver._send_rtcp_pli is gone")
    if not callable(getattr(RTCRtpSender, "_send_keyframe", None)):
        problems.append("RTCRtpSender._send_keyframe is gone")
    if not hasattr(RTCRtpTransceiver, "_codecs") and not _has_init_attr(
        RTCRtpTransceiver, "_codecs"
    ):
        problems.append("RTCRtpTransceiver._codecs is gone")
    if not callable(getattr(_clock_module, "current_ntp_time", None)):
        problems.append("aiortc.clock.current_ntp_time is gone")
    if not callable(getattr(JitterFrame, "__init__", None)):
        problems.append("aiortc.jitterbuffer.JitterFrame is gone")
    problems += _loopback_hook_problems()
    problems += _activity_hook_problems()

    problems += verify_fastpath()
    problems += verify_ingest()
    problems += verify_simulcast()
    problems += verify_feedback()
    problems += verify_twcc()
    if problems:
        raise HookUnavailable(
            f"aiortc/aioice internals changed (expected aiortc {AIORTC_VERSION}, "
            f"aioice {AIOICE_VERSION}): " + "; ".join(problems)
        )


def _loopback_hook_problems() -> list[str]:
    problems: list[str] = []
    stock = getattr(_aioice_module, "get_host_addresses", None)
    if stock is loopback_host_addresses:  # ours is in place: check aioice's own
        stock = _stock_get_host_addresses
    if stock is None or not callable(stock):
        problems.append("aioice.ice.get_host_addresses is gone")
    else:
        params = list(inspect.signature(stock).parameters)
        if params != ["use_ipv4", "use_ipv6"]:
            problems.append(
                f"aioice.ice.get_host_addresses takes {params}, not (use_ipv4, use_ipv6)"
            )
    # the hook only works while gathering reads the module global at call time
    gather = getattr(_IceConnection, "gather_candidates", None)
    if "get_host_addresses" not in getattr(getattr(gather, "__code__", None), "co_names", ()):
        problems.append("aioice Connection.gather_candidates no longer calls get_host_addresses")
    received = getattr(_IceConnection, "request_received", None)
    if received is _loopback_request_received:
        received = _stock_request_received
    if received is None or not callable(received):
        problems.append("aioice Connection.request_received is gone")
    elif list(inspect.signature(received).parameters) != ["self", "message", "addr", "protocol"]:
        problems.append("aioice Connection.request_received changed its parameters")
    # every incoming STUN request reaches the connection through that attribute
    handler = getattr(getattr(_aioice_module, "StunProtocol", None), "datagram_received", None)
    if "request_received" not in getattr(getattr(handler, "__code__", None), "co_names", ()):
        problems.append("aioice StunProtocol.datagram_received no longer calls request_received")
    return problems


def _activity_hook_problems() -> list[str]:
    problems: list[str] = []
    handler = getattr(getattr(_aioice_module, "StunProtocol", None), "datagram_received", None)
    names = set(getattr(getattr(handler, "__code__", None), "co_names", ()))
    # every datagram reaches the connection as self.receiver.<method>(...): an instance
    # attribute of that name is what gets called
    if not {"receiver", "data_received", "request_received"} <= names:
        problems.append(
            "aioice StunProtocol.datagram_received no longer hands datagrams to"
            " receiver.data_received / receiver.request_received"
        )
    data_received = getattr(_IceConnection, "data_received", None)
    if data_received is None or not callable(data_received):
        problems.append("aioice Connection.data_received is gone")
    elif list(inspect.signature(data_received).parameters) != ["self", "data", "component"]:
        problems.append("aioice Connection.data_received changed its parameters")
    if "__slots__" in vars(_IceConnection):
        problems.append("aioice Connection has __slots__: its methods cannot be shadowed")
    return problems


def _has_init_attr(cls: type, name: str) -> bool:
    init = cls.__dict__.get("__init__")
    code = getattr(init, "__code__", None)
    return code is not None and name in code.co_names


def install() -> None:
    """Install the process-wide decoder dispatcher (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        verify_hooks()
        _receiver_module.get_decoder = _dispatching_get_decoder  # type: ignore[attr-defined]
        _clock_module.current_ntp_time = fast_ntp_time
        _installed = True
        logger.info("aiortc %s hooks installed (pass-through receive)", AIORTC_VERSION)


def loopback_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    """``aioice.ice.get_host_addresses`` for loopback-only ICE: 127.0.0.1 and nothing else.

    IPv6 loopback is left out on purpose: one host candidate per component keeps every
    pair on the single address tests and benchmarks assert on.
    """
    return [LOOPBACK_IPV4] if use_ipv4 else []


def _loopback_request_received(
    self: _IceConnection, message: Any, addr: tuple[str, int], protocol: Any
) -> None:
    """``Connection.request_received`` that leaves checks from non-loopback sources unanswered.

    A peer's pair from its interface address to our 127.0.0.1 candidate then never becomes
    usable, so the pair it nominates is 127.0.0.1 at both ends.
    """
    if not ipaddress.ip_address(addr[0]).is_loopback:
        logger.debug("ice_loopback: check from %s:%d left unanswered", addr[0], addr[1])
        return
    assert _stock_request_received is not None  # checked by use_loopback_candidates()
    _stock_request_received(self, message, addr, protocol)


def use_loopback_candidates() -> None:
    """Make every ICE agent in this process use 127.0.0.1 and nothing else.

    For tests and benchmarks (setting ``ice_loopback``): host candidates are 127.0.0.1
    only and connectivity checks from other addresses go unanswered, so traffic between
    peers on one machine stays on loopback instead of the interface address. Process-wide
    (server and client peers alike) and idempotent. Raises ``HookUnavailable`` when the
    aioice internals it replaces changed.
    """
    with _install_lock:
        if loopback_candidates_in_use():
            return
        problems = _loopback_hook_problems()
        if problems:
            raise HookUnavailable(
                f"aioice internals changed (expected aioice {AIOICE_VERSION}): "
                + "; ".join(problems)
            )
        _aioice_module.get_host_addresses = loopback_host_addresses
        _IceConnection.request_received = _loopback_request_received  # type: ignore[method-assign]
        logger.info("aioice %s hooks installed: ICE on 127.0.0.1 only", AIOICE_VERSION)


def loopback_candidates_in_use() -> bool:
    """True when ``use_loopback_candidates()`` is in effect."""
    return (
        _aioice_module.get_host_addresses is loopback_host_addresses
        and getattr(_IceConnection, "request_received", None) is _loopback_request_received
    )


def selected_pair_addresses(
    transport: RTCIceTransport,
) -> tuple[tuple[str, int], tuple[str, int]] | None:
    """The (local, remote) addresses of the ICE pair nominated for RTP, or None yet.

    aiortc exposes no selected candidate pair; aioice keeps it per component (the
    fast path's ``verify_fastpath()`` checks ``_connection`` and ``_nominated``).
    """
    pair = transport._connection._nominated.get(1)
    if pair is None:
        return None
    return pair.local_addr, pair.remote_addr


class RemoteActivity:
    """When the remote end of one peer connection was last heard from (monotonic time)."""

    __slots__ = ("last_heard",)

    def __init__(self) -> None:
        self.last_heard = time.monotonic()

    def silent_for(self, now: float) -> float:
        """Seconds since the last datagram from the remote end."""
        return now - self.last_heard


def track_remote_activity(pc: RTCPeerConnection) -> RemoteActivity:
    """Stamp every datagram the remote end of ``pc`` sends (STUN, DTLS, SRTP, SRTCP).

    Call it once the answer is applied (bundling has then settled which ICE transports
    the connection uses). The shadowing methods call the ones they replace, so aioice
    and aiortc see every datagram as before.
    """
    activity = RemoteActivity()
    transports = [
        dtls
        for transceiver in pc.getTransceivers()
        for dtls in (transceiver.sender.transport, transceiver.receiver.transport)
    ]
    if pc.sctp is not None:
        transports.append(pc.sctp.transport)
    seen: set[int] = set()
    for dtls in transports:
        if dtls is None:
            continue
        connection = dtls.transport._connection
        if id(connection) not in seen:
            seen.add(id(connection))
            _stamp_datagrams(connection, activity)
    return activity


def _stamp_datagrams(connection: _IceConnection, activity: RemoteActivity) -> None:
    data_received = connection.data_received
    request_received = connection.request_received
    clock = time.monotonic

    def on_data(data: bytes, component: int) -> None:
        activity.last_heard = clock()
        data_received(data, component)

    def on_request(message: Any, addr: tuple[str, int], protocol: Any) -> None:
        activity.last_heard = clock()
        request_received(message, addr, protocol)

    connection.data_received = on_data  # type: ignore[method-assign]
    connection.request_received = on_request  # type: ignore[method-assign]


def is_installed() -> bool:
    """True when the decoder dispatcher is in place."""
    return _receiver_module.get_decoder is _dispatching_get_decoder  # type: ignore[attr-defined]


def mark_passthrough(transceiver: RTCRtpTransceiver) -> None:
    """Make this transceiver's receiver deliver encoded ``av.Packet`` frames.

    Must be called after ``setRemoteDescription`` (which fixes the transceiver's codec
    list, deep copies private to this connection, and gives the receiver its track) and
    before the connection starts receiving. The receiver then hands each frame on the
    moment it is complete (``aiortc/ingest.py``: marker bit, no gap); the marked codecs
    make the decoder dispatcher pick ``PassthroughDecoder`` for a receiver without a
    track (its frames then go through aiortc's own buffer and decoder thread).
    """
    codecs: list[RTCRtpCodecParameters] = transceiver._codecs
    for codec in codecs:
        setattr(codec, _MARK, True)
    forward_complete_frames(transceiver.receiver, codecs)


def negotiated_codecs(transceiver: RTCRtpTransceiver) -> list[RTCRtpCodecParameters]:
    """The codecs a transceiver negotiated (first one is the one in use)."""
    return list(transceiver._codecs)


async def request_keyframe(receiver: RTCRtpReceiver, ssrc: int) -> None:
    """Send an RTCP PLI for ``ssrc`` to the publisher behind ``receiver``."""
    await receiver._send_rtcp_pli(ssrc)


def on_viewer_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call ``callback`` when the viewer behind ``sender`` sends a PLI or FIR.

    In pack mode aiortc's own handling only flags an unused encoder; the
    instance attribute shadows the method for this sender only.
    """
    sender._send_keyframe = callback  # type: ignore[method-assign]


def keep_first_codec(transceiver: RTCRtpTransceiver) -> RTCRtpCodecParameters | None:
    """Narrow a just-negotiated transceiver to its first codec (plus its RTX).

    The answer then offers the publisher exactly one codec, so the SFU knows what
    it will forward before the first packet. Returns that codec, or None.
    """
    codecs: list[RTCRtpCodecParameters] = transceiver._codecs
    primary = next((c for c in codecs if c.name.lower() != "rtx"), None)
    if primary is None:
        return None
    transceiver._codecs = [
        c
        for c in codecs
        if c is primary
        or (c.name.lower() == "rtx" and c.parameters.get("apt") == primary.payloadType)
    ]
    return primary
