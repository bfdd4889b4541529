"""Simulcast in a WHIP offer: what is accepted, what the answer says, and every malformed or
hostile rid/simulcast line answered with a 400 sentence (never a 500)."""

from __future__ import annotations

import pytest
from aiortc import RTCPeerConnection

from live_server.media.sdp import BadOffer, check_offer
from live_server.media.simulcast_sdp import (
    REPAIRED_RID_EXTENSION,
    RID_EXTENSION,
    SimulcastOffer,
    answer_with_simulcast,
    parse_simulcast,
)

RIDS = "a=rid:h send\r\na=rid:m send\r\na=rid:l send\r\na=simulcast:send h;m;l\r\n"
EXTMAPS = f"a=extmap:10 {RID_EXTENSION}\r\na=extmap:11 {REPAIRED_RID_EXTENSION}\r\n"


async def _offer() -> str:
    """A real aiortc offer (ICE, DTLS, codecs) with a video section and an audio section."""
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="sendonly")
    pc.addTransceiver("audio", direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp: str = pc.localDescription.sdp
    await pc.close()
    return sdp


def _with(sdp: str, video: str = "", audio: str = "") -> str:
    """``sdp`` with lines appended to its video (first) and audio (second) sections."""
    head, _, rest = sdp.partition("m=video")
    video_part, _, audio_part = rest.partition("m=audio")
    return f"{head}m=video{video_part}{video}m=audio{audio_part}{audio}"


@pytest.fixture
async def offer() -> str:
    return await _offer()


def test_a_chromium_style_simulcast_offer_is_read(offer: str) -> None:
    summary = check_offer(_with(offer, EXTMAPS + RIDS))
    assert summary.simulcast == SimulcastOffer(
        mid="0",
        rids=("h", "m", "l"),
        paused=frozenset(),
        rid_extension_id=10,
        repaired_extension_id=11,
    )
    assert summary.kinds == ("video", "audio")


def test_without_rid_lines_the_offer_is_a_single_stream(offer: str) -> None:
    assert check_offer(offer).simulcast is None
    # rid restrictions on one stream, no a=simulcast: nothing to demultiplex
    assert check_offer(_with(offer, EXTMAPS + "a=rid:h send max-width=1280\r\n")).simulcast is None


def test_paused_layers_restrictions_and_no_repaired_rid_are_accepted(offer: str) -> None:
    lines = (
        f"a=extmap:4/recvonly {RID_EXTENSION}\r\n"
        "a=rid:0 send max-width=1280;max-height=720\r\na=rid:1 send pt=97\r\n"
        "a=simulcast:send 1;~0\r\n"
    )
    simulcast = check_offer(_with(offer, lines)).simulcast
    assert simulcast is not None
    assert simulcast.rids == ("1", "0") and simulcast.paused == {"0"}
    assert (simulcast.rid_extension_id, simulcast.repaired_extension_id) == (4, None)


def test_the_answer_receives_the_layers_in_the_offers_order(offer: str) -> None:
    simulcast = parse_simulcast(_with(offer, EXTMAPS + "a=rid:q send\r\n" + RIDS.replace(
        "h;m;l", "l;~q;h;m")))  # fmt: skip
    assert simulcast is not None
    answer = (
        "v=0\r\ns=-\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=recvonly\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\na=recvonly\r\n"
    )
    out = answer_with_simulcast(answer, simulcast, start_bitrate_kbps=None)
    video, _, audio = out.partition("m=audio")
    assert video.endswith(
        "a=recvonly\r\na=rid:l recv\r\na=rid:q recv\r\na=rid:h recv\r\na=rid:m recv\r\n"
        "a=simulcast:recv l;~q;h;m\r\n"
    )
    assert "rid" not in audio and out.endswith("a=recvonly\r\n")
    with pytest.raises(ValueError):
        answer_with_simulcast(answer.replace("a=mid:0", "a=mid:7"), simulcast)


BAD = [
    # (video lines, audio lines, words the 400 must contain)
    (EXTMAPS + RIDS.replace("h send", "h recv"), "", "a WHIP host sends"),
    (EXTMAPS + RIDS.replace("h send", "h sideways"), "", "expected 'send'"),
    (EXTMAPS + RIDS.replace("rid:h", "rid:h<script>"), "", "malformed a=rid"),
    (EXTMAPS + RIDS.replace("rid:h", "rid:" + "x" * 40), "", "malformed a=rid"),
    (EXTMAPS + "a=rid:h\r\na=simulcast:send h\r\n", "", "malformed a=rid"),
    (EXTMAPS + "a=rid:x send\r\na=rid:y send\r\n" + RIDS, "", "at most 4"),
    (EXTMAPS + "a=rid:h send\r\na=rid:h send\r\na=simulcast:send h\r\n", "", "twice"),
    (EXTMAPS + RIDS.replace("h;m;l", "h;m;l;h"), "", "twice"),
    (EXTMAPS + RIDS.replace("h;m;l", "h;m;z"), "", "no a=rid:<id> send"),
    (EXTMAPS + RIDS.replace("h;m;l", "h;m"), "", "does not list it"),
    (EXTMAPS + RIDS.replace("h;m;l", "h,m;l"), "", "alternatives"),
    (EXTMAPS + RIDS.replace("send h;m;l", "recv h;m;l"), "", "receive simulcast"),
    (EXTMAPS + RIDS.replace("h;m;l", "h;m;l recv x"), "", "receive simulcast"),
    (EXTMAPS + RIDS.replace("send h;m;l", "h;m;l"), "", "malformed a=simulcast"),
    (EXTMAPS + RIDS.replace("send h;m;l", "sent h;m;l"), "", "expected 'send'"),
    (EXTMAPS + RIDS + "a=simulcast:send h;m;l\r\n", "", "more than one a=simulcast"),
    (EXTMAPS + "a=simulcast:send h;m;l\r\n", "", "no a=rid:<id> send lines"),
    (RIDS, "", RID_EXTENSION),
    (f"a=extmap:300 {RID_EXTENSION}\r\n" + RIDS, "", "out of range"),
    (f"a=extmap:15 {RID_EXTENSION}\r\n" + RIDS, "", "out of range"),
    (EXTMAPS + RIDS, "a=rid:a send\r\na=simulcast:send a\r\n", "video section only"),
    (EXTMAPS + RIDS.replace("rid:h send", "rid:h\x00 send"), "", "malformed a=rid"),
]


@pytest.mark.parametrize(("video", "audio", "words"), BAD)
def test_malformed_or_hostile_simulcast_lines_are_a_400_sentence(
    offer: str, video: str, audio: str, words: str
) -> None:
    with pytest.raises(BadOffer) as info:
        check_offer(_with(offer, video, audio))
    assert info.value.status == 400
    assert words in info.value.message, info.value.message
    assert "\x00" not in info.value.message and len(info.value.message) < 300


def test_simulcast_on_two_video_sections_is_refused(offer: str) -> None:
    head, _, rest = offer.partition("m=video")
    video, _, audio = rest.partition("m=audio")
    second = video.replace("a=mid:0", "a=mid:2")
    text = f"{head}m=video{video}{EXTMAPS}{RIDS}m=video{second}{EXTMAPS}{RIDS}m=audio{audio}"
    with pytest.raises(BadOffer, match="more than one video section"):
        check_offer(text)


def test_a_simulcast_section_without_a_mid_is_refused(offer: str) -> None:
    text = _with(offer, EXTMAPS + RIDS).replace("a=mid:0\r\n", "")
    with pytest.raises(BadOffer, match="no a=mid"):
        check_offer(text)


def test_the_answer_starts_the_hosts_bandwidth_estimate_on_its_video_codecs() -> None:
    simulcast = SimulcastOffer("0", ("h", "l"), frozenset(), 10, None)
    answer = (
        "v=0\r\ns=-\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 97 102\r\na=mid:0\r\n"
        "a=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"
        "a=rtpmap:102 H264/90000\r\na=fmtp:102 packetization-mode=1;profile-level-id=42e01f\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\na=rtpmap:111 opus/48000/2\r\n"
        "a=fmtp:111 minptime=10\r\n"
    )
    video, _, audio = answer_with_simulcast(answer, simulcast, 900).partition("m=audio")
    assert "a=rtpmap:96 VP8/90000\r\na=fmtp:96 x-google-start-bitrate=900\r\n" in video
    assert "a=fmtp:97 apt=96\r\n" in video  # not on RTX
    assert (
        "a=fmtp:102 packetization-mode=1;profile-level-id=42e01f;x-google-start-bitrate=900\r\n"
        in video
    )
    assert "x-google" not in audio
    assert video.endswith("a=rid:h recv\r\na=rid:l recv\r\na=simulcast:recv h;l\r\n")
