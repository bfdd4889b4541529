"""Every aiortc internal the SFU relies on: this fails loudly when an upgrade removes one."""

from __future__ import annotations

import fractions

import aiortc
import av
import pytest
from aiortc import RTCPeerConnection, rtcrtpreceiver
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from live_server.media import aiortc_hooks


def test_aiortc_is_the_pinned_version() -> None:
    assert aiortc.__version__ == aiortc_hooks.AIORTC_VERSION, (
        "aiortc changed: re-check every hook in live_server/media/aiortc_hooks.py"
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
