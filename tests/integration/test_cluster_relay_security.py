"""The node-to-node leg: only a node of the deployment pulls a show, and it cannot send.

A full node with Redis and the cluster secret serves a live show; relay pulls are tried
without a token, with a forged, an expired and another show's token, and with offers that
would send media. Each is refused before any peer connection exists. A good pull gets a
send-only answer and is not counted as audience; without the secret the endpoint is 404.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from aiortc import RTCPeerConnection, VideoStreamTrack

from live_server.cluster import CLUSTER, RedisClusterStore
from live_server.cluster.rules import sign_relay_token
from live_server.media.keys import RELAYS
from live_server.settings import Settings
from support.cluster import REDIS_URL, SECRET, Host, new_prefix
from support.helpers import auth, wait_for
from support.services import Services

pytestmark = pytest.mark.redis
Client = TestClient[Any, Any]
SDP = {"Content-Type": "application/sdp"}


@pytest.fixture
async def settings(tmp_path: Path) -> AsyncIterator[Settings]:
    prefix = new_prefix("relay")
    yield Settings.load(
        {
            "data_dir": tmp_path / "var",
            "secret": "test-secret",
            "redis_url": REDIS_URL,
            "redis_prefix": prefix,
            "cluster_secret": SECRET,
            "public_url": "http://127.0.0.1:1",
        },
        env={},
    )
    store = RedisClusterStore.from_url(REDIS_URL, prefix)
    await store.delete_all()
    await store.close()


async def _live_show(
    client: Client, make_user: Any, http: aiohttp.ClientSession
) -> tuple[int, Host]:
    _, token = await make_user(role="host")
    resp = await client.post("/api/sessions", json={"title": "Relay"}, headers=auth(token))
    session_id = (await resp.json())["id"]
    resp = await client.get(f"/api/sessions/{session_id}/stream-key", headers=auth(token))
    key = (await resp.json())["stream_key"]
    host = Host()
    await host.publish(http, str(client.make_url("")).rstrip("/"), session_id, key)
    return session_id, host


async def _offer(direction: str) -> str:
    pc = RTCPeerConnection()
    if direction == "recvonly":
        pc.addTransceiver("video", direction="recvonly")
        pc.addTransceiver("audio", direction="recvonly")
    else:
        pc.addTransceiver(VideoStreamTrack(), direction=direction)
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return str(sdp)


async def test_relay_refuses_strangers_and_senders(
    client: Client, make_user: Any, services: Services
) -> None:
    cluster = client.app[CLUSTER]
    sfu = client.app[RELAYS].sfu
    async with aiohttp.ClientSession() as http:
        session_id, host = await _live_show(client, make_user, http)
        try:
            await wait_for(lambda: services.broadcast.is_publishing(session_id), timeout=15)
            offer = await _offer("recvonly")
            url = f"/relay/{session_id}"
            now = time.time()
            refused = {
                "no token": {},
                "a user's token": auth("not-a-relay-token"),
                "forged": auth(sign_relay_token("wrong-secret", "evil", session_id, now + 60)),
                "expired": auth(sign_relay_token(SECRET, "edge", session_id, now - 1)),
                "another show": auth(sign_relay_token(SECRET, "edge", session_id + 1, now + 60)),
            }
            for what, headers in refused.items():
                resp = await client.post(url, data=offer, headers={**SDP, **headers})
                assert resp.status == 401, (what, resp.status)
                assert (await resp.json())["error"]["code"] == "bad_relay_token", what
            good = auth(cluster.relay_token(session_id))
            for direction in ("sendonly", "sendrecv"):
                resp = await client.post(url, data=await _offer(direction), headers={**SDP, **good})
                assert resp.status == 400, direction
                body = await resp.json()
                assert body["error"]["code"] == "relay_offer_sends", direction
            room = sfu.room(session_id)
            assert room is not None and room.viewers == {}  # no peer connection was made

            resp = await client.post(url, data=offer, headers={**SDP, **good})
            assert resp.status == 201, await resp.text()
            answer = await resp.text()
            media = [
                line
                for line in answer.split("\r\n")
                if line.startswith("a=send") or line.startswith("a=recv")
            ]
            assert media and all(line == "a=sendonly" for line in media), media
            assert sfu.relay_count() == 1
            assert services.broadcast.viewer_count(session_id) == 0  # not audience
        finally:
            await host.close()


@pytest.fixture
def no_secret_settings(tmp_path: Path) -> Settings:
    return Settings.load({"data_dir": tmp_path / "var", "secret": "test-secret"}, env={})


async def test_without_a_cluster_secret_there_is_no_relay(
    aiohttp_client: Any, no_secret_settings: Settings
) -> None:
    from live_server.app import create_app

    client = await aiohttp_client(create_app(no_secret_settings))
    token = sign_relay_token("", "edge", 1, time.time() + 60)
    resp = await client.post(
        "/relay/1", data=await _offer("recvonly"), headers={**SDP, **auth(token)}
    )
    assert resp.status == 404
