-- Accounts, catalog and live sessions: the foundation every later area builds on.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'viewer' CHECK (role IN ('viewer', 'host', 'admin')),
    interests     TEXT NOT NULL DEFAULT '[]',
    created_at    REAL NOT NULL
);

CREATE TABLE products (
    id              INTEGER PRIMARY KEY,
    owner_id        INTEGER NOT NULL REFERENCES users(id),
    title           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    price_minor     INTEGER NOT NULL CHECK (price_minor >= 0),
    currency        TEXT NOT NULL DEFAULT 'USD',
    category        TEXT NOT NULL,
    stock           INTEGER NOT NULL DEFAULT 0 CHECK (stock >= 0),
    per_buyer_limit INTEGER CHECK (per_buyer_limit IS NULL OR per_buyer_limit >= 1),
    images          TEXT NOT NULL DEFAULT '[]',
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL,
    deleted_at      REAL
);
CREATE INDEX products_owner ON products(owner_id) WHERE deleted_at IS NULL;
CREATE INDEX products_category ON products(category) WHERE deleted_at IS NULL;

CREATE TABLE live_sessions (
    id           INTEGER PRIMARY KEY,
    host_id      INTEGER NOT NULL REFERENCES users(id),
    title        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    starts_at    REAL NOT NULL,
    cover_url    TEXT,
    state        TEXT NOT NULL DEFAULT 'scheduled'
                 CHECK (state IN ('scheduled', 'live', 'reconnecting', 'ended')),
    visibility   TEXT NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'private')),
    stream_key   TEXT NOT NULL,
    created_at   REAL NOT NULL,
    went_live_at REAL,
    ended_at     REAL
);
CREATE INDEX live_sessions_state ON live_sessions(state, starts_at);
CREATE INDEX live_sessions_host ON live_sessions(host_id);

CREATE TABLE session_products (
    session_id INTEGER NOT NULL REFERENCES live_sessions(id) ON DELETE CASCADE,
    product_id INTEGER NOT NULL REFERENCES products(id),
    position   INTEGER NOT NULL,
    PRIMARY KEY (session_id, product_id)
);

CREATE TABLE session_moderators (
    session_id INTEGER NOT NULL REFERENCES live_sessions(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (session_id, user_id)
);
CREATE INDEX session_moderators_user ON session_moderators(user_id);
