"""When the winner cannot pay: the item goes to the next highest bidder, or back on the
shelf, as the host chose. Payments go through a card-like provider (orders wait for a
signed webhook) behind the same PaymentProvider interface as the built-in one."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from live_server.commerce.payments.service import (
    SIGNATURE_HEADER,
    PaymentEvent,
    PaymentStart,
    parse_standard_event,
    sign_webhook,
)
from live_server.settings import Settings
from support.auctions import start_payload
from support.commerce import ADDRESS, stock_of
from support.helpers import auth, wait_for
from support.room import Room, make_room

pytestmark = pytest.mark.slow
SECRET = "whsec-auction-secret"


class PendingCard:
    """A provider whose orders wait for the merchant's signed webhook."""

    name = "pendingcard"
    methods: tuple[str, ...] = ("pendingcard",)
    confirms_immediately = False

    async def begin(self, order: dict[str, Any]) -> PaymentStart:
        return PaymentStart("pi_" + order["id"][-8:], "Confirm the payment in your bank app.")

    def parse_event(self, payload: dict[str, Any]) -> PaymentEvent:
        return parse_standard_event(payload)


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return Settings.load(
        {
            "data_dir": tmp_path / "var",
            "secret": "test-secret",
            "webhook_secret": SECRET,
            "signup_burst": 10_000,
        },
        env={},
    )


@pytest.fixture
async def room(client: Any, make_user: Any, services: Any) -> AsyncIterator[Room]:
    services.payments.register(PendingCard())
    r = await make_room(client, make_user, str(client.make_url("/")).rstrip("/"))
    resp = await client.post(f"/api/sessions/{r.session_id}/start", headers=auth(r.host_token))
    assert resp.status == 200
    for token in (r.viewer_token, r.viewer2_token, r.mod_token):
        resp = await client.put(
            "/api/me/checkout-profile",
            json={"address": ADDRESS, "payment_method": "pendingcard"},
            headers=auth(token),
        )
        assert resp.status == 200, await resp.text()
    yield r
    await r.close()


async def _fail(client: Any, order_id: str) -> None:
    raw = json.dumps(
        {"id": "evt_" + uuid.uuid4().hex, "type": "payment.failed", "order_id": order_id}
    ).encode()
    resp = await client.post(
        "/api/payments/webhook/pendingcard",
        data=raw,
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign_webhook(SECRET, raw, int(time.time())),
        },
    )
    assert resp.status == 200, await resp.text()


async def _war(room: Room, **terms: Any) -> tuple[Any, Any, Any, Any, int]:
    sid, pid = room.session_id, room.product_ids[0]
    host = await room.client(room.host_token)
    ana = await room.client(room.viewer_token)
    ben = await room.client(room.viewer2_token)
    cat = await room.client(room.mod_token)  # a moderator may bid; only the seller may not
    started = await host.call("auction:start", start_payload(sid, pid, duration_s=5, **terms))
    aid = started["auction"]["id"]
    for who, amount in ((ben, 1_500), (cat, 2_000), (ana, 4_000)):
        ack = await who.call(
            "auction:bid", {"session_id": sid, "auction_id": aid, "amount_minor": amount}
        )
        assert ack.get("ok"), ack
    return host, ana, ben, cat, aid


async def test_a_failed_payment_offers_the_item_to_the_next_bidder(
    client: Any, room: Room, services: Any
) -> None:
    host, ana, _ben, cat, aid = await _war(room)
    pid = room.product_ids[0]
    first = await wait_for(lambda: ana.events["auction:won"], timeout=15, message="Ana wins")
    order = first[0]["order"]
    assert order["status"] == "pending_payment" and order["total_minor"] == 4_000
    assert await stock_of(services, pid) == 9  # held for Ana while she pays
    await _fail(client, order["id"])
    offered = await wait_for(lambda: cat.events["auction:won"], timeout=10, message="offer")
    second = offered[0]["order"]
    assert second["buyer_id"] == room.mod["id"] and second["total_minor"] == 2_000
    assert offered[0]["result"] == "offered"
    results = await wait_for(
        lambda: len(host.events["auction:result"]) == 2 and host.events["auction:result"],
        message="the second result",
    )
    assert results[1]["text"].startswith("The winner couldn't pay: offered to ")
    assert await stock_of(services, pid) == 9  # Ana's unit back, Cat's held
    resp = await client.get(f"/api/auctions/{aid}", headers=auth(room.host_token))
    audit = await resp.json()
    assert [e["kind"] for e in audit["events"]] == ["start", "sold", "payment_failed", "sold"]
    assert audit["auction"]["winner"]["id"] == room.mod["id"]
    assert audit["auction"]["order_id"] == second["id"]


async def test_a_failed_payment_returns_the_item_when_the_host_said_so(
    client: Any, room: Room, services: Any
) -> None:
    host, ana, _ben, cat, _aid = await _war(room, on_payment_failure="return")
    first = await wait_for(lambda: ana.events["auction:won"], timeout=15, message="Ana wins")
    await _fail(client, first[0]["order"]["id"])
    results = await wait_for(
        lambda: len(host.events["auction:result"]) == 2 and host.events["auction:result"],
        message="the return",
    )
    assert results[1]["status"] == "returned"
    assert results[1]["text"] == "The winner couldn't pay: the item goes back on the shelf."
    assert not cat.events["auction:won"]
    assert await stock_of(services, room.product_ids[0]) == 10
