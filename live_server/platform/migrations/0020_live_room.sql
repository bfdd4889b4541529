-- The live room: chat, pins, moderation, reactions and per-minute audience stats.

CREATE TABLE chat_messages (
    id          INTEGER PRIMARY KEY,
    session_id  INTEGER NOT NULL REFERENCES live_sessions(id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    text        TEXT NOT NULL CHECK (length(text) BETWEEN 1 AND 4000),
    created_at  REAL NOT NULL,
    media_time  REAL,
    deleted_at  REAL,
    deleted_by  INTEGER REFERENCES users(id)
);
CREATE INDEX chat_messages_session ON chat_messages(session_id, id);

-- One row per pin; unpinned_media_time stays NULL while the card is up.
CREATE TABLE pins (
    id                  INTEGER PRIMARY KEY,
    session_id          INTEGER NOT NULL REFERENCES live_sessions(id) ON DELETE CASCADE,
    product_id          INTEGER NOT NULL REFERENCES products(id),
    pinned_by           INTEGER NOT NULL REFERENCES users(id),
    pinned_media_time   REAL NOT NULL,
    unpinned_media_time REAL,
    created_at          REAL NOT NULL,
    unpinned_at         REAL,
    unpinned_by         INTEGER REFERENCES users(id)
);
CREATE INDEX pins_session ON pins(session_id, id);
-- A product is pinned at most once at a time in a session.
CREATE UNIQUE INDEX pins_active ON pins(session_id, product_id) WHERE unpinned_at IS NULL;

CREATE TABLE moderation_log (
    id                INTEGER PRIMARY KEY,
    session_id        INTEGER NOT NULL REFERENCES live_sessions(id) ON DELETE CASCADE,
    actor_id          INTEGER NOT NULL REFERENCES users(id),
    action            TEXT NOT NULL,
    target_user_id    INTEGER REFERENCES users(id),
    target_message_id INTEGER REFERENCES chat_messages(id),
    detail            TEXT NOT NULL DEFAULT '',
    created_at        REAL NOT NULL
);
CREATE INDEX moderation_log_session ON moderation_log(session_id, id);

CREATE TABLE blocked_words (
    session_id INTEGER NOT NULL REFERENCES live_sessions(id) ON DELETE CASCADE,
    word       TEXT NOT NULL,
    PRIMARY KEY (session_id, word)
);

CREATE TABLE room_bans (
    session_id INTEGER NOT NULL REFERENCES live_sessions(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    banned_by  INTEGER NOT NULL REFERENCES users(id),
    reason     TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    PRIMARY KEY (session_id, user_id)
);

CREATE TABLE room_timeouts (
    session_id INTEGER NOT NULL REFERENCES live_sessions(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    until      REAL NOT NULL,
    PRIMARY KEY (session_id, user_id)
);

CREATE TABLE room_settings (
    session_id        INTEGER PRIMARY KEY REFERENCES live_sessions(id) ON DELETE CASCADE,
    slow_mode_seconds INTEGER NOT NULL DEFAULT 0 CHECK (slow_mode_seconds BETWEEN 0 AND 3600),
    allow_anonymous   INTEGER NOT NULL DEFAULT 1 CHECK (allow_anonymous IN (0, 1))
);

CREATE TABLE reaction_totals (
    session_id INTEGER NOT NULL REFERENCES live_sessions(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    total      INTEGER NOT NULL DEFAULT 0 CHECK (total >= 0),
    PRIMARY KEY (session_id, kind)
);

-- Audience analytics: one row per session and epoch minute (minute = floor(t/60)*60).
CREATE TABLE room_minute_stats (
    session_id    INTEGER NOT NULL REFERENCES live_sessions(id) ON DELETE CASCADE,
    minute        INTEGER NOT NULL,
    viewers_max   INTEGER NOT NULL DEFAULT 0,
    reactions     INTEGER NOT NULL DEFAULT 0,
    chat_messages INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, minute)
);

-- One row per distinct viewer (user id, or an anonymous connection key) per session.
CREATE TABLE session_viewers (
    session_id    INTEGER NOT NULL REFERENCES live_sessions(id) ON DELETE CASCADE,
    viewer_key    TEXT NOT NULL,
    first_seen    REAL NOT NULL,
    last_seen     REAL NOT NULL,
    watch_seconds REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, viewer_key)
);
