-- Live auctions (issue 14): the auction with its terms and result, every accepted bid
-- (the audit trail, with server and media time), and the other things that happened to it
-- (start, result, cancellation, a second-chance offer, a return). Amounts are per unit of
-- the lot, in minor units.

CREATE TABLE auctions (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL,
    product_id INTEGER NOT NULL,
    seller_id INTEGER NOT NULL,
    started_by INTEGER NOT NULL,
    title TEXT NOT NULL,
    currency TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    start_price_minor INTEGER NOT NULL CHECK (start_price_minor > 0),
    reserve_minor INTEGER,
    mode TEXT NOT NULL CHECK (mode IN ('extend', 'sudden_death')),
    window_s INTEGER NOT NULL,
    reset_s INTEGER NOT NULL,
    duration_s INTEGER NOT NULL,
    on_payment_failure TEXT NOT NULL CHECK (on_payment_failure IN ('next_bidder', 'return')),
    -- running -> closing -> sold | unsold | cancelled; sold -> closing (payment failed) -> ...
    status TEXT NOT NULL
        CHECK (status IN ('running', 'closing', 'sold', 'unsold', 'cancelled', 'returned')),
    result TEXT,
    started_at REAL NOT NULL,
    started_media_time REAL,
    ends_at REAL NOT NULL,
    closed_at REAL,
    closed_media_time REAL,
    price_minor INTEGER,
    bids INTEGER NOT NULL DEFAULT 0,
    winner_id INTEGER,
    winner_name TEXT,
    order_id TEXT,
    offers INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX auctions_session ON auctions (session_id, started_at);
-- one auction at a time per show, whichever node starts it
CREATE UNIQUE INDEX auctions_one_running ON auctions (session_id)
    WHERE status IN ('running', 'closing');
CREATE INDEX auctions_sold_order ON auctions (order_id) WHERE status = 'sold';

CREATE TABLE auction_bids (
    auction_id INTEGER NOT NULL REFERENCES auctions (id),
    seq INTEGER NOT NULL,
    bidder_id INTEGER NOT NULL,
    bidder_name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('amount', 'max')),
    amount_minor INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    price_minor INTEGER NOT NULL,
    leader_id INTEGER NOT NULL,
    leader_max_minor INTEGER NOT NULL,
    extended INTEGER NOT NULL,
    ends_at REAL NOT NULL,
    server_time REAL NOT NULL,
    media_time REAL,
    PRIMARY KEY (auction_id, seq)
) WITHOUT ROWID;

CREATE TABLE auction_events (
    id INTEGER PRIMARY KEY,
    auction_id INTEGER NOT NULL REFERENCES auctions (id),
    kind TEXT NOT NULL,
    detail_json TEXT NOT NULL,
    server_time REAL NOT NULL,
    media_time REAL
);
CREATE INDEX auction_events_auction ON auction_events (auction_id, id);
