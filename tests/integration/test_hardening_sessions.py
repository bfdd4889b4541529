"""Issue 12, hardening of sessions: stream-key rotation, TURN credentials, moderator roles.

Each test is named after the finding it guards against and failed on the code before its fix.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from aiortc import RTCPeerConnection, RTCSessionDescription

from live_server.settings import Settings
from support.helpers import auth, wait_for
from support.peers import NumberedVideoTrack, http_negotiate, viewer_pc
from support.services import Services

Client = TestClient[Any, Any]
SDP_HEADERS = {"Content-Type": "application/sdp"}

# Nothing listens on TCP port 9 of 127.0.0.1: the server's own peer connections, which use
# these TURN servers too, get "connection refused" at once instead of waiting out a timeout.
STATIC_TURN = "turn:alice:static-s3cr3t@127.0.0.2:9?transport=tcp"
TURN_URL = "turn:127.0.0.1:9?transport=tcp"
TURN_SECRET = "turn-shared-secret"
TURN_SETTINGS = {
    "ice_servers": (STATIC_TURN,),
    "turn_urls": (TURN_URL,),
    "turn_secret": TURN_SECRET,
    "turn_ttl_s": 600,
}


@pytest.fixture
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    # A test passes extra settings with @pytest.mark.parametrize("settings", [...],
    # indirect=True). The chat bucket (burst 3) refills once every 1,000 s, so "the 4th
    # message is refused" holds however slowly a loaded machine sends.
    extra: dict[str, Any] = getattr(request, "param", {})
    return Settings.load(
        {
            "data_dir": tmp_path / "var",
            "secret": "test-secret",
            "chat_rate_per_s": 0.001,
            **extra,
        },
        env={},
    )


def base(client: Client) -> str:
    return str(client.make_url("")).rstrip("/")


async def new_session(client: Client, make_user: Any) -> tuple[int, str, str]:
    """A scheduled session of a fresh host: (id, stream key, host token)."""
    _, token = await make_user(role="host")
    resp = await client.post("/api/sessions", json={"title": "Show"}, headers=auth(token))
    assert resp.status == 201, await resp.text()
    session_id = (await resp.json())["id"]
    resp = await client.get(f"/api/sessions/{session_id}/stream-key", headers=auth(token))
    return session_id, (await resp.json())["stream_key"], token


async def state_is(client: Client, session_id: int, expected: str) -> bool:
    resp = await client.get(f"/api/sessions/{session_id}")
    return bool((await resp.json())["state"] == expected)


def publisher_pc() -> RTCPeerConnection:
    pc = RTCPeerConnection()
    pc.addTransceiver(NumberedVideoTrack(), direction="sendonly")
    return pc


# -- finding 6 -----------------------------------------------------------------------------


@pytest.mark.slow
async def test_finding_06_rotating_the_stream_key_disconnects_the_publisher(
    client: Client, make_user: Any, services: Services
) -> None:
    session_id, old_key, host_token = await new_session(client, make_user)
    whip = f"{base(client)}/whip/{session_id}"
    intruder = publisher_pc()
    host = publisher_pc()
    async with aiohttp.ClientSession() as http:
        try:
            # someone who got hold of the key goes live with it
            await http_negotiate(http, intruder, whip, old_key)
            await wait_for(lambda: state_is(client, session_id, "live"), timeout=15)
            await wait_for(lambda: services.broadcast.is_publishing(session_id), timeout=15)

            resp = await client.post(
                f"/api/sessions/{session_id}/stream-key/rotate", headers=auth(host_token)
            )
            assert resp.status == 200, await resp.text()
            new_key = (await resp.json())["stream_key"]
            assert new_key != old_key

            # the intruder's broadcast is cut at once; the show waits for its host as if
            # the host had dropped (reconnect grace), it does not end
            assert not services.broadcast.is_publishing(session_id)
            await wait_for(
                lambda: intruder.connectionState in ("closed", "failed"),
                timeout=15,
                message="the intruder's connection closed",
            )
            assert await state_is(client, session_id, "reconnecting")

            # the old key is refused, the new one publishes at once (it got 409 before)
            await host.setLocalDescription(await host.createOffer())
            offer = host.localDescription.sdp
            resp = await client.post(
                f"/whip/{session_id}", data=offer, headers={**SDP_HEADERS, **auth(old_key)}
            )
            assert resp.status == 401
            assert (await resp.json())["error"]["code"] == "bad_stream_key"
            async with http.post(
                whip, data=offer, headers={**SDP_HEADERS, **auth(new_key)}
            ) as answer:
                assert answer.status == 201, await answer.text()
                sdp = await answer.text()
            await host.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
            await wait_for(lambda: state_is(client, session_id, "live"), timeout=15)
            await wait_for(lambda: services.broadcast.is_publishing(session_id), timeout=15)
        finally:
            await intruder.close()
            await host.close()


# -- finding 7 -----------------------------------------------------------------------------

_LINK = re.compile(
    r'^<(?P<url>[^>]*)>; rel="ice-server"'
    r'(?:; username="(?P<username>[^"]*)"; credential="(?P<credential>[^"]*)")?'
)


def turn_links(headers: Any) -> list[dict[str, str]]:
    """The ice-server Link headers of a WHIP/WHEP answer, parsed."""
    found = []
    for value in headers.getall("Link", []):
        match = _LINK.match(value)
        assert match, value
        found.append({k: v for k, v in match.groupdict().items() if v is not None})
    return found


def check_rest_credential(link: dict[str, str], peer_id: str) -> None:
    """coturn's use-auth-secret scheme: username "<expiry>:<id>", HMAC-SHA1 credential."""
    username, credential = link["username"], link["credential"]
    expiry, _, who = username.partition(":")
    assert who == peer_id
    assert time.time() < int(expiry) <= time.time() + 600 + 5
    digest = hmac.new(TURN_SECRET.encode(), username.encode(), hashlib.sha1).digest()
    assert credential == base64.b64encode(digest).decode()


