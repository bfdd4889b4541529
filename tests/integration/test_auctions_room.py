"""Auctions in a live room on one node, with real python-socketio clients: bids, proxy
bids, refusals in words, the result, and the winner's order through checkout."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from live_server.commerce.auctions.rules import Bid, Book, judge_bid
from live_server.room import ROOM_EVENTS
from support.auctions import start_payload
from support.commerce import ADDRESS, stock_of
from support.helpers import auth, wait_for
from support.room import Room, RoomClient, make_room

pytestmark = pytest.mark.slow  # auctions run for their real seconds


@pytest.fixture
async def room(client: Any, make_user: Any) -> AsyncIterator[Room]:
    base_url = str(client.make_url("/")).rstrip("/")
    r = await make_room(client, make_user, base_url)
    resp = await client.post(f"/api/sessions/{r.session_id}/start", headers=auth(r.host_token))
    assert resp.status == 200, await resp.text()
    for token in (r.viewer_token, r.viewer2_token):
        resp = await client.put(
            "/api/me/checkout-profile",
            json={"address": ADDRESS, "payment_method": "cod"},
            headers=auth(token),
        )
        assert resp.status == 200
    yield r
    await r.close()


def _leads(c: RoomClient) -> list[dict[str, Any]]:
    return list(c.events["auction:lead"])


async def test_two_viewers_bid_and_the_winner_gets_the_order(
    client: Any, room: Room, services: Any
) -> None:
    sid, pid = room.session_id, room.product_ids[0]
    host = await room.client(room.host_token)
    ana = await room.client(room.viewer_token)
    ben = await room.client(room.viewer2_token)
    ana_name = room.viewer["display_name"].split()[0]
    start = await host.call(
        "auction:start", start_payload(sid, pid, duration_s=5, window_s=2, reset_s=2)
    )
    assert start.get("ok"), start
    auction = start["auction"]
    aid = auction["id"]
    assert auction["status"] == "running" and auction["next_bid_minor"] == 1_000
    assert 4_000 < auction["time_left_ms"] <= 5_000 and auction["server_time"] > 0
    await wait_for(lambda: ben.events["auction:started"], message="auction:started")

    def bid(who: RoomClient, amount: int, kind: str = "amount") -> Any:
        payload = {"session_id": sid, "auction_id": aid, "amount_minor": amount, "kind": kind}
        return who.call("auction:bid", payload)

    first = await bid(ana, 1_000)
    assert (
        first["ok"]
        and first["bid"]["winning"]
        and first["bid"]["text"] == ("You're winning at $10.")
    )
    proxy = await bid(ben, 3_000, "max")
    assert proxy["bid"]["winning"] and proxy["bid"]["price_minor"] == 1_100
    # Ana hears she lost the lead, at once (not at the next tick)
    await wait_for(
        lambda: any(ld["leader"]["id"] == room.viewer2["id"] for ld in _leads(ana)),
        message="Ana sees Ben's lead",
    )
    low = await bid(ana, 1_100)
    assert low["error"] == {"code": "bid_too_low", "message": "The next bid is at least $12."}
    answered = await bid(ana, 2_000)
    assert answered["bid"]["outcome"] == "outbid" and not answered["bid"]["winning"]
    assert answered["bid"]["price_minor"] == 2_200  # Ben's maximum answers one step ($2) up
    assert answered["bid"]["text"].startswith("Outbid")
    win = await bid(ana, 5_000, "max")
    assert win["bid"]["winning"] and win["bid"]["price_minor"] == 3_200

    result = await wait_for(lambda: ben.events["auction:result"], timeout=15, message="result")
    assert result[0]["text"] == f"Sold to {ana_name} for $32"
    assert result[0]["winner"]["id"] == room.viewer["id"] and result[0]["price_minor"] == 3_200
    won = await wait_for(lambda: ana.events["auction:won"], message="the winner's notice")
    order = won[0]["order"]
    assert order["total_minor"] == 3_200 and order["items"][0]["unit_price_minor"] == 3_200
    assert order["session_id"] == sid and order["status"] == "confirmed"
    await wait_for(lambda: host.events["order"], message="the host's order notice")
    assert host.events["order"][0]["order_id"] == order["id"]
    resp = await client.get("/api/orders", headers=auth(room.viewer_token))
    assert [o["id"] for o in (await resp.json())["items"]] == [order["id"]]
    assert await stock_of(services, pid) == 10 - 1
    resp = await client.get("/api/orders", headers=auth(room.viewer2_token))
    assert (await resp.json())["items"] == []

    # the leads every viewer saw only ever moved forward
    for c in (host, ana, ben):
        seqs = [ld["seq"] for ld in _leads(c)]
        prices = [ld["price_minor"] for ld in _leads(c)]
        assert seqs == sorted(set(seqs)) and prices == sorted(prices)
    # the audit trail: every accepted bid once, in order, with server and media time
    resp = await client.get(f"/api/auctions/{aid}", headers=auth(room.host_token))
    audit = await resp.json()
    bids = audit["bids"]
    assert [b["seq"] for b in bids] == [1, 2, 3, 4]
    assert [(b["bidder_id"], b["kind"], b["amount_minor"]) for b in bids] == [
        (room.viewer["id"], "amount", 1_000),
        (room.viewer2["id"], "max", 3_000),
        (room.viewer["id"], "amount", 2_000),
        (room.viewer["id"], "max", 5_000),
    ]
    times = [b["server_time"] for b in bids]
    assert times == sorted(times) and all(b["media_time"] is not None for b in bids)
    for b in bids:
        if b["extended"]:
            assert b["ends_at"] == pytest.approx(b["server_time"] + 2, abs=0.002)
    assert [e["kind"] for e in audit["events"]] == ["start", "sold"]
    assert audit["auction"]["status"] == "sold" and audit["auction"]["order_id"] == order["id"]
    # a viewer sees the audit without the leader's private maximum
    resp = await client.get(f"/api/auctions/{aid}", headers=auth(room.viewer2_token))
    public = await resp.json()
    assert "leader_max_minor" not in public["bids"][0] and "order_id" not in public["auction"]
    # the replay's timeline: each visible lead at its media time, then the result
    resp = await client.get(f"/api/sessions/{sid}/auctions/timeline")
    assert resp.status == 200, await resp.text()
    (line,) = (await resp.json())["items"]
    ben_name = room.viewer2["display_name"].split()[0]
    assert [(ld["price_minor"], ld["leader"], ld["bids"]) for ld in line["leads"]] == [
        (1_000, ana_name, 1),
        (1_100, ben_name, 2),
        (2_200, ben_name, 3),
        (3_200, ana_name, 4),
    ]
    marks = [ld["media_time"] for ld in line["leads"]]
    assert marks == sorted(marks) and line["start"] <= marks[0] <= marks[-1] <= line["end"]
    assert line["result_text"] == f"Sold to {ana_name} for $32" and line["winner"] == ana_name
    assert "leader_max_minor" not in str(line) and "bidder_id" not in str(line)
    # replaying the stored bids through the rules gives the server's price and winner
    book = Book(start_price=1_000, ends_at_ms=2**50)
    for b in bids:
        got = judge_bid(book, Bid(b["bidder_id"], b["kind"], b["amount_minor"]), 0)
        assert not hasattr(got, "code"), got
        book = got.book  # type: ignore[union-attr]
    assert (book.price, book.leader) == (3_200, room.viewer["id"])


async def test_refusals_are_in_words(
    app: web.Application, client: Any, room: Room, make_user: Any, services: Any
) -> None:
    sid, pid = room.session_id, room.product_ids[1]
    host = await room.client(room.host_token)
    ana = await room.client(room.viewer_token)
    _, stranger_token = await make_user()
    stranger = await room.client(stranger_token)  # no checkout profile
    start = await host.call("auction:start", start_payload(sid, pid, duration_s=60))
    aid = start["auction"]["id"]
    # a viewer may not start one, a second one may not start while this one runs
    refused = await ana.call("auction:start", start_payload(sid, pid))
    assert refused["error"]["code"] == "forbidden"
    again = await host.call("auction:start", start_payload(sid, room.product_ids[2]))
    assert again["error"] == {
        "code": "auction_running",
        "message": "An auction is already running in this show: let it finish first.",
    }

    def bid(who: RoomClient, amount: int) -> Any:
        return who.call(
            "auction:bid", {"session_id": sid, "auction_id": aid, "amount_minor": amount}
        )

    assert (await bid(host, 1_000))["error"] == {
        "code": "seller_cannot_bid",
        "message": "You're selling this item, so you can't bid on it.",
    }
    assert (await bid(stranger, 1_000))["error"] == {
        "code": "checkout_profile_required",
        "message": "Add a shipping address and a payment method before you bid, so you can pay"
        " if you win.",
    }
    assert (await bid(ana, 900))["error"]["message"] == "Bids on this item start at $10."
    ack = await host.call(
        "mod:timeout", {"session_id": sid, "user_id": room.viewer["id"], "seconds": 60}
    )
    assert ack["ok"]
    timed_out = await bid(ana, 1_000)
    assert timed_out["error"]["code"] == "not_allowed"
    assert timed_out["error"]["message"].startswith("You're timed out for ")
    # a ban recorded on another node before this node dropped the socket
    viewer2 = await room.client(room.viewer2_token)
    resp = await client.put(
        "/api/me/checkout-profile",
        json={"address": ADDRESS, "payment_method": "cod"},
        headers=auth(room.viewer2_token),
    )
    assert resp.status == 200
    await services.room.ctx.state.set_banned(sid, room.viewer2["id"], True)
    banned = await bid(viewer2, 1_000)
    assert banned["error"] == {
        "code": "not_allowed",
        "message": "You've been removed from this show, so you can't take part.",
    }
    # cancelling: allowed before the first bid only
    await services.room.ctx.state.set_banned(sid, room.viewer2["id"], False)
    assert (await bid(viewer2, 1_000))["ok"]
    no = await host.call("auction:cancel", {"session_id": sid, "auction_id": aid})
    assert no["error"]["code"] == "auction_has_bids"
    assert "once it has a bid" in no["error"]["message"]
    # wrong types never reach the service
    bad = await viewer2.call(
        "auction:bid", {"session_id": sid, "auction_id": aid, "amount_minor": "12"}
    )
    assert bad["error"]["code"] == "invalid"
    assert app[ROOM_EVENTS].get("auction:bid") is not None


async def test_cancel_before_a_bid_and_no_bids_returns_the_item(
    client: Any, room: Room, services: Any
) -> None:
    sid = room.session_id
    host = await room.client(room.host_token)
    ana = await room.client(room.viewer_token)
    first = await host.call("auction:start", start_payload(sid, room.product_ids[0]))
    aid = first["auction"]["id"]
    cancelled = await host.call("auction:cancel", {"session_id": sid, "auction_id": aid})
    assert cancelled["ok"] and cancelled["result"]["text"] == "The auction was cancelled."
    await wait_for(lambda: ana.events["auction:result"], message="cancel result")
    # a sudden-death auction with no bids ends unsold at its time
    started = time.time()
    second = await host.call(
        "auction:start",
        start_payload(sid, room.product_ids[0], duration_s=5, mode="sudden_death"),
    )
    assert second["ok"], second
    results = await wait_for(
        lambda: len(ana.events["auction:result"]) == 2 and ana.events["auction:result"],
        timeout=15,
        message="no-bids result",
    )
    assert results[1]["result"] == "no_bids" and time.time() - started >= 5
    resp = await client.get(f"/api/sessions/{sid}/auctions")
    items = (await resp.json())["items"]
    assert [i["status"] for i in items] == ["unsold", "cancelled"]
    assert await stock_of(services, room.product_ids[0]) == 10
