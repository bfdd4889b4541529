"""The ingest's jitter buffer (live_server/media/aiortc/ingest.py): a frame goes the moment
it is complete (marker bit, no missing sequence number), a gap waits for its
retransmission, audio packets go one by one."""

from __future__ import annotations

from aiortc import RTCPeerConnection
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtp import RtpPacket

from live_server.media.aiortc import hooks as aiortc_hooks
from live_server.media.aiortc import ingest
from live_server.media.aiortc.ingest import ForwardingJitterBuffer, verify_ingest


def rtp(seq: int, ts: int, marker: bool = False, data: bytes | None = None) -> RtpPacket:
    packet = RtpPacket(payload_type=96, sequence_number=seq, timestamp=ts, marker=int(marker))
    packet._data = bytes([seq & 0xFF]) if data is None else data  # type: ignore[attr-defined]  # depayloaded
    return packet


def video_buffer() -> tuple[ForwardingJitterBuffer, list[tuple[bytes, int]]]:
    out: list[tuple[bytes, int]] = []
    buffer = ForwardingJitterBuffer(512, True, lambda f, pt: out.append((f.data, f.timestamp)))
    return buffer, out


def test_the_ingest_internals_exist() -> None:
    assert verify_ingest() == []


def test_a_video_frame_goes_at_its_marker_packet_not_at_the_next_frames_first() -> None:
    buffer, out = video_buffer()
    assert buffer.add(rtp(10, 3000, data=b"a")) == (False, None)
    assert out == []
    buffer.add(rtp(11, 3000, data=b"b"))
    buffer.add(rtp(12, 3000, marker=True, data=b"c"))
    assert out == [(b"abc", 3000)]
    buffer.add(rtp(13, 6000, marker=True, data=b"d"))  # a one-packet frame
    assert out == [(b"abc", 3000), (b"d", 6000)]


def test_a_frame_with_a_gap_waits_and_its_retransmission_releases_it_and_those_behind() -> None:
    buffer, out = video_buffer()
    buffer.add(rtp(1, 100, marker=True))
    buffer.add(rtp(2, 200))
    buffer.add(rtp(4, 200, marker=True))  # 3 is missing: frame 200 is not complete
    buffer.add(rtp(5, 300, marker=True))  # complete, but behind the incomplete one
    assert [ts for _, ts in out] == [100]
    buffer.add(rtp(3, 200))  # the retransmission
    assert [ts for _, ts in out] == [100, 200, 300]
    assert out[1][0] == bytes([2, 3, 4])
    buffer.add(rtp(3, 200))  # a late duplicate changes nothing
    assert len(out) == 3


def test_a_lost_first_packet_holds_the_frame_too() -> None:
    buffer, out = video_buffer()
    buffer.add(rtp(1, 100, marker=True))
    buffer.add(rtp(3, 200, marker=True))  # 2, the frame's first packet, is missing
    assert [ts for _, ts in out] == [100]
    buffer.add(rtp(2, 200))
    assert out[1] == (bytes([2, 3]), 200)


def test_a_sender_without_marker_bits_still_gets_its_frames_at_the_next_timestamp() -> None:
    buffer, out = video_buffer()
    buffer.add(rtp(1, 100))
    buffer.add(rtp(2, 100))
    assert out == []
    buffer.add(rtp(3, 200))
    assert out == [(bytes([1, 2]), 100)]


def test_sequence_numbers_wrap() -> None:
    buffer, out = video_buffer()
    buffer.add(rtp(65534, 100))
    buffer.add(rtp(65535, 100))
    buffer.add(rtp(0, 100, marker=True))
    buffer.add(rtp(1, 200, marker=True))
    assert out == [(bytes([254, 255, 0]), 100), (bytes([1]), 200)]


def test_audio_packets_go_one_by_one_a_gap_is_skipped_and_a_late_packet_dropped() -> None:
    out: list[JitterFrame] = []
    buffer = ForwardingJitterBuffer(16, False, lambda f, pt: out.append(f))
    buffer.add(rtp(1, 960))
    assert [f.timestamp for f in out] == [960]
    buffer.add(rtp(3, 2880))  # 2 lost: audio has no retransmission to wait for
    assert [f.timestamp for f in out] == [960, 2880]
    buffer.add(rtp(2, 1920))  # too late
    buffer.add(rtp(4, 3840))
    assert [f.timestamp for f in out] == [960, 2880, 3840]


