"""A show's auctions as its replay shows them: when each started, the lead after every bid
and how it ended, all at media times (seconds from the show's first frame), so the replay's
auction card moves with the video. Built from the stored audit trail; no bidder ids and no
maxima (those stay with the audit's moderators)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from live_server.commerce.auctions.view import AuctionMeta, result_text


def leads_of(bids: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The visible lead after each bid, in the order the book accepted them.

    A bid that changed neither the price nor the leader (a leader raising their own
    maximum) is not a new lead and is left out. A bid stored without a media time (the
    show's clock was not running) cannot be placed on the video and is left out too.
    """
    names = {int(b["bidder_id"]): str(b["bidder_name"]) for b in bids}
    leads: list[dict[str, Any]] = []
    last: tuple[int, int] | None = None
    for count, bid in enumerate(bids, start=1):
        now = (int(bid["price_minor"]), int(bid["leader_id"]))
        if now == last:
            continue
        last = now
        if bid["media_time"] is None:
            continue
        leads.append(
            {
                "media_time": round(float(bid["media_time"]), 3),
                "price_minor": now[0],
                "leader": names.get(now[1], ""),
                "bids": count,
                "extended": bool(bid["extended"]),
            }
        )
    return leads


def auction_timeline(row: Mapping[str, Any], bids: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One auction on the replay: its start and end media times, its leads, its result."""
    meta = AuctionMeta.from_row(row)
    ended = row["status"] not in ("running", "closing")
    text = None
    if ended and row["result"]:
        price = int(row["price_minor"] or 0)
        text = result_text(meta, str(row["result"]), row["winner_name"], price)
    return {
        "id": meta.id,
        "product_id": meta.product_id,
        "title": meta.title,
        "currency": meta.currency,
        "quantity": meta.quantity,
        "start_price_minor": meta.start_price_minor,
        "start": row["started_media_time"],
        "end": row["closed_media_time"] if ended else None,
        "status": row["status"],
        "result": row["result"] if ended else None,
        "result_text": text,
        "price_minor": row["price_minor"],
        "winner": row["winner_name"] if ended and row["winner_id"] else None,
        "leads": leads_of(bids),
    }
