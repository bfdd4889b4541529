"""SDP offer checks, public IP announcement and ICE server settings."""

from __future__ import annotations

import pytest
from aiortc import RTCPeerConnection

from live_server.media.sdp import (
    BadOffer,
    announce_public_ip,
    check_offer,
    ice_link_headers,
    parse_ice_servers,
)


async def test_a_real_offer_passes_and_reports_its_codecs() -> None:
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="sendonly")
    pc.addTransceiver("audio", direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    summary = check_offer(pc.localDescription.sdp)
    assert summary.kinds == ("video", "audio")
    assert summary.codecs["video"][:2] == ("VP8", "H264")
    assert summary.codecs["audio"] == ("OPUS",)
    public = announce_public_ip(pc.localDescription.sdp, "203.0.113.7")
    assert " 203.0.113.7 " in public
    assert public.count("typ host") > pc.localDescription.sdp.count("typ host")
    assert announce_public_ip(pc.localDescription.sdp, None) == pc.localDescription.sdp
    await pc.close()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "hello",
        "v=0\r\nm=video\r\n",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 VP9/90000\r\n",
        "v=0\r\n" + "a=x\r\n" * 20000,
        "v=0\r\n\x00\xff garbage",
    ],
)
def test_bad_offers_are_rejected_with_a_message(text: str) -> None:
    with pytest.raises(BadOffer) as info:
        check_offer(text)
    assert info.value.status == 400 and info.value.message


def test_ice_servers_from_settings_and_link_headers() -> None:
    servers = parse_ice_servers(
        ["stun:stun.example.org:3478", "turn:alice:s3cr3t@turn.example.org:3478"]
    )
    assert servers[0].urls == "stun:stun.example.org:3478" and servers[0].username is None
    assert servers[1].urls == "turn:turn.example.org:3478"
    assert (servers[1].username, servers[1].credential) == ("alice", "s3cr3t")
    links = ice_link_headers(servers)
    assert links[0] == '<stun:stun.example.org:3478>; rel="ice-server"'
    assert 'username="alice"' in links[1] and 'credential="s3cr3t"' in links[1]
    with pytest.raises(ValueError):
        parse_ice_servers(["http://nope"])
