"""Giveaways with real Socket.IO clients: entries, a draw among present entrants only, and
the stored record that reproduces it."""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from live_server.commerce.giveaways.rules import Attempt, replay_draw
from support.auctions import insert_viewers
from support.helpers import auth, wait_for
from support.room import Room, make_room


@pytest.fixture
async def room(client: Any, make_user: Any) -> AsyncIterator[Room]:
    r = await make_room(client, make_user, str(client.make_url("/")).rstrip("/"))
    resp = await client.post(f"/api/sessions/{r.session_id}/start", headers=auth(r.host_token))
    assert resp.status == 200
    yield r
    await r.close()


async def _end_now(services: Any, giveaway_id: int) -> None:
    # the giveaway's clock, moved to its end (the draw itself runs as in production)
    await services.db.execute(
        "UPDATE giveaways SET ends_at = ? WHERE id = ?", (time.time(), giveaway_id)
    )


async def test_only_present_entrants_can_win_and_the_draw_replays(
    client: Any, room: Room, services: Any
) -> None:
    sid = room.session_id
    host = await room.client(room.host_token)
    people = insert_viewers(services.db.path, services.settings.secret, 8)
    clients = [await room.client(p.token) for p in people]
    started = await host.call(
        "giveaway:start", {"session_id": sid, "product_id": room.product_ids[0], "duration_s": 600}
    )
    assert started.get("ok"), started
    giveaway = started["giveaway"]
    assert giveaway["prize"] == "Product 0 <b>bold</b>" and len(giveaway["commitment"]) == 64
    gid = giveaway["id"]
    await wait_for(lambda: all(c.events["giveaway:started"] for c in clients), message="start")
    for c in clients:
        ack = await c.call("giveaway:enter", {"session_id": sid, "giveaway_id": gid})
        assert ack.get("ok") and ack["text"].startswith("You're in!"), ack
    again = await clients[0].call("giveaway:enter", {"session_id": sid, "giveaway_id": gid})
    assert again.get("ok")  # entering twice is one entry
    host_try = await host.call("giveaway:enter", {"session_id": sid, "giveaway_id": gid})
    assert host_try["error"]["message"] == "You can't enter your own giveaway."
    second = await host.call("giveaway:start", {"session_id": sid, "prize": "x", "duration_s": 60})
    assert second["error"]["code"] == "giveaway_running"
    await wait_for(
        lambda: any(t.get("giveaway", {}).get("entrants") == 8 for t in host.ticks()),
        message="the tick counts entrants",
    )
    # six of the eight leave the room before the draw
    present = {people[2].id, people[5].id}
    for p, c in zip(people, clients, strict=True):
        if p.id not in present:
            await c.close()
    await _end_now(services, gid)
    result = await wait_for(lambda: host.events["giveaway:result"], message="the draw")
    winner = result[0]["winner"]
    assert winner is not None and winner["id"] in present
    assert result[0]["text"] == f"{winner['name']} won Product 0 <b>bold</b>!"
    winner_c = clients[[p.id for p in people].index(winner["id"])]
    await wait_for(lambda: winner_c.events["giveaway:won"], message="the winner's notice")

    resp = await client.get(f"/api/giveaways/{gid}")
    record = (await resp.json())["giveaway"]
    assert sorted(record["entrant_ids"]) == sorted(p.id for p in people)
    seed = bytes.fromhex(record["seed_hex"])
    assert hashlib.sha256(seed).hexdigest() == giveaway["commitment"]
    attempts = [Attempt(a["attempt"], a["user_id"], a["present"]) for a in record["attempts"]]
    assert all(not a.present for a in attempts[:-1]) and attempts[-1].present
    assert all(a.user_id not in present for a in attempts[:-1])
    assert replay_draw(seed, gid, record["entrant_ids"], attempts) == winner["id"]


async def test_followers_only_and_nobody_present(client: Any, room: Room, services: Any) -> None:
    sid = room.session_id
    host = await room.client(room.host_token)
    fan = await room.client(room.viewer_token)
    started = await host.call(
        "giveaway:start",
        {"session_id": sid, "prize": "A signed poster", "duration_s": 600, "followers_only": True},
    )
    gid = started["giveaway"]["id"]
    refused = await fan.call("giveaway:enter", {"session_id": sid, "giveaway_id": gid})
    assert refused["error"] == {
        "code": "followers_only",
        "message": "This giveaway is for followers: follow the host to enter.",
    }
    resp = await client.put(f"/api/users/{room.host['id']}/follow", headers=auth(room.viewer_token))
    assert resp.status in (200, 201, 204), await resp.text()
    assert (await fan.call("giveaway:enter", {"session_id": sid, "giveaway_id": gid}))["ok"]
    await fan.close()
    await _end_now(services, gid)
    result = await wait_for(lambda: host.events["giveaway:result"], message="the draw")
    assert result[0]["winner"] is None and result[0]["status"] == "no_winner"
    assert result[0]["text"] == "No one present entered: no winner."
