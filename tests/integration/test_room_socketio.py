"""The live room with real python-socketio clients against the real app over TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from live_server.settings import Settings
from support.helpers import auth, wait_for
from support.room import Room, make_room
from support.services import Services


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # The chat bucket (burst 3) refills once every 1,000 s here, so "the 4th message is refused"
    # holds however slowly a loaded machine runs the sends (at the default 1/s it did not).
    return Settings.load(
        {"data_dir": tmp_path / "var", "secret": "test-secret", "chat_rate_per_s": 0.001}, env={}
    )


@pytest.fixture
async def room(client: Any, make_user: Any) -> AsyncIterator[Room]:
    base_url = str(client.make_url("/")).rstrip("/")
    r = await make_room(client, make_user, base_url)
    yield r
    await r.close()


async def test_join_snapshot_chat_and_anonymous(room: Room) -> None:
    host = await room.client(room.host_token)
    viewer = await room.client(room.viewer_token)
    anon = await room.client(None, join=False)
    snap = await anon.join(room.session_id)
    assert snap["session"]["id"] == room.session_id
    assert snap["session"]["state"] == "scheduled"
    assert snap["me"] == {
        "user_id": None,
        "name": None,
        "is_moderator": False,
        "can_chat": False,
        "timeout_until": None,
    }
    assert snap["messages"] == [] and snap["pins"] == []

    ack = await viewer.call(
        "chat:send",
        {"session_id": room.session_id, "text": "<img src=x onerror=alert(1)>", "client_id": "c-1"},
    )
    assert ack["ok"] and ack["message"]["client_id"] == "c-1"
    await wait_for(
        lambda: host.texts() == ["<img src=x onerror=alert(1)>"], message="host sees chat"
    )
    await wait_for(
        lambda: anon.texts() == ["<img src=x onerror=alert(1)>"], message="anon sees chat"
    )
    msg = host.events["chat:message"][0]
    assert msg["user"]["id"] == room.viewer["id"] and msg["media_time"] is None

    refused = await anon.call("chat:send", {"session_id": room.session_id, "text": "hi"})
    assert refused["error"]["code"] == "sign_in_required"
    # a socket that did not join cannot post either
    outsider = await room.client(room.viewer2_token, join=False)
    ack = await outsider.call("chat:send", {"session_id": room.session_id, "text": "hi"})
    assert ack["error"]["code"] == "not_joined"

    # a late joiner gets the message in its snapshot
    late = await room.client(room.viewer2_token, join=False)
    snap = await late.join(room.session_id)
    assert [m["text"] for m in snap["messages"]] == ["<img src=x onerror=alert(1)>"]
    assert snap["me"]["can_chat"] is True
    host_snap = await host.join(room.session_id)
    assert host_snap["me"]["is_moderator"] is True and host_snap["blocked_words"] == []


async def test_rate_limit_applies_to_viewers_not_moderators(room: Room) -> None:
    viewer = await room.client(room.viewer_token)
    mod = await room.client(room.mod_token)
    acks = [
        await viewer.call("chat:send", {"session_id": room.session_id, "text": f"v{i}"})
        for i in range(5)
    ]
    codes = [a.get("error", {}).get("code", "ok") for a in acks]
    assert codes[:3] == ["ok", "ok", "ok"]
    assert "rate_limited" in codes[3:]
    assert acks[3]["error"]["retry_after"] > 0
    mod_acks = [
        await mod.call("chat:send", {"session_id": room.session_id, "text": f"m{i}"})
        for i in range(8)
    ]
    assert all(a.get("ok") for a in mod_acks)
    await wait_for(lambda: len(viewer.texts()) == 11, message="3 + 8 messages")


async def test_reactions_are_aggregated_into_ticks(room: Room, services: Services) -> None:
    viewer = await room.client(room.viewer_token)
    watcher = await room.client(room.viewer2_token)
    for _ in range(30):
        ack = await viewer.call(
            "reaction:send", {"session_id": room.session_id, "kind": "heart", "count": 5}
        )
        assert ack == {"ok": True}
    await viewer.call("reaction:send", {"session_id": room.session_id, "kind": "fire"})
    await wait_for(lambda: watcher.reaction_sum("heart") == 150, message="150 hearts")
    await wait_for(lambda: watcher.reaction_sum("fire") == 1, message="1 fire")
    with_reactions = [t for t in watcher.ticks() if "reactions" in t]
    assert len(with_reactions) < 31  # many taps per tick, never one event per tap
    assert all(t["session_id"] == room.session_id for t in with_reactions)
    seqs = [t["seq"] for t in watcher.ticks()]
    assert seqs == sorted(seqs)
    await services.room.ticker.stop()  # flushes the totals  # type: ignore[union-attr]
    totals = await services.room.ctx.stats.reaction_totals(room.session_id)  # type: ignore[union-attr]
    assert totals == {"heart": 150, "fire": 1}


async def test_pins_with_live_price_stock_and_limit(
    room: Room, client: Any, services: Services
) -> None:
    viewer = await room.client(room.viewer_token)
    mod = await room.client(room.mod_token)
    sid = room.session_id
    p0, p1, p2, p3 = room.product_ids

    forbidden = await viewer.call("pin:add", {"session_id": sid, "product_id": p0})
    assert forbidden["error"]["code"] == "forbidden"
    for pid in (p0, p1, p2):
        ack = await mod.call("pin:add", {"session_id": sid, "product_id": pid})
        assert ack["ok"], ack
    assert (await mod.call("pin:add", {"session_id": sid, "product_id": p0}))["pinned"] == [
        p0,
        p1,
        p2,
    ]
    full = await mod.call("pin:add", {"session_id": sid, "product_id": p3})
    assert full["error"]["code"] == "pin_limit"
    not_in_lineup = await mod.call("pin:add", {"session_id": sid, "product_id": 999_999})
    assert not_in_lineup["error"]["code"] == "invalid"

    await wait_for(lambda: [c["product_id"] for c in viewer.last_pins() or []] == [p0, p1, p2])
    card = (viewer.last_pins() or [])[0]
    assert card["title"] == "Product 0 <b>bold</b>"
    assert card["price_minor"] == 1000 and card["stock"] == 10 and card["currency"] == "USD"

    # live stock and price: the next tick carries the change
    resp = await client.patch(
        f"/api/products/{p0}", json={"stock": 3, "price_minor": 777}, headers=auth(room.host_token)
    )
    assert resp.status == 200, await resp.text()
    await wait_for(
        lambda: (viewer.last_pins() or [{}])[0].get("stock") == 3, message="stock update"
    )
    assert (viewer.last_pins() or [{}])[0]["price_minor"] == 777

    ack = await mod.call("pin:remove", {"session_id": sid, "product_id": p1})
    assert ack["pinned"] == [p0, p2]
    await wait_for(lambda: [c["product_id"] for c in viewer.last_pins() or []] == [p0, p2])
    history = await services.room.ctx.pins.history(sid)  # type: ignore[union-attr]
    assert [(p.product_id, p.unpinned_media_time is None) for p in history] == [
        (p0, True),
        (p1, False),
        (p2, True),
    ]
    assert all(p.pinned_media_time >= 0 for p in history)
    snap = await (await room.client(room.viewer2_token, join=False)).join(sid)
    assert [c["product_id"] for c in snap["pins"]] == [p0, p2]


async def test_moderation_delete_timeout_ban_blocked_words_slow_mode(room: Room) -> None:
    sid = room.session_id
    viewer = await room.client(room.viewer_token)
    other = await room.client(room.viewer2_token)
    mod = await room.client(room.mod_token)

    sent = await viewer.call("chat:send", {"session_id": sid, "text": "buy my thing"})
    mid = sent["message"]["id"]
    denied = await other.call("mod:delete", {"session_id": sid, "message_id": mid})
    assert denied["error"]["code"] == "forbidden"
    assert (await mod.call("mod:delete", {"session_id": sid, "message_id": mid}))["ok"]
    await wait_for(lambda: other.events["chat:removed"] == [{"session_id": sid, "message_id": mid}])
    snap = await (await room.client(room.viewer2_token, join=False)).join(sid)
    assert snap["messages"] == []

    # blocked words: refused to the sender only, with the reason
    words = await mod.call(
        "mod:blocked_words", {"session_id": sid, "words": ["Scam", "free money"]}
    )
    assert words["words"] == ["free money", "scam"]
    refused = await viewer.call("chat:send", {"session_id": sid, "text": "total SCAM here"})
    assert refused["error"]["code"] == "blocked_word" and "scam" in refused["error"]["message"]
    ok = await viewer.call("chat:send", {"session_id": sid, "text": "scampi for dinner"})
    assert ok["ok"]

    # slow mode
    await mod.call("mod:settings", {"session_id": sid, "slow_mode_seconds": 30})
    await wait_for(lambda: other.events["room:settings"], message="settings broadcast")
    assert other.events["room:settings"][-1]["slow_mode_seconds"] == 30
    first = await other.call("chat:send", {"session_id": sid, "text": "one"})
    second = await other.call("chat:send", {"session_id": sid, "text": "two"})
    assert first["ok"] and second["error"]["code"] == "slow_mode"
    await mod.call("mod:settings", {"session_id": sid, "slow_mode_seconds": 0})

    # timeout
    ack = await mod.call(
        "mod:timeout", {"session_id": sid, "user_id": room.viewer["id"], "seconds": 60}
    )
    assert ack["ok"]
    await wait_for(lambda: viewer.events["room:timeout"], message="timeout notice")
    refused = await viewer.call("chat:send", {"session_id": sid, "text": "hello?"})
    assert refused["error"]["code"] == "timed_out"
    cannot = await mod.call(
        "mod:timeout", {"session_id": sid, "user_id": room.host["id"], "seconds": 5}
    )
    assert cannot["error"]["code"] == "forbidden"

    # ban: disconnected, cannot rejoin
    ack = await mod.call(
        "mod:ban", {"session_id": sid, "user_id": room.viewer2["id"], "reason": "spam"}
    )
    assert ack["ok"]
    await wait_for(lambda: other.disconnected.is_set(), message="banned user disconnected")
    again = await room.client(room.viewer2_token, join=False)
    refused = await again.call("room:join", {"session_id": sid})
    assert refused["error"]["code"] == "banned"

    log = await mod.call("mod:log", {"session_id": sid})
    actions = [e["action"] for e in log["entries"]]
    assert actions[:3] == ["ban", "timeout", "slow_mode"]
    assert {"delete", "blocked_words"} <= set(actions)
    assert (await viewer.call("mod:log", {"session_id": sid}))["error"]["code"] == "forbidden"
    assert mod.events["mod:log_entry"], "moderators get live log entries"
    assert not viewer.events["mod:log_entry"]


@pytest.mark.slow
async def test_presence_state_changes_and_user_notifications(
    room: Room, client: Any, services: Services
) -> None:
    sid = room.session_id
    host = await room.client(room.host_token)
    viewers = [await room.client(t) for t in (room.viewer_token, room.viewer2_token)]
    anon = await room.client(None)
    await wait_for(lambda: (host.last_presence() or {}).get("viewers") == 3, message="3 viewers")
    await anon.close()
    await wait_for(lambda: (host.last_presence() or {}).get("viewers") == 2, message="2 viewers")
    assert (host.last_presence() or {})["peak"] == 3
    presence_ticks = [t for t in host.ticks() if "presence" in t]
    assert len(presence_ticks) <= 4

    resp = await client.post(f"/api/sessions/{sid}/start", headers=auth(room.host_token))
    assert resp.status == 200, await resp.text()
    await wait_for(lambda: viewers[0].events["room:state"], message="state broadcast")
    assert viewers[0].events["room:state"][0]["state"] == "live"

    assert services.room is not None
    await services.room.emit_to_user(room.viewer["id"], "order:update", {"order_id": 5})
    await wait_for(lambda: viewers[0].events["order:update"] == [{"order_id": 5}])
    assert not viewers[1].events["order:update"]


async def test_sessions_can_close_the_room_to_anonymous_viewers(room: Room) -> None:
    sid = room.session_id
    mod = await room.client(room.mod_token)
    anon = await room.client(None)
    ack = await mod.call("mod:settings", {"session_id": sid, "allow_anonymous": False})
    assert ack["settings"] == {"slow_mode_seconds": 0, "allow_anonymous": False}
    late = await room.client(None, join=False)
    refused = await late.call("room:join", {"session_id": sid})
    assert refused["error"]["code"] == "sign_in_required"
    signed_in = await room.client(room.viewer_token, join=False)
    assert (await signed_in.join(sid))["settings"]["allow_anonymous"] is False
    await wait_for(lambda: anon.events["room:settings"], message="settings reach the room")
    forbidden = await signed_in.call("mod:settings", {"session_id": sid, "allow_anonymous": True})
    assert forbidden["error"]["code"] == "forbidden"


async def test_rest_chat_pins_and_audience(room: Room, client: Any, services: Services) -> None:
    sid = room.session_id
    viewer = await room.client(room.viewer_token)
    mod = await room.client(room.mod_token)
    for text in ("one", "two", "three"):
        assert (await viewer.call("chat:send", {"session_id": sid, "text": text}))["ok"]
    await mod.call("pin:add", {"session_id": sid, "product_id": room.product_ids[0]})
    await mod.call("pin:remove", {"session_id": sid, "product_id": room.product_ids[0]})

    resp = await client.get(f"/api/sessions/{sid}/chat")
    assert resp.status == 200
    items = (await resp.json())["items"]
    assert [m["text"] for m in items] == ["one", "two", "three"]
    resp = await client.get(f"/api/sessions/{sid}/chat?after_id={items[0]['id']}&limit=1")
    assert [m["text"] for m in (await resp.json())["items"]] == ["two"]
    assert (await client.get("/api/sessions/999999/chat")).status == 404

    pins = (await (await client.get(f"/api/sessions/{sid}/pins")).json())["items"]
    assert len(pins) == 1 and pins[0]["product_id"] == room.product_ids[0]
    assert pins[0]["unpinned_media_time"] is not None

    assert (await client.get(f"/api/sessions/{sid}/audience")).status == 401
    denied = await client.get(f"/api/sessions/{sid}/audience", headers=auth(room.viewer_token))
    assert denied.status == 403
    assert services.room is not None
    await services.room.ticker.stop()  # flushes per-minute stats and watch time
    resp = await client.get(f"/api/sessions/{sid}/audience", headers=auth(room.host_token))
    assert resp.status == 200
    stats = await resp.json()
    assert stats["chat_messages"] == 3
    assert stats["unique_viewers"] == 1 and stats["peak_viewers"] == 1
    assert stats["minutes"] and stats["minutes"][0]["chat_messages"] == 3
