"""The replay's auction timeline from stored bids: which bids are visible leads."""

from __future__ import annotations

from typing import Any

from live_server.commerce.auctions.timeline import auction_timeline, leads_of


def _bid(seq: int, bidder: int, price: int, leader: int, mt: float | None) -> dict[str, Any]:
    names = {1: "Ana", 2: "Ben"}
    return {
        "seq": seq,
        "bidder_id": bidder,
        "bidder_name": names[bidder],
        "price_minor": price,
        "leader_id": leader,
        "media_time": mt,
        "extended": 0,
    }


def test_a_leader_raising_their_own_maximum_is_not_a_new_lead() -> None:
    bids = [
        _bid(1, 1, 1_000, 1, 3.0),
        _bid(2, 1, 1_000, 1, 4.0),  # Ana raises her maximum: nothing visible changes
        _bid(3, 2, 1_100, 2, 5.0),
    ]
    assert [(ld["leader"], ld["price_minor"], ld["bids"]) for ld in leads_of(bids)] == [
        ("Ana", 1_000, 1),
        ("Ben", 1_100, 3),
    ]


def test_an_outbid_answer_by_a_maximum_names_the_leader_not_the_bidder() -> None:
    bids = [_bid(1, 2, 1_000, 2, 1.0), _bid(2, 1, 1_200, 2, 2.0)]
    assert [ld["leader"] for ld in leads_of(bids)] == ["Ben", "Ben"]


def test_bids_without_a_media_time_cannot_be_placed_on_the_video() -> None:
    bids = [_bid(1, 1, 1_000, 1, None), _bid(2, 2, 1_100, 2, 2.5)]
    assert [ld["media_time"] for ld in leads_of(bids)] == [2.5]


def test_a_running_auction_has_no_result_yet() -> None:
    row = {
        "id": 7,
        "session_id": 1,
        "product_id": 3,
        "seller_id": 9,
        "title": "Vintage lamp",
        "currency": "USD",
        "quantity": 1,
        "start_price_minor": 1_000,
        "reserve_minor": None,
        "mode": "extend",
        "window_s": 10,
        "reset_s": 10,
        "on_payment_failure": "return",
        "status": "running",
        "result": None,
        "started_media_time": 12.0,
        "closed_media_time": None,
        "price_minor": 1_000,
        "winner_id": None,
        "winner_name": None,
    }
    line = auction_timeline(row, [])
    assert line["end"] is None and line["result_text"] is None and line["leads"] == []
    sold = auction_timeline(
        {
            **row,
            "status": "sold",
            "result": "sold",
            "closed_media_time": 40.0,
            "winner_id": 1,
            "winner_name": "Ana",
            "price_minor": 4_200,
        },
        [],
    )
    assert sold["result_text"] == "Sold to Ana for $42" and sold["end"] == 40.0