async def test_mark_passthrough_swaps_the_receivers_jitter_buffer() -> None:
    offerer = RTCPeerConnection()
    offerer.addTransceiver("video", direction="sendonly")
    offerer.addTransceiver("audio", direction="sendonly")
    await offerer.setLocalDescription(await offerer.createOffer())
    answerer = RTCPeerConnection()
    try:
        await answerer.setRemoteDescription(offerer.localDescription)
        for transceiver in answerer.getTransceivers():
            aiortc_hooks.keep_first_codec(transceiver)
            aiortc_hooks.mark_passthrough(transceiver)
            buffer = transceiver.receiver._RTCRtpReceiver__jitter_buffer  # type: ignore[attr-defined]
            assert isinstance(buffer, ForwardingJitterBuffer)
            assert buffer._is_video == (transceiver.kind == "video")
            assert buffer.capacity == (512 if transceiver.kind == "video" else 16)
    finally:
        await offerer.close()
        await answerer.close()


async def test_frames_reach_the_track_as_packets_on_the_receivers_timeline() -> None:
    import asyncio
    import fractions
    from types import SimpleNamespace

    from aiortc.jitterbuffer import JitterBuffer
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters

    from live_server.media.aiortc.ingest import forward_complete_frames

    queue: asyncio.Queue[object] = asyncio.Queue()
    receiver = SimpleNamespace(
        _track=SimpleNamespace(_queue=queue),
        _RTCRtpReceiver__jitter_buffer=JitterBuffer(capacity=512, is_video=True),
        _RTCRtpReceiver__decoder_thread=None,  # not started: nothing is handed on yet
    )
    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
    assert forward_complete_frames(receiver, [vp8])  # type: ignore[arg-type]
    buffer = receiver._RTCRtpReceiver__jitter_buffer
    buffer.add(rtp(1, 5000, marker=True, data=b"x"))
    assert queue.empty()
    receiver._RTCRtpReceiver__decoder_thread = object()  # started
    buffer.add(rtp(2, 8000, marker=True, data=b"first"))
    buffer.add(rtp(3, 8000, data=b""))  # padding only: no empty frame goes on
    buffer.add(rtp(4, 11000, marker=True, data=b"second"))
    packets = [queue.get_nowait() for _ in range(queue.qsize())]
    assert [bytes(p) for p in packets] == [b"first", b"second"]  # type: ignore[call-overload]
    assert [p.pts for p in packets] == [0, 3000]  # type: ignore[attr-defined]
    assert packets[0].time_base == fractions.Fraction(1, 90000)  # type: ignore[attr-defined]
    assert not forward_complete_frames(SimpleNamespace(_track=None), [vp8])  # type: ignore[arg-type]


def keyed_buffer(
    now: list[float],
) -> tuple[ForwardingJitterBuffer, list[tuple[bytes, int]]]:
    """A video buffer on the clock ``now[0]`` whose keyframes are the frames starting "K"."""
    out: list[tuple[bytes, int]] = []
    buffer = ForwardingJitterBuffer(
        512,
        True,
        lambda f, pt: out.append((f.data, f.timestamp)),
        is_key=lambda f, pt: f.data.startswith(b"K"),
        clock=lambda: now[0],
    )
    return buffer, out


def test_a_packet_that_never_comes_is_given_up_and_the_next_keyframe_asked_for() -> None:
    """aiortc alone waited for 512 more packets: 16 s on a 180p simulcast layer."""
    now = [100.0]
    buffer, out = keyed_buffer(now)
    buffer.add(rtp(1, 100, marker=True, data=b"K1"))
    buffer.add(rtp(2, 200))  # 3 never comes
    buffer.add(rtp(4, 200, marker=True))
    now[0] += ingest.GAP_TIMEOUT_S - 0.1
    assert buffer.add(rtp(5, 300, marker=True, data=b"d5")) == (False, None)  # still waiting
    assert [ts for _, ts in out] == [100]
    now[0] += 0.2
    # past the timeout: frame 200 is given up, a keyframe asked for (the PLI flag) and the
    # delta frames after it are not handed on: their reference never came
    assert buffer.add(rtp(6, 400, marker=True, data=b"d6")) == (True, None)
    assert [ts for _, ts in out] == [100] and buffer.skipped_gaps == 1
    now[0] += ingest.KEY_RETRY_S
    assert buffer.add(rtp(7, 500, marker=True, data=b"d7")) == (True, None)  # asked again
    buffer.add(rtp(8, 600, data=b"K8"))
    buffer.add(rtp(9, 600, marker=True, data=b"+"))
    buffer.add(rtp(10, 700, marker=True, data=b"d10"))
    assert out[1:] == [(b"K8+", 600), (b"d10", 700)]
    now[0] += 5.0
    assert buffer.add(rtp(11, 800, marker=True, data=b"d11")) == (False, None)  # no more PLIs


def test_a_frame_still_arriving_without_a_gap_is_not_given_up() -> None:
    now = [0.0]
    buffer, out = keyed_buffer(now)
    for seq in range(1, 20):  # a big keyframe paced out over 2 s
        assert buffer.add(rtp(seq, 100)) == (False, None)
        now[0] += 0.1
    buffer.add(rtp(20, 100, marker=True))
    assert [ts for _, ts in out] == [100] and buffer.skipped_gaps == 0