@pytest.mark.slow
@pytest.mark.parametrize("settings", [TURN_SETTINGS], indirect=True)
async def test_finding_07_viewers_get_short_lived_turn_credentials_not_static_ones(
    client: Client, make_user: Any
) -> None:
    session_id, key, _ = await new_session(client, make_user)
    host = publisher_pc()
    viewers = [viewer_pc(), viewer_pc()]
    async with aiohttp.ClientSession() as http:
        try:
            await host.setLocalDescription(await host.createOffer())
            async with http.post(
                f"{base(client)}/whip/{session_id}",
                data=host.localDescription.sdp,
                headers={**SDP_HEADERS, **auth(key)},
            ) as resp:
                assert resp.status == 201, await resp.text()
                whip_links = turn_links(resp.headers)
                whip_id = resp.headers["ETag"].strip('"')
                answer = await resp.text()
            await host.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
            assert [link["url"] for link in whip_links] == [TURN_URL]
            check_rest_credential(whip_links[0], whip_id)
            await wait_for(lambda: state_is(client, session_id, "live"), timeout=15)

            seen = []
            for viewer in viewers:  # anonymous viewers
                await viewer.setLocalDescription(await viewer.createOffer())
                async with http.post(
                    f"{base(client)}/whep/{session_id}",
                    data=viewer.localDescription.sdp,
                    headers=SDP_HEADERS,
                ) as resp:
                    assert resp.status == 201, await resp.text()
                    raw = resp.headers.getall("Link", [])
                    links = turn_links(resp.headers)
                    viewer_id = resp.headers["ETag"].strip('"')
                # the static credentials of LIVESHOP_ICE_SERVERS never leave the server
                assert not any("static-s3cr3t" in v or "alice" in v for v in raw), raw
                assert [link["url"] for link in links] == [TURN_URL]
                check_rest_credential(links[0], viewer_id)
                seen.append(links[0]["username"])
            assert len(set(seen)) == 2  # one credential per peer
        finally:
            await host.close()
            for viewer in viewers:
                await viewer.close()
