"""The demo replay's auction: the candle sold to Ana after a short bidding war, stored as the
auctions feature stores a finished one (its row, every accepted bid with server and media
time, its start and result events), so the replay shows the card and the moments strip
move with the video. Written directly, like the demo's pins and chat. NOT for production."""

from __future__ import annotations

import json

from live_server.platform.db import Database

PRODUCT = "Scented Soy Candle"
START_S, END_S = 42.0, 52.0
START_PRICE = 1_000
# (media time, bidder's username, amount; each bid leads at its own amount)
BIDS = ((43.5, "demo-viewer", 1_000), (45.0, "demo-mod", 1_100), (47.2, "demo-viewer", 1_200))


async def seed_demo_auction(
    db: Database, session_id: int, host_id: int, product_id: int, went_live_at: float
) -> None:
    """Stores the finished demo auction of the show (once: the show is new)."""
    product = await db.fetchone("SELECT title, currency FROM products WHERE id = ?", (product_id,))
    if product is None:
        return
    title, currency = str(product["title"]), str(product["currency"])
    bidders = {}
    for _, username, _ in BIDS:
        row = await db.fetchone(
            "SELECT id, display_name FROM users WHERE username = ?", (username,)
        )
        if row is None:
            return
        bidders[username] = (int(row[0]), str(row[1]).split()[0])
    at = went_live_at
    winner_id, winner_name = bidders[BIDS[-1][1]]
    price = BIDS[-1][2]
    async with db.transaction() as tx:
        cur = await tx.execute(
            "INSERT INTO auctions (session_id, product_id, seller_id, started_by, title, currency,"
            " quantity, start_price_minor, mode, window_s, reset_s, duration_s,"
            " on_payment_failure, status, result, started_at, started_media_time, ends_at,"
            " closed_at, closed_media_time, price_minor, bids, winner_id, winner_name)"
            " VALUES (?, ?, ?, ?, ?, ?, 1, ?, 'extend', 10, 10, 8, 'return', 'sold', 'sold',"
            " ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session_id, product_id, host_id, host_id, title, currency, START_PRICE,
                at + START_S, START_S, at + END_S, at + END_S, END_S, price, len(BIDS),
                winner_id, winner_name,
            ),
        )  # fmt: skip
        auction_id = int(cur.lastrowid or 0)
        for seq, (mt, username, amount) in enumerate(BIDS, start=1):
            bidder, name = bidders[username]
            await tx.execute(
                "INSERT INTO auction_bids (auction_id, seq, bidder_id, bidder_name, kind,"
                " amount_minor, outcome, price_minor, leader_id, leader_max_minor, extended,"
                " ends_at, server_time, media_time)"
                " VALUES (?, ?, ?, ?, 'amount', ?, 'leading', ?, ?, ?, 0, ?, ?, ?)",
                (auction_id, seq, bidder, name, amount, amount, bidder, amount,
                 at + END_S, at + mt, mt),
            )  # fmt: skip
        text = f"Sold to {winner_name} for ${price // 100}"
        for kind, mt, detail in (("start", START_S, {}), ("sold", END_S, {"text": text})):
            await tx.execute(
                "INSERT INTO auction_events (auction_id, kind, detail_json, server_time,"
                " media_time) VALUES (?, ?, ?, ?, ?)",
                (auction_id, kind, json.dumps(detail), at + mt, mt),
            )