def test_a_lost_first_packet_is_given_up_too() -> None:
    now = [0.0]
    buffer, out = keyed_buffer(now)
    buffer.add(rtp(1, 100, marker=True, data=b"K1"))
    buffer.add(rtp(3, 200, marker=True))  # 2, the first packet of frame 200, never comes
    buffer.add(rtp(4, 300, data=b"K4"))
    now[0] += ingest.GAP_TIMEOUT_S + 0.1
    assert buffer.add(rtp(5, 300, marker=True, data=b"+")) == (True, None)
    assert out == [(b"K1", 100), (b"K4+", 300)] and buffer.skipped_gaps == 1


def test_a_missing_packet_is_asked_for_again_while_its_frame_waits() -> None:
    """aiortc's NACK generator asks once, when the gap appears: a lost NACK or a lost
    retransmission then left the gap until the 0.5 s give-up, and a keyframe wait."""
    now = [0.0]
    asked: list[tuple[int, list[int]]] = []
    buffer = ForwardingJitterBuffer(
        512, True, lambda f, pt: None, clock=lambda: now[0],
        renack=lambda ssrc, seqs: asked.append((ssrc, seqs)),
    )  # fmt: skip

    def add(seq: int, ts: int, marker: bool = False) -> None:
        packet = rtp(seq, ts, marker)
        packet.ssrc = 1234
        buffer.add(packet)

    add(1, 100, marker=True)
    add(2, 200)  # 3 and 5 are lost
    add(4, 200, marker=True)
    add(6, 300, marker=True)
    assert asked == []  # aiortc's own generator asked just now
    now[0] += ingest.NACK_REPEAT_S / 2
    add(7, 400, marker=True)
    assert asked == []
    now[0] += ingest.NACK_REPEAT_S / 2
    add(8, 500, marker=True)
    assert asked == [(1234, [3, 5])] and buffer.renacks == 1
    add(9, 600, marker=True)  # not again within the interval
    assert len(asked) == 1
    add(3, 200)  # the retransmission fills the first gap: the next frame waits for 5
    add(10, 700, marker=True)
    now[0] += ingest.NACK_REPEAT_S
    add(11, 800, marker=True)
    assert asked[-1] == (1234, [5]) and len(asked) == 2
    add(5, 300)  # all there: every frame went, nothing waits, nothing more to ask for
    now[0] += ingest.NACK_REPEAT_S
    add(12, 900, marker=True)
    assert len(asked) == 2


def test_a_frame_still_arriving_is_not_nacked() -> None:
    now = [0.0]
    asked: list[list[int]] = []
    buffer = ForwardingJitterBuffer(
        512, True, lambda f, pt: None, clock=lambda: now[0],
        renack=lambda ssrc, seqs: asked.append(seqs),
    )  # fmt: skip
    for seq in range(1, 20):  # a big keyframe paced out over 2 s, nothing missing
        buffer.add(rtp(seq, 100))
        now[0] += 0.1
    assert asked == []


def test_an_old_packet_resent_as_padding_does_not_start_the_buffer_over() -> None:
    """libwebrtc probes its uplink by resending old packets on the RTX stream; aiortc's
    buffer took one 100 behind its origin for a new start and waited for the 100 after it."""
    now = [0.0]
    buffer, out = keyed_buffer(now)
    for seq in range(1, 200):
        buffer.add(rtp(seq, seq * 100, marker=True, data=b"K" if seq == 1 else b"d"))
    assert len(out) == 199
    assert buffer.add(rtp(60, 6000, marker=True)) == (False, None)  # 140 behind: dropped
    assert buffer.add(rtp(198, 19800, marker=True)) == (False, None)  # 2 behind: dropped
    buffer.add(rtp(200, 20000, marker=True, data=b"d"))  # the stream goes on at once
    assert len(out) == 200 and out[-1][1] == 20000 and buffer.late == 2
    now[0] += 5 * ingest.GAP_TIMEOUT_S
    buffer.add(rtp(201, 20100, marker=True, data=b"d"))
    assert len(out) == 201 and buffer.skipped_gaps == 0


def test_a_sender_that_numbers_again_from_further_back_is_followed() -> None:
    buffer, out = video_buffer()
    for seq in range(1000, 1010):
        buffer.add(rtp(seq, seq, marker=True))
    # a restarted sender: every packet now comes from behind the origin
    for seq in range(500, 500 + ingest.RESTART_AFTER + 3):
        buffer.add(rtp(seq, 50_000 + seq, marker=True))
    assert out[-1][1] == 50_000 + 500 + ingest.RESTART_AFTER + 2
    assert buffer.late == ingest.RESTART_AFTER
