"""Transport-cc feedback (media/twcc.py): what the recorder writes reads back, through a
decoder written from the draft, as the arrivals it was told about; and the SDP side
(media/aiortc/twcc.py) finds the extension a browser offers."""

from __future__ import annotations

import struct

import pytest

from live_server.media.aiortc.twcc import offered_ids, verify_twcc
from live_server.media.twcc import DELTA_US, MAX_KEPT, URI, TwccRecorder, parse_feedback


def test_arrivals_losses_and_a_wrap_read_back_within_a_quarter_millisecond() -> None:
    recorder = TwccRecorder(0xABCD)
    t0 = 123_456_789
    arrivals = {65533: t0, 65534: t0 + 700, 0: t0 + 2_100, 1: t0 + 90_000, 3: t0 + 90_300}
    for seq, at in arrivals.items():
        recorder.on_packet(seq, at, ssrc=42)
    data = recorder.build()
    assert data is not None and len(data) % 4 == 0
    first, packet_type, words = struct.unpack_from("!BBH", data)
    assert (first & 0x1F, packet_type, (words + 1) * 4) == (15, 205, len(data))
    assert struct.unpack_from("!II", data, 4) == (0xABCD, 42)
    base, times = parse_feedback(data)
    assert base == 65533 and len(times) == 7  # 65533, 65534, 65535 (lost), 0, 1, 2 (lost), 3
    expected = [t0, t0 + 700, None, t0 + 2_100, t0 + 90_000, None, t0 + 90_300]
    for got, want in zip(times, expected, strict=True):
        if want is None:
            assert got is None
        else:
            assert got is not None and abs(got - want) <= DELTA_US // 2 + DELTA_US, (got, want)
    assert recorder.build() is None  # nothing new


def test_the_next_feedback_starts_where_the_last_ended_and_counts_up() -> None:
    recorder = TwccRecorder(1)
    recorder.on_packet(10, 1_000_000)
    first = recorder.build()
    recorder.on_packet(9, 1_000_100)  # too late: reported as lost already
    recorder.on_packet(12, 1_050_000)
    recorder.on_packet(11, 1_049_000)  # out of order, before the next feedback: kept
    second = recorder.build()
    assert first is not None and second is not None
    assert first[19] == 0 and second[19] == 1  # the feedback packet count
    base, times = parse_feedback(second)
    assert base == 11 and len(times) == 2 and None not in times
    # a packet that arrived earlier than the one before it: a negative (large) delta
    assert times[0] is not None and times[1] is not None and times[0] < times[1]


def test_a_burst_larger_than_the_recorder_keeps_drops_the_oldest() -> None:
    recorder = TwccRecorder(1)
    for seq in range(MAX_KEPT + 10):
        recorder.on_packet(seq, 1_000_000 + seq * 100)
    base, times = parse_feedback(recorder.build() or b"")
    assert base == 10 and len(times) == MAX_KEPT and None not in times


def test_a_truncated_or_foreign_packet_is_refused() -> None:
    recorder = TwccRecorder(1)
    recorder.on_packet(5, 2_000_000)
    data = recorder.build() or b""
    with pytest.raises(ValueError):
        parse_feedback(data[:-4])
    with pytest.raises(ValueError):
        parse_feedback(bytes([0x81]) + data[1:])  # a NACK's FMT


CHROMIUM_OFFER = f"""v=0\r
o=- 1 2 IN IP4 127.0.0.1\r
s=-\r
t=0 0\r
a=group:BUNDLE 0 1\r
m=audio 9 UDP/TLS/RTP/SAVPF 111\r
a=mid:0\r
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r
a=extmap:3 {URI}\r
m=video 9 UDP/TLS/RTP/SAVPF 96\r
a=mid:1\r
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r
a=extmap:3 {URI}\r
a=rtcp-fb:96 transport-cc\r
"""


def test_the_offered_extension_is_found_per_kind() -> None:
    assert offered_ids(CHROMIUM_OFFER) == {"audio": 3, "video": 3}
    assert offered_ids(CHROMIUM_OFFER.replace(URI, "urn:x")) == {}
    assert offered_ids(CHROMIUM_OFFER.replace("extmap:3 ", "extmap:99 ")) == {}  # not 1-14


def test_the_aiortc_internals_it_uses_are_there() -> None:
    assert verify_twcc() == []
