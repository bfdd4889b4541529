-- Giveaways (issue 14): one at a time per show, entries by present viewers, and a draw that
-- can be checked afterwards (the seed's commitment published at the start, the seed, the
-- entrant list's hash and every attempt stored).

CREATE TABLE giveaways (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL,
    created_by INTEGER NOT NULL,
    product_id INTEGER,
    prize TEXT NOT NULL,
    followers_only INTEGER NOT NULL DEFAULT 0,
    buyers_only INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('open', 'drawing', 'drawn', 'no_winner', 'cancelled')),
    started_at REAL NOT NULL,
    started_media_time REAL,
    ends_at REAL NOT NULL,
    commitment TEXT NOT NULL,
    seed_hex TEXT NOT NULL, -- revealed by the API once drawn
    drawn_at REAL,
    drawn_media_time REAL,
    entrants INTEGER,
    entrants_hash TEXT,
    attempts_json TEXT,
    winner_id INTEGER,
    winner_name TEXT
);
CREATE INDEX giveaways_session ON giveaways (session_id, id);
CREATE UNIQUE INDEX giveaways_one_open ON giveaways (session_id)
    WHERE status IN ('open', 'drawing');

CREATE TABLE giveaway_entries (
    giveaway_id INTEGER NOT NULL REFERENCES giveaways (id),
    user_id INTEGER NOT NULL,
    entered_at REAL NOT NULL,
    media_time REAL,
    PRIMARY KEY (giveaway_id, user_id)
) WITHOUT ROWID;
