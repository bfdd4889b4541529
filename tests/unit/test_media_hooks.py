"""Every aiortc internal the SFU relies on: this fails loudly when an upgrade removes one."""

from __future__ import annotations

import fractions
import struct

import aiortc
import av
import pytest
from aiortc import RTCPeerConnection, rtcrtpreceiver
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from live_server.media.aiortc import fastpath as aiortc_fastpath
from live_server.media.aiortc import hooks as aiortc_hooks
from support.helpers import wait_for


def test_aiortc_is_the_pinned_version() -> None:
    assert aiortc.__version__ == aiortc_hooks.AIORTC_VERSION, (
        "aiortc changed: re-check every hook in live_server/media/aiortc/hooks.py"
    )


def test_aioice_is_the_pinned_version() -> None:
    import aioice

    assert aioice.__version__ == aiortc_hooks.AIOICE_VERSION, (
        "aioice changed: re-check the loopback hook in live_server/media/aiortc/hooks.py"
    )


def test_every_hook_point_exists() -> None:
    aiortc_hooks.verify_hooks()  # raises HookUnavailable with the list of what is gone


def test_install_replaces_the_receivers_decoder_factory() -> None:
    aiortc_hooks.install()
    assert aiortc_hooks.is_installed()
    assert rtcrtpreceiver.get_decoder is not aiortc.codecs.get_decoder


def test_marked_codecs_get_the_pass_through_decoder_and_others_the_stock_one() -> None:
    aiortc_hooks.install()
    marked = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
    plain = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
    marked._liveshop_passthrough = True  # what mark_passthrough does
    decoder = rtcrtpreceiver.get_decoder(marked)
    assert isinstance(decoder, aiortc_hooks.PassthroughDecoder)
    assert not isinstance(rtcrtpreceiver.get_decoder(plain), aiortc_hooks.PassthroughDecoder)
    (packet,) = decoder.decode(JitterFrame(b"\x10\x02\x00", 3000))
    assert isinstance(packet, av.Packet)
    assert bytes(packet) == b"\x10\x02\x00"
    assert packet.pts == 3000 and packet.time_base == fractions.Fraction(1, 90000)


def test_decoder_worker_still_calls_get_decoder_through_the_module_global() -> None:
    # the hook works because decoder_worker looks the name up in its module at call time
    code = rtcrtpreceiver.decoder_worker.__code__
    assert "get_decoder" in code.co_names


async def test_transceiver_codecs_and_keep_first_codec() -> None:
    offerer = RTCPeerConnection()
    offerer.addTransceiver("video", direction="sendonly")
    await offerer.setLocalDescription(await offerer.createOffer())
    answerer = RTCPeerConnection()
    await answerer.setRemoteDescription(offerer.localDescription)
    (transceiver,) = answerer.getTransceivers()
    assert len(aiortc_hooks.negotiated_codecs(transceiver)) > 2  # VP8, rtx, H264, rtx...
    first = aiortc_hooks.keep_first_codec(transceiver)
    assert first is not None and first.name == "VP8"
    names = [c.name for c in aiortc_hooks.negotiated_codecs(transceiver)]
    assert names == ["VP8", "rtx"]
    aiortc_hooks.mark_passthrough(transceiver)
    assert all(c._liveshop_passthrough for c in transceiver._codecs)
    # the codec objects are private to this connection (deep copies)
    assert all(
        not getattr(c, "_liveshop_passthrough", False) for c in aiortc.codecs.CODECS["video"]
    )
    await offerer.close()
    await answerer.close()


async def test_viewer_keyframe_request_override_is_per_sender() -> None:
    pc = RTCPeerConnection()
    transceiver = pc.addTransceiver("video", direction="sendonly")
    calls: list[int] = []
    aiortc_hooks.on_viewer_keyframe_request(transceiver.sender, lambda: calls.append(1))
    transceiver.sender._send_keyframe()
    assert calls == [1]
    other = pc.addTransceiver("video", direction="sendonly")
    other.sender._send_keyframe()  # untouched: stock behaviour, no callback
    assert calls == [1]
    await pc.close()


@pytest.mark.parametrize("name", ["_send_rtcp_pli", "getSynchronizationSources"])
def test_receiver_methods_used_for_pli(name: str) -> None:
    assert callable(getattr(aiortc.RTCRtpReceiver, name))


