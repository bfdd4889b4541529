-- Flagged chat for the admin screen: messages the blocked-words filter refused (they are
-- never posted, so chat_messages does not hold them). Numbered in the foundation block
-- (0003-0009, accounts and administration); the room writes it (room/reports.py), admins
-- read it. A user's flags in one show are capped per hour, so a spammer cannot fill it.
CREATE TABLE chat_flags (
    id         INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES live_sessions(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    reason     TEXT NOT NULL CHECK (reason IN ('blocked_word')),
    word       TEXT NOT NULL DEFAULT '',
    text       TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX chat_flags_user ON chat_flags(session_id, user_id, created_at);
