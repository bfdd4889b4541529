-- The feed: one row per clip or post with the signals ranking needs, kept up to date on
-- every like, comment, view and purchase so a page is ranked by one indexed scan.

CREATE TABLE feed_items (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('clip', 'post')),
    ref_id        INTEGER NOT NULL,
    creator_id    INTEGER NOT NULL,
    category_mask INTEGER NOT NULL DEFAULT 0,
    created_at    REAL NOT NULL,
    likes         INTEGER NOT NULL DEFAULT 0,
    comments      INTEGER NOT NULL DEFAULT 0,
    views         INTEGER NOT NULL DEFAULT 0,
    purchases     INTEGER NOT NULL DEFAULT 0,
    engagement    REAL NOT NULL DEFAULT 0,
    sponsored     INTEGER NOT NULL DEFAULT 0,
    hidden        INTEGER NOT NULL DEFAULT 0,
    UNIQUE (kind, ref_id)
);
CREATE INDEX feed_items_created ON feed_items(created_at);

-- What a signed-in viewer has watched: ranked lower afterwards.
CREATE TABLE feed_seen (
    user_id INTEGER NOT NULL,
    item_id INTEGER NOT NULL,
    seen_at REAL NOT NULL,
    PRIMARY KEY (user_id, item_id)
) WITHOUT ROWID;

-- What one scroll (feed id from the cursor) has already served: never twice per scroll.
CREATE TABLE feed_served (
    feed_id   TEXT NOT NULL,
    item_id   INTEGER NOT NULL,
    served_at REAL NOT NULL,
    PRIMARY KEY (feed_id, item_id)
) WITHOUT ROWID;
CREATE INDEX feed_served_age ON feed_served(served_at);