def test_fast_ntp_clock_matches_aiortc_and_is_what_senders_call() -> None:
    import datetime

    from aiortc import clock, rtcrtpsender

    aiortc_hooks.install()
    stock = clock.datetime_to_ntp(clock.current_datetime())
    fast = aiortc_hooks.fast_ntp_time()
    assert abs(fast - stock) / 2**32 < 0.05  # same 64-bit NTP time (seconds << 32 | fraction)
    assert clock.current_ntp_time is aiortc_hooks.fast_ntp_time
    # senders reach it through the module attribute, so the replacement is what they call
    assert rtcrtpsender.clock is clock
    back = clock.datetime_from_ntp(fast)
    assert abs(back - datetime.datetime.now(datetime.UTC)) < datetime.timedelta(seconds=1)


# -- the fast send path (live_server/media/aiortc/fastpath.py) ------------------------------


def test_every_fast_path_internal_exists() -> None:
    assert aiortc_fastpath.verify_fastpath() == []


def test_fast_path_check_notices_a_changed_internal(monkeypatch: pytest.MonkeyPatch) -> None:
    from aioice.ice import StunProtocol

    async def send_data(self: StunProtocol, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.write(data)  # no longer the plain sendto the fast path mirrors

    monkeypatch.setattr(StunProtocol, "send_data", send_data)

    async def handle(self: aiortc.RTCRtpSender, packet: object) -> None:
        return None

    monkeypatch.setattr(aiortc.RTCRtpSender, "_handle_rtcp_packet", handle)
    problems = aiortc_fastpath.verify_fastpath()
    assert any("send_data" in p for p in problems)
    assert any("_retransmit" in p for p in problems)
    with pytest.raises(aiortc_hooks.HookUnavailable):
        aiortc_hooks.verify_hooks()


def test_sender_internals_the_fast_path_reads_are_set_by_aiortc() -> None:
    sender_names = set(aiortc.RTCRtpSender.__init__.__code__.co_names)
    for name in aiortc_fastpath._SENDER_ATTRS:
        assert name in sender_names
    # the SR and stats read the counters the fast path updates
    rtcp = set(aiortc.RTCRtpSender._run_rtcp.__code__.co_names)
    for name in ("_RTCRtpSender__packet_count", "_RTCRtpSender__octet_count"):
        assert name in rtcp
    assert "_RTCRtpSender__rtp_timestamp" in rtcp and "_RTCRtpSender__ntp_timestamp" in rtcp
    send_rtp = aiortc.RTCDtlsTransport._send_rtp.__code__.co_names
    assert "_tx_srtp" in send_rtp and "protect" in send_rtp


@pytest.mark.parametrize("with_abs_send_time", [True, False])
async def test_header_template_patched_like_send_frame_matches_aiortcs_serialiser(
    with_abs_send_time: bool,
) -> None:
    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
    from aiortc.rtp import RtpPacket

    pc = RTCPeerConnection()
    sender = pc.addTransceiver("video", direction="sendonly").sender
    extensions = [RTCRtpHeaderExtensionParameters(id=4, uri="urn:ietf:params:rtp-hdrext:sdes:mid")]
    if with_abs_send_time:
        extensions.append(
            RTCRtpHeaderExtensionParameters(
                id=3, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
            )
        )
    ext_map = sender._RTCRtpSender__rtp_header_extensions_map
    ext_map.configure(RTCRtpParameters(headerExtensions=extensions))
    sender._RTCRtpSender__mid = "1"
    header, abs_at = aiortc_fastpath._header_template(sender, 96, 0x11223344, "1")
    assert (abs_at > 0) == with_abs_send_time
    for marker, seq, ts, abs_time in [(0, 17, 90000, 0x123456), (1, 65535, 2**32 - 1, 7)]:
        aiortc_fastpath._SEQ_TS.pack_into(header, 1, (0x80 if marker else 0) | 96, seq, ts)
        if abs_at > 0:
            word = (header[abs_at - 1] << 24) | abs_time
            struct.pack_into("!I", header, abs_at - 1, word)
        expected = RtpPacket(
            payload_type=96, marker=marker, sequence_number=seq, timestamp=ts, ssrc=0x11223344
        )
        expected.extensions.mid = "1"
        if with_abs_send_time:
            expected.extensions.abs_send_time = abs_time
        expected.payload = b"payload"
        assert bytes(header) + b"payload" == expected.serialize(ext_map)
    await pc.close()


def test_shared_packetizer_uses_aiortcs_packetisers() -> None:
    packetizer = aiortc_fastpath.SharedPacketizer("video", "VP8", 90000)
    packet = av.Packet(b"\x10" + bytes(5000))
    packet.pts = 3000
    packet.time_base = fractions.Fraction(1, 90000)
    payloads, timestamp = packetizer.pack(packet)
    assert timestamp == 3000 and len(payloads) == 4
    assert all(len(p) <= 1300 for p in payloads)
    # equal sizes except the last: what lets a frame leave in one UDP GSO send
    assert len({len(p) for p in payloads[:-1]}) == 1 and len(payloads[-1]) <= len(payloads[0])
    opus = aiortc_fastpath.SharedPacketizer("audio", "opus", 48000)
    audio = av.Packet(b"\xfc\x01\x02")
    audio.pts = 960
    audio.time_base = fractions.Fraction(1, 48000)
    assert opus.pack(audio) == ([b"\xfc\x01\x02"], 960)


# -- loopback-only ICE (setting ice_loopback; tests and benchmarks) -------------------------


def test_gathering_reads_get_host_addresses_through_the_module_global() -> None:
    import inspect

    from aioice import Connection, ice

    # the hook works because gather_candidates looks the name up in its module at call time
    assert "get_host_addresses" in Connection.gather_candidates.__code__.co_names
    stock = aiortc_hooks._stock_get_host_addresses
    assert stock is not None and stock.__module__ == "aioice.ice"
    assert list(inspect.signature(stock).parameters) == ["use_ipv4", "use_ipv6"]
    # and the stock function is what leaves 127.0.0.1 out (why the hook exists)
    assert "127.0.0.1" not in stock(use_ipv4=True, use_ipv6=False)
    assert ice.get_host_addresses in (stock, aiortc_hooks.loopback_host_addresses)


async def test_loopback_candidates_are_the_only_host_candidates() -> None:
    """Gathering with the hook in place yields 127.0.0.1 host candidates only."""
    from aioice import Connection

    aiortc_hooks.use_loopback_candidates()
    aiortc_hooks.use_loopback_candidates()  # idempotent
    assert aiortc_hooks.loopback_candidates_in_use()
    connection = Connection(ice_controlling=True)
    try:
        await connection.gather_candidates()
        hosts = [c for c in connection.local_candidates if c.type == "host"]
        assert hosts and {c.host for c in hosts} == {"127.0.0.1"}
    finally:
        await connection.close()


async def test_two_peers_pair_on_loopback_and_the_pair_is_readable() -> None:
    """Two aiortc peers nominate 127.0.0.1 at both ends; ``selected_pair_addresses`` says so."""
    aiortc_hooks.use_loopback_candidates()
    offerer = RTCPeerConnection()
    channel = offerer.createDataChannel("x")
    answerer = RTCPeerConnection()
    try:
        await offerer.setLocalDescription(await offerer.createOffer())
        assert "127.0.0.1" in offerer.localDescription.sdp
        await answerer.setRemoteDescription(offerer.localDescription)
        await answerer.setLocalDescription(await answerer.createAnswer())
        await offerer.setRemoteDescription(answerer.localDescription)
        await wait_for(lambda: channel.readyState == "open", timeout=10, message="channel open")
        assert offerer.sctp is not None
        pair = aiortc_hooks.selected_pair_addresses(offerer.sctp.transport.transport)
        assert pair is not None
        (local_host, _), (remote_host, _) = pair
        assert (local_host, remote_host) == ("127.0.0.1", "127.0.0.1")
    finally:
        await offerer.close()
        await answerer.close()


async def test_checks_from_other_addresses_go_unanswered() -> None:
    """A STUN check from 127.0.0.1 gets an answer; one from the interface address none."""
    import asyncio
    import socket

    from aioice import Connection, stun

    aiortc_hooks.use_loopback_candidates()
    stock = aiortc_hooks._stock_get_host_addresses
    assert stock is not None
    others = stock(use_ipv4=True, use_ipv6=False)
    if not others:
        pytest.skip("no non-loopback IPv4 address on this machine")
    connection = Connection(ice_controlling=False)
    await connection.gather_candidates()
    (target,) = [(c.host, c.port) for c in connection.local_candidates if c.type == "host"]
    loop = asyncio.get_running_loop()

    async def probe(source: str, timeout: float) -> bytes | None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.bind((source, 0))
            # no MESSAGE-INTEGRITY: aioice itself answers 400 Bad Request
            request = stun.Message(
                message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST
            )
            sock.sendto(bytes(request), target)
            try:
                return await asyncio.wait_for(loop.sock_recv(sock, 2048), timeout)
            except TimeoutError:
                return None

    try:
        answer = await probe("127.0.0.1", timeout=5)
        assert answer is not None and stun.parse_message(answer).message_class == stun.Class.ERROR
        assert await probe(others[0], timeout=0.5) is None
    finally:
        await connection.close()


def test_loopback_check_notices_a_changed_internal(monkeypatch: pytest.MonkeyPatch) -> None:
    from aioice import Connection, ice
    from aioice.ice import StunProtocol

    def get_host_addresses(families: set[int]) -> list[str]:  # a new signature
        return []

    monkeypatch.setattr(ice, "get_host_addresses", get_host_addresses)
    with pytest.raises(aiortc_hooks.HookUnavailable, match="get_host_addresses"):
        aiortc_hooks.verify_hooks()
    monkeypatch.undo()

    async def gather_candidates(self: Connection) -> None:  # gathers without the global
        return None

    monkeypatch.setattr(Connection, "gather_candidates", gather_candidates)
    with pytest.raises(aiortc_hooks.HookUnavailable, match="gather_candidates"):
        aiortc_hooks.verify_hooks()
    monkeypatch.undo()
    monkeypatch.delattr(ice, "get_host_addresses")
    with pytest.raises(aiortc_hooks.HookUnavailable, match="get_host_addresses is gone"):
        aiortc_hooks.verify_hooks()
    monkeypatch.undo()

    def request_received(self: Connection, message: object, addr: object) -> None:
        return None

    monkeypatch.setattr(Connection, "request_received", request_received)
    with pytest.raises(aiortc_hooks.HookUnavailable, match="request_received changed"):
        aiortc_hooks.verify_hooks()
    monkeypatch.undo()

    def datagram_received(self: StunProtocol, data: bytes, addr: object) -> None:
        return None  # requests no longer handed to the connection's request_received

    monkeypatch.setattr(StunProtocol, "datagram_received", datagram_received)
    with pytest.raises(aiortc_hooks.HookUnavailable, match="datagram_received"):
        aiortc_hooks.verify_hooks()


async def test_remote_activity_is_stamped_by_the_peers_stun_and_dtls() -> None:
    """``track_remote_activity``: every datagram from the other end (its ICE checks, then
    DTLS) moves ``last_heard``; the connection works exactly as before."""
    aiortc_hooks.use_loopback_candidates()
    offerer = RTCPeerConnection()
    channel = offerer.createDataChannel("x")
    answerer = RTCPeerConnection()
    try:
        await offerer.setLocalDescription(await offerer.createOffer())
        await answerer.setRemoteDescription(offerer.localDescription)
        await answerer.setLocalDescription(await answerer.createAnswer())
        activity = aiortc_hooks.track_remote_activity(answerer)
        first = activity.last_heard
        await offerer.setRemoteDescription(answerer.localDescription)
        await wait_for(lambda: channel.readyState == "open", timeout=10, message="channel open")
        assert activity.last_heard > first
        heard = activity.last_heard
        channel.send("ping")  # SCTP over DTLS: a data datagram, not STUN
        await wait_for(lambda: activity.last_heard > heard, timeout=5, message="data stamped")
        assert activity.silent_for(activity.last_heard + 2.5) == 2.5
    finally:
        await offerer.close()
        await answerer.close()


def test_activity_check_notices_a_changed_internal(monkeypatch: pytest.MonkeyPatch) -> None:
    from aioice import Connection
    from aioice.ice import StunProtocol

    def data_received(self: Connection, data: bytes) -> None:  # a new signature
        return None

    monkeypatch.setattr(Connection, "data_received", data_received)
    with pytest.raises(aiortc_hooks.HookUnavailable, match="data_received changed"):
        aiortc_hooks.verify_hooks()
    monkeypatch.undo()

    def datagram_received(self: StunProtocol, data: bytes, addr: object) -> None:
        self.receiver.on_datagram(data)  # type: ignore[attr-defined]  # another method

    monkeypatch.setattr(StunProtocol, "datagram_received", datagram_received)
    with pytest.raises(aiortc_hooks.HookUnavailable, match=r"receiver\.data_received"):
        aiortc_hooks.verify_hooks()
    monkeypatch.undo()
    monkeypatch.setattr(Connection, "__slots__", ("_queue",), raising=False)
    with pytest.raises(aiortc_hooks.HookUnavailable, match="__slots__"):
        aiortc_hooks.verify_hooks()


def test_the_ingest_canary_notices_a_jitter_buffer_that_no_longer_cuts_frames(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aiortc.jitterbuffer import JitterBuffer

    from live_server.media.aiortc.ingest import verify_ingest

    assert verify_ingest() == []
    monkeypatch.setattr(JitterBuffer, "add", lambda self, packet: (False, None))
    assert verify_ingest() == ["JitterBuffer.add no longer calls self._remove_frame"]
    with pytest.raises(aiortc_hooks.HookUnavailable):
        aiortc_hooks.verify_hooks()
