-- Media plane: one row per recording of a live session (a reconnect within the grace
-- period continues the same recording; a session has at most one 'recording' row).
CREATE TABLE recordings (
    id          INTEGER PRIMARY KEY,
    session_id  INTEGER NOT NULL REFERENCES live_sessions(id) ON DELETE CASCADE,
    path        TEXT NOT NULL,
    container   TEXT NOT NULL,
    video_codec TEXT,
    audio_codec TEXT,
    duration_s  REAL NOT NULL DEFAULT 0,
    size_bytes  INTEGER NOT NULL DEFAULT 0,
    started_at  REAL NOT NULL,
    ended_at    REAL,
    status      TEXT NOT NULL DEFAULT 'recording'
                CHECK (status IN ('recording', 'finished', 'failed'))
);
CREATE INDEX recordings_session ON recordings(session_id, started_at);
CREATE INDEX recordings_status ON recordings(status);
