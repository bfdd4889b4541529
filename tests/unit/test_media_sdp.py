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
from live_server.media.turn import TurnCredentials, announced_ice_servers, rest_credential


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


def test_clients_get_stun_and_their_own_turn_credentials_never_static_ones() -> None:
    configured = parse_ice_servers(
        ["stun:stun.example.org:3478", "turn:alice:s3cr3t@turn.example.org:3478"]
    )
    turn = TurnCredentials.from_settings(("turn:turn.example.org:3478?transport=udp",), "k", 600)
    assert turn is not None
    links = ice_link_headers(announced_ice_servers(configured, turn, "peer-1"))
    assert links[0] == '<stun:stun.example.org:3478>; rel="ice-server"'
    assert len(links) == 2 and "alice" not in links[1] and "s3cr3t" not in links[1]
    # coturn's REST scheme, sent as it stands (a percent-encoded ":" would not log in)
    username, credential = rest_credential("k", "peer-1", 1_700_000_000)
    assert (username, credential) == ("1700000000:peer-1", "zsz2nLpxhdXIaOMoW0rdWUs4DgQ=")
    server = turn.ice_server("peer-1", now=1_699_999_400)
    assert (server.username, server.credential) == (username, credential)
    assert ice_link_headers([server]) == [
        '<turn:turn.example.org:3478?transport=udp>; rel="ice-server"; '
        f'username="{username}"; credential="{credential}"; credential-type="password"'
    ]
    assert announced_ice_servers(configured, None, "peer-1") == configured[:1]
    assert TurnCredentials.from_settings((), None, 600) is None
    for urls, secret in (((), "k"), (("turn:h:3478",), None), (("turn:u:p@h:3478",), "k")):
        with pytest.raises(ValueError):
            TurnCredentials.from_settings(urls, secret, 600)
