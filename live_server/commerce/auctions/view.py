"""An auction as the room, the pages and the API show it: payloads built from its row and
its book. Every payload carries the time left and the server time (not only a deadline),
so a page counts down correctly whatever its own clock says."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from live_server.commerce.auctions.book import BidRecord, BookView
from live_server.commerce.auctions.rules import (
    RUNNING,
    SOLD,
    increment,
    minimum_bid,
    money,
    time_left_ms,
)


@dataclass(frozen=True, slots=True)
class AuctionMeta:
    """What does not change during an auction (from its row)."""

    id: int
    session_id: int
    product_id: int
    seller_id: int
    title: str
    currency: str
    quantity: int
    start_price_minor: int
    reserve_minor: int | None
    mode: str
    window_s: int
    reset_s: int
    on_payment_failure: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AuctionMeta:
        """From an `auctions` row."""
        return cls(
            id=int(row["id"]),
            session_id=int(row["session_id"]),
            product_id=int(row["product_id"]),
            seller_id=int(row["seller_id"]),
            title=str(row["title"]),
            currency=str(row["currency"]),
            quantity=int(row["quantity"]),
            start_price_minor=int(row["start_price_minor"]),
            reserve_minor=row["reserve_minor"],
            mode=str(row["mode"]),
            window_s=int(row["window_s"]),
            reset_s=int(row["reset_s"]),
            on_payment_failure=str(row["on_payment_failure"]),
        )


def _leader(leader_id: int, name: str) -> dict[str, Any] | None:
    return {"id": leader_id, "name": name} if leader_id else None


def live_payload(meta: AuctionMeta, view: BookView) -> dict[str, Any]:
    """The auction card's state now (the tick, `auction:state`, the join and the API)."""
    book = view.book
    reserve_met = None
    if meta.reserve_minor:
        reserve_met = book.leader != 0 and book.price >= meta.reserve_minor
    return {
        "id": meta.id,
        "session_id": meta.session_id,
        "product_id": meta.product_id,
        "title": meta.title,
        "currency": meta.currency,
        "quantity": meta.quantity,
        "mode": meta.mode,
        "window_s": meta.window_s,
        "reset_s": meta.reset_s,
        "status": book.status,
        "result": view.result or None,
        "start_price_minor": meta.start_price_minor,
        "price_minor": book.price,
        "next_bid_minor": minimum_bid(book) if book.status == RUNNING else None,
        "leader": _leader(book.leader, view.leader_name),
        "bids": book.bids,
        "seq": book.seq,
        "reserve_met": reserve_met,
        "time_left_ms": time_left_ms(book, view.now_ms) if book.status == RUNNING else 0,
        "server_time": view.now_ms / 1000,
        "ends_at": book.ends_at_ms / 1000,
    }


def lead_payload(meta: AuctionMeta, record: BidRecord) -> dict[str, Any]:
    """`auction:lead`: a bid moved the price or the leader (sent at once, in seq order)."""
    return {
        "auction_id": record.auction_id,
        "session_id": record.session_id,
        "seq": record.seq,
        "currency": meta.currency,
        "price_minor": record.price,
        "next_bid_minor": record.price + increment(record.price),
        "leader": _leader(record.leader, record.leader_name),
        "bids": record.bids,
        "extended": record.extended,
        "time_left_ms": max(0, record.ends_at_ms - record.at_ms),
        "server_time": record.at_ms / 1000,
        "ends_at": record.ends_at_ms / 1000,
        "sent_at": time.time(),
    }


def result_text(meta: AuctionMeta, result: str, winner_name: str | None, price: int) -> str:
    """ "Sold to Ana for $42" and the other endings, for the room."""
    total = money(price * meta.quantity, meta.currency)
    if result == SOLD:
        lot = f" ({meta.quantity} × {money(price, meta.currency)})" if meta.quantity > 1 else ""
        return f"Sold to {winner_name} for {total}{lot}"
    if result == "no_bids":
        return "No bids: the item goes back on the shelf."
    if result == "reserve_not_met":
        return "The reserve price wasn't met: not sold."
    if result == "cancelled":
        return "The auction was cancelled."
    if result == "offered":
        return f"The winner couldn't pay: offered to {winner_name} for {total}."
    return "The winner couldn't pay: the item goes back on the shelf."


def result_payload(
    meta: AuctionMeta,
    *,
    status: str,
    result: str,
    winner: tuple[int, str] | None,
    price: int,
    bids: int,
) -> dict[str, Any]:
    """`auction:result`: how an auction ended (or a sale that moved to the next bidder)."""
    return {
        "auction_id": meta.id,
        "session_id": meta.session_id,
        "product_id": meta.product_id,
        "title": meta.title,
        "status": status,
        "result": result,
        "winner": _leader(winner[0], winner[1]) if winner else None,
        "price_minor": price,
        "total_minor": price * meta.quantity,
        "quantity": meta.quantity,
        "currency": meta.currency,
        "bids": bids,
        "text": result_text(meta, result, winner[1] if winner else None, price),
        "server_time": time.time(),
    }


def row_payload(row: Mapping[str, Any]) -> dict[str, Any]:
    """An auction from its stored row (the API's list and the replay)."""
    return {
        "id": row["id"],
        "session_id": row["session_id"],
        "product_id": row["product_id"],
        "title": row["title"],
        "currency": row["currency"],
        "quantity": row["quantity"],
        "status": row["status"],
        "result": row["result"],
        "mode": row["mode"],
        "start_price_minor": row["start_price_minor"],
        "reserve_minor": row["reserve_minor"],
        "price_minor": row["price_minor"],
        "bids": row["bids"],
        "winner": _leader(row["winner_id"], row["winner_name"] or "") if row["winner_id"] else None,
        "started_at": row["started_at"],
        "started_media_time": row["started_media_time"],
        "closed_at": row["closed_at"],
        "closed_media_time": row["closed_media_time"],
    }
