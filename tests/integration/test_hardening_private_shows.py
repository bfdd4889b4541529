"""Issue 12, finding 1: a private show is visible to its host, its moderators and admins
only. Every read path answers 404 "no such session" (never 403) to anyone else, and every
file of a private show is served only through a signed, expiring URL (or to a signed-in
reader who may view the show)."""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from aiortc import RTCPeerConnection

from live_server.content.clips.store import NewClip
from live_server.platform.identity import Principal, Role
from live_server.shows import HIDDEN_SESSIONS_SQL
from support.content import create_products, insert_pins, insert_recording, make_recording
from support.helpers import auth, wait_for
from support.peers import NumberedVideoTrack, http_negotiate, viewer_pc
from support.room import RoomClient
from support.services import Services

Client = TestClient[Any, Any]
SECRET_CHAT = "the private chat line"


@pytest.fixture(scope="module")
def short_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six seconds of VP8/Opus: enough for a replay and a clip, quick to process."""
    return make_recording(tmp_path_factory.mktemp("rec") / "private.webm", "vp8", seconds=6.0)


@dataclass
class PrivateShow:
    """A private show with its host, one moderator, an outsider and a public twin."""

    session_id: int
    host: dict[str, Any]
    host_token: str
    mod_token: str
    admin_token: str
    outsider_token: str
    product_ids: list[int]
    #: A public show of the same host, so "hidden" is never just "empty".
    public_id: int

    def readers(self) -> dict[str, dict[str, str]]:
        """Headers of those who may view the show."""
        return {
            "host": auth(self.host_token),
            "moderator": auth(self.mod_token),
            "admin": auth(self.admin_token),
        }

    def outsiders(self) -> dict[str, dict[str, str]]:
        """Headers of those who may not: anonymous and an unrelated signed-in viewer."""
        return {"anonymous": {}, "viewer": auth(self.outsider_token)}


async def _session(client: Client, token: str, products: list[int], **extra: Any) -> int:
    resp = await client.post(
        "/api/sessions",
        json={"title": "Members only", "product_ids": products, **extra},
        headers=auth(token),
    )
    assert resp.status == 201, await resp.text()
    return int((await resp.json())["id"])


async def _chat(services: Services, session_id: int, user_id: int, text: str) -> None:
    await services.db.execute(
        "INSERT INTO chat_messages(session_id, user_id, text, created_at, media_time)"
        " VALUES (?, ?, ?, ?, ?)",
        (session_id, user_id, text, time.time(), 1.5),
    )


@pytest.fixture
async def show(client: Client, services: Services, make_user: Any) -> PrivateShow:
    host, host_token = await make_user("host")
    mod, mod_token = await make_user()
    _admin, admin_token = await make_user("admin")
    _outsider, outsider_token = await make_user()
    products = await create_products(client, host_token, ["tech", "beauty"])
    session_id = await _session(
        client, host_token, products, visibility="private", moderators=[mod["username"]]
    )
    public_id = await _session(client, host_token, products)
    await _chat(services, session_id, host["id"], SECRET_CHAT)
    await insert_pins(services.db, session_id, products, host["id"], times=(1.0, 3.0))
    return PrivateShow(
        session_id, host, host_token, mod_token, admin_token, outsider_token, products, public_id
    )


async def _processed(client: Client, services: Services, show: PrivateShow, rec: Path) -> None:
    """Runs the real processing of a recording of the private show (replay + clips)."""
    await insert_recording(services.db, show.session_id, rec, "webm", "vp8", "opus", 6.0)
    url = f"/api/sessions/{show.session_id}/processing"
    resp = await client.post(url, headers=auth(show.host_token))
    assert resp.status == 202, await resp.text()

    async def done() -> bool:
        items = (await (await client.get(url, headers=auth(show.host_token))).json())["items"]
        assert not items or items[0]["state"] != "failed", items
        return bool(items) and items[0]["state"] == "done"

    await wait_for(done, timeout=120, interval=0.1, message="processing done")


async def _status(client: Client, url: str, headers: dict[str, str]) -> tuple[int, Any]:
    resp = await client.get(url, headers=headers)
    return resp.status, await resp.json(content_type=None)


async def _refused_like_missing(client: Client, url: str, headers: dict[str, str]) -> None:
    """The answer an outsider gets is the answer for a session that does not exist."""
    status, body = await _status(client, url, headers)
    assert status == 404, (url, status, body)
    assert body["error"]["code"] in ("session_not_found", "clip_not_found"), body
    assert "private" not in body["error"]["message"].lower()


async def test_finding_01_private_chat_is_not_public(client: Client, show: PrivateShow) -> None:
    url = f"/api/sessions/{show.session_id}/chat"
    for headers in show.outsiders().values():
        await _refused_like_missing(client, url, headers)
    # exactly what a session that never existed answers
    missing = await client.get("/api/sessions/999999/chat")
    assert missing.status == 404
    assert (await missing.json())["error"]["code"] == "session_not_found"
    for who, headers in show.readers().items():
        status, body = await _status(client, url, headers)
        assert status == 200, (who, body)
        assert [m["text"] for m in body["items"]] == [SECRET_CHAT], who
    # the session itself, its audience stats and its live status are hidden the same way
    for path in ("", "/audience", "/broadcast", "/media-time"):
        for headers in show.outsiders().values():
            resp = await client.get(f"/api/sessions/{show.session_id}{path}", headers=headers)
            assert resp.status in (401, 404), (path, resp.status)
            if resp.status == 401:  # audience needs a sign-in before anything else
                assert not headers
        resp = await client.get(
            f"/api/sessions/{show.session_id}{path}", headers=auth(show.host_token)
        )
        assert resp.status == 200, path


async def test_finding_01_private_pins_are_not_public(client: Client, show: PrivateShow) -> None:
    url = f"/api/sessions/{show.session_id}/pins"
    for headers in show.outsiders().values():
        await _refused_like_missing(client, url, headers)
    for who, headers in show.readers().items():
        status, body = await _status(client, url, headers)
        assert status == 200, (who, body)
        assert [p["product_id"] for p in body["items"]] == show.product_ids, who


async def test_finding_01_private_room_join_is_refused(client: Client, show: PrivateShow) -> None:
    base = str(client.make_url("/")).rstrip("/")
    sockets: list[RoomClient] = []
    try:
        for name, token in (("anonymous", None), ("viewer", show.outsider_token)):
            sock = await RoomClient(base, token).connect()
            sockets.append(sock)
            ack = await sock.call("room:join", {"session_id": show.session_id})
            assert "snapshot" not in ack, (name, ack)
            assert ack["error"]["code"] == "session_not_found", (name, ack)
            missing = await sock.call("room:join", {"session_id": 999999})
            assert missing["error"] == ack["error"]
            # not joined: the room's events are refused too
            chat = await sock.call("chat:send", {"session_id": show.session_id, "text": "hi"})
            assert "error" in chat and "message" not in chat
        for token in (show.host_token, show.mod_token, show.admin_token):
            sock = await RoomClient(base, token).connect()
            sockets.append(sock)
            snapshot = await sock.join(show.session_id)
            assert [m["text"] for m in snapshot["messages"]] == [SECRET_CHAT]
            assert snapshot["session"]["id"] == show.session_id
        # the outsiders never received anything of the room
        assert not sockets[0].events and not sockets[1].events.get("chat:message")
    finally:
        for sock in sockets:
            await sock.close()


def _signed(url: str) -> bool:
    query = parse_qs(urlsplit(url).query)
    return "sig" in query and "exp" in query


def _unsigned(url: str) -> str:
    return urlsplit(url).path


async def _file_status(client: Client, url: str, headers: dict[str, str] | None = None) -> int:
    resp = await client.get(url, headers=headers or {})
    await resp.read()
    return resp.status


@pytest.mark.slow
async def test_finding_01_private_clips_list_is_not_public(
    client: Client, services: Services, show: PrivateShow, short_recording: Path
) -> None:
    await _processed(client, services, show, short_recording)
    url = f"/api/sessions/{show.session_id}/clips"
    for headers in show.outsiders().values():
        await _refused_like_missing(client, url, headers)
    for who, headers in show.readers().items():
        status, body = await _status(client, url, headers)
        assert status == 200 and body["items"], (who, body)
        for clip in body["items"]:
            # the readers get signed links that play; the bare paths do not
            for key in ("video_url", "poster_url"):
                assert _signed(clip[key]), clip[key]
                assert await _file_status(client, clip[key]) == 200
                assert await _file_status(client, _unsigned(clip[key])) == 404
    # a hand cut by the moderator is private the same way
    cut = await client.post(
        url,
        json={"start": 1.0, "end": 3.0, "product_ids": [show.product_ids[0]]},
        headers=auth(show.mod_token),
    )
    assert cut.status == 201, await cut.text()
    manual = await cut.json()
    assert _signed(manual["video_url"])
    assert await _file_status(client, _unsigned(manual["video_url"])) == 404
    assert await _file_status(client, manual["video_url"]) == 200
    for headers in show.outsiders().values():
        denied = await client.post(
            url, json={"start": 1.0, "end": 3.0, "product_ids": [show.product_ids[0]]},
            headers=headers,
        )  # fmt: skip
        assert denied.status in (401, 404)


@pytest.mark.slow
async def test_finding_01_private_single_clip_is_not_public(
    client: Client, services: Services, show: PrivateShow, short_recording: Path
) -> None:
    await _processed(client, services, show, short_recording)
    listed = await client.get(
        f"/api/sessions/{show.session_id}/clips", headers=auth(show.host_token)
    )
    clip_id = (await listed.json())["items"][0]["id"]
    paths = (f"/api/clips/{clip_id}", f"/api/clips/{clip_id}/comments")
    for headers in show.outsiders().values():
        for path in paths:
            await _refused_like_missing(client, path, headers)
    viewer = auth(show.outsider_token)
    for method in ("PUT", "DELETE"):
        resp = await client.request(method, f"/api/clips/{clip_id}/smile", headers=viewer)
        assert resp.status == 404, method
    resp = await client.post(
        f"/api/clips/{clip_id}/comments", json={"text": "let me in"}, headers=viewer
    )
    assert resp.status == 404
    resp = await client.delete(f"/api/clips/{clip_id}", headers=viewer)
    assert resp.status == 404
    resp = await client.post(
        f"/api/clips/{clip_id}/comments", json={"text": "crew only"}, headers=auth(show.mod_token)
    )
    assert resp.status == 201, await resp.text()
    for who, headers in show.readers().items():
        status, body = await _status(client, f"/api/clips/{clip_id}", headers)
        assert status == 200 and body["id"] == clip_id, (who, body)
        assert _signed(body["clip"]["video_url"]) and _signed(body["clip"]["poster_url"])
        assert await _file_status(client, body["clip"]["video_url"]) == 200
        status, body = await _status(client, f"/api/clips/{clip_id}/comments", headers)
        assert status == 200 and [c["text"] for c in body["items"]] == ["crew only"]


@pytest.mark.slow
async def test_finding_01_private_clips_stay_out_of_the_feed(
    client: Client, services: Services, show: PrivateShow, short_recording: Path
) -> None:
    await _processed(client, services, show, short_recording)
    listed = await client.get(
        f"/api/sessions/{show.session_id}/clips", headers=auth(show.host_token)
    )
    private_ids = {c["id"] for c in (await listed.json())["items"]}
    assert private_ids
    # a clip of the host's public show stays in everyone's feed
    assert services.processing is not None and services.feed is not None
    clips = services.processing._clips
    public_clip = await clips.add_clip(
        show.public_id, None, show.host["id"],
        NewClip(0, 5, 5, "/media/x/public.mp4", "/media/x/public.jpg", 320, 180, False,
                (show.product_ids[0],)),
        show.host["id"], "demo",
    )  # fmt: skip
    added = await clips.get(public_clip)
    assert added is not None
    await services.feed.add_clip(added)

    async def feed_clip_ids(headers: dict[str, str]) -> tuple[set[int], list[dict[str, Any]]]:
        resp = await client.get("/api/feed?limit=50", headers=headers)
        assert resp.status == 200, await resp.text()
        items = (await resp.json())["items"]
        ids = {i["id"] for i in items if i["type"] == "clip"}
        assert public_clip in ids, items
        return ids, items

    for who, headers in show.outsiders().items():
        ids, items = await feed_clip_ids(headers)
        assert not ids & private_ids, who
        assert all(i["clip"]["session_id"] != show.session_id for i in items if i["type"] == "clip")
    for who, headers in show.readers().items():
        ids, items = await feed_clip_ids(headers)
        assert private_ids <= ids, who
        for item in items:
            if item["type"] == "clip" and item["id"] in private_ids:
                assert _signed(item["clip"]["video_url"]), item
    # "seen" reports on a private item are refused like a missing item
    item_ids = {i["item_id"] for i in items if i["type"] == "clip" and i["id"] in private_ids}
    assert item_ids
    for item_id in item_ids:
        resp = await client.post(
            "/api/feed/seen", json={"item_id": item_id}, headers=auth(show.outsider_token)
        )
        assert resp.status == 404


@pytest.mark.slow
async def test_finding_01_private_replay_file_needs_a_signed_url(
    client: Client, services: Services, show: PrivateShow, short_recording: Path
) -> None:
    await _processed(client, services, show, short_recording)
    url = f"/api/sessions/{show.session_id}/replay"
    for headers in show.outsiders().values():
        await _refused_like_missing(client, url, headers)
    body: dict[str, Any] = {}
    for who, headers in show.readers().items():
        status, body = await _status(client, url, headers)
        assert status == 200 and body["ready"], (who, body)
        assert [m["text"] for m in body["chat"]] == [SECRET_CHAT]
    replay = body["replay"]
    video, poster = replay["video_url"], replay["poster_url"]
    assert _signed(video) and _signed(poster)
    path = _unsigned(video)
    # the name says nothing: no session id, job id or timestamp to guess
    name = path.removeprefix(f"/media/sessions/{show.session_id}/")
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,}/replay\.mp4", name), path
    assert await _file_status(client, video) == 200
    resp = await client.get(video, headers={"Range": "bytes=0-99"})
    assert resp.status == 206 and len(await resp.read()) == 100
    assert "public" not in resp.headers.get("Cache-Control", "")
    for headers in show.outsiders().values():
        assert await _file_status(client, path, headers) == 404
        assert await _file_status(client, _unsigned(poster), headers) == 404
        # the show cards' picture: like a missing show, and not listed
        await _refused_like_missing(client, f"/api/sessions/{show.session_id}/poster", headers)
        listed = await client.get(f"/api/posters?sessions={show.session_id}", headers=headers)
        assert (await listed.json()) == {"posters": {}}
    card = await client.get(
        f"/api/sessions/{show.session_id}/poster",
        headers=auth(show.mod_token),
        allow_redirects=False,
    )
    assert card.status == 302 and _signed(card.headers["Location"])
    assert "public" not in card.headers.get("Cache-Control", "")
    # a signed reader's bearer token also opens the bare path (API clients)
    assert await _file_status(client, path, auth(show.mod_token)) == 200
    # a signature is for one path, and it expires
    query = urlsplit(video).query
    assert await _file_status(client, f"{_unsigned(poster)}?{query}") == 404
    exp = parse_qs(query)["exp"][0]
    sig = parse_qs(query)["sig"][0]
    assert await _file_status(client, f"{path}?exp={int(exp) + 1}&sig={sig}") == 404
    assert await _file_status(client, f"{path}?exp={int(time.time()) - 1}&sig={sig}") == 404
    assert await _file_status(client, f"{path}?exp={exp}&sig=%C3%A9{sig[2:]}") == 404
    # making the show public opens the same file to everyone
    resp = await client.patch(
        f"/api/sessions/{show.session_id}", json={"visibility": "public"},
        headers=auth(show.host_token),
    )  # fmt: skip
    assert resp.status == 200
    assert await _file_status(client, path) == 200
    public = await (await client.get(url)).json()
    assert not _signed(public["replay"]["video_url"])


def _publisher() -> RTCPeerConnection:
    pc = RTCPeerConnection()
    pc.addTransceiver(NumberedVideoTrack(), direction="sendonly")
    return pc


@pytest.mark.slow
async def test_finding_01_private_recording_file_is_not_served(
    client: Client, services: Services, show: PrivateShow
) -> None:
    # a real broadcast of the private show through WHIP
    host = auth(show.host_token)
    key = (
        await (await client.get(f"/api/sessions/{show.session_id}/stream-key", headers=host)).json()
    )["stream_key"]
    base = str(client.make_url("")).rstrip("/")
    pc = _publisher()
    try:
        async with aiohttp.ClientSession() as http:
            resource = await http_negotiate(http, pc, f"{base}/whip/{show.session_id}", key)

            async def live() -> bool:
                status, body = await _status(client, f"/api/sessions/{show.session_id}", host)
                return status == 200 and body["state"] == "live"

            await wait_for(live, timeout=20, message="live")
            # while it is live, its video is not for outsiders either (WHEP)
            for who, headers in show.outsiders().items():
                viewer = viewer_pc()
                await viewer.setLocalDescription(await viewer.createOffer())
                resp = await client.post(
                    f"/whep/{show.session_id}", data=viewer.localDescription.sdp,
                    headers={"Content-Type": "application/sdp", **headers},
                )  # fmt: skip
                assert resp.status == 404, (who, resp.status, await resp.text())
                await viewer.close()
            viewer = viewer_pc()
            try:
                await http_negotiate(http, viewer, f"{base}/whep/{show.session_id}", show.mod_token)
            finally:
                await viewer.close()
            async with http.delete(resource.location) as resp:
                assert resp.status == 200
    finally:
        await pc.close()

    async def finished() -> list[Any]:
        rows = await services.db.fetchall(
            "SELECT path FROM recordings WHERE session_id = ? AND status = 'finished'",
            (show.session_id,),
        )
        return list(rows)

    rows = await wait_for(finished, timeout=20, message="recording finished")
    path = Path(rows[0]["path"])
    media = await asyncio.to_thread(services.settings.media_dir.resolve)
    rel = (await asyncio.to_thread(path.resolve)).relative_to(media).as_posix()
    # the name carries neither the session id nor the go-live time
    assert re.fullmatch(r"recordings/[A-Za-z0-9_-]{16,}\.webm", rel), rel
    url = f"/media/{rel}"
    for headers in show.outsiders().values():
        assert await _file_status(client, url, headers) == 404
    for who, headers in show.readers().items():
        assert await _file_status(client, url, headers) == 200, who
    # a recording left under the old guessable name is protected the same way
    old = media / "recordings" / f"session-{show.session_id}-{int(time.time())}.webm"
    await asyncio.to_thread(shutil.copyfile, path, old)
    await insert_recording(services.db, show.session_id, old, "webm", "vp8", "opus", 1.0)
    old_url = f"/media/recordings/{old.name}"
    for headers in show.outsiders().values():
        assert await _file_status(client, old_url, headers) == 404
    assert await _file_status(client, old_url, host) == 200
    assert await _file_status(client, "/media/../liveshop.db") == 404


async def test_finding_01_feed_sql_agrees_with_the_visibility_rule(
    client: Client, services: Services, show: PrivateShow, make_user: Any
) -> None:
    """The feed filters inside its ranking query: its SQL form of the rule must say what
    `LiveSessionService.can_view` says, for every kind of reader."""
    other_host, other_token = await make_user("host")
    other_private = await _session(client, other_token, [], visibility="private")
    sessions = [show.session_id, show.public_id, other_private]
    readers: list[tuple[str, Principal | None]] = [("anonymous", None)]
    for name, token in (("host", show.host_token), ("moderator", show.mod_token),
                        ("viewer", show.outsider_token), ("other host", other_token)):  # fmt: skip
        me = await (await client.get("/api/me", headers=auth(token))).json()
        readers.append((name, Principal(me["id"], me["username"], Role(me["role"]))))
    for name, who in readers:
        rows = await services.db.fetchall(
            HIDDEN_SESSIONS_SQL, {"viewer_id": who.user_id if who else -1}
        )
        hidden_by_sql = {r[0] for r in rows} & set(sessions)
        hidden_by_rule = set()
        for session_id in sessions:
            session = await services.sessions.get(session_id)
            if not await services.sessions.can_view(who, session):
                hidden_by_rule.add(session_id)
        assert hidden_by_sql == hidden_by_rule, name
    assert other_host["id"] != show.host["id"]


async def test_finding_01_room_members_who_lose_access_leave_the_room(
    client: Client, services: Services, make_user: Any
) -> None:
    """A public show made private, or a moderator taken off a private show: whoever may no
    longer see it stops receiving its room's events at once (not only at the next join)."""
    host, host_token = await make_user("host")
    mod, mod_token = await make_user()
    _viewer, viewer_token = await make_user()
    session_id = await _session(client, host_token, [], moderators=[mod["username"]])
    base = str(client.make_url("/")).rstrip("/")
    sockets = {
        name: await RoomClient(base, token).connect()
        for name, token in (("host", host_token), ("mod", mod_token), ("viewer", viewer_token))
    }
    anonymous = await RoomClient(base).connect()
    sockets["anonymous"] = anonymous
    try:
        for sock in sockets.values():
            await sock.join(session_id)

        async def say(text: str) -> None:
            ack = await sockets["host"].call("chat:send", {"session_id": session_id, "text": text})
            assert ack.get("ok"), ack
            # the host's own socket is in the room: the message went out to the room
            await wait_for(lambda: text in sockets["host"].texts(), message=text)

        await say("everyone")
        await wait_for(lambda: "everyone" in sockets["viewer"].texts(), message="viewer")
        await wait_for(lambda: "everyone" in anonymous.texts(), message="anonymous")
        resp = await client.patch(
            f"/api/sessions/{session_id}", json={"visibility": "private"},
            headers=auth(host_token),
        )  # fmt: skip
        assert resp.status == 200, await resp.text()
        await say("crew only")
        await wait_for(lambda: "crew only" in sockets["mod"].texts(), message="moderator")
        for name in ("viewer", "anonymous"):
            # an ack comes after whatever the server sent this socket before it
            refused = await sockets[name].call("room:join", {"session_id": session_id})
            assert refused["error"]["code"] == "session_not_found"
            assert "crew only" not in sockets[name].texts(), name
        # the moderator taken off the list is an outsider now
        resp = await client.put(
            f"/api/sessions/{session_id}/moderators", json={"usernames": []},
            headers=auth(host_token),
        )  # fmt: skip
        assert resp.status == 200, await resp.text()
        await say("host only")
        refused = await sockets["mod"].call("room:join", {"session_id": session_id})
        assert refused["error"]["code"] == "session_not_found"
        assert "host only" not in sockets["mod"].texts()
        assert host["id"] > 0
    finally:
        for sock in sockets.values():
            await sock.close()


async def test_finding_01_private_commerce_state_is_not_public(
    client: Client, show: PrivateShow
) -> None:
    """The live commerce state and the flash sales of a private show are its crew's too."""
    for path in ("commerce", "flash-sales"):
        url = f"/api/sessions/{show.session_id}/{path}"
        for headers in show.outsiders().values():
            await _refused_like_missing(client, url, headers)
        for who, headers in show.readers().items():
            status, body = await _status(client, url, headers)
            assert status == 200, (path, who, body)
        public = await client.get(f"/api/sessions/{show.public_id}/{path}")
        assert public.status == 200, path
