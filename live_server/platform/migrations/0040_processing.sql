-- After the show: processing jobs, replays and product clips.
-- recording_id refers to the media area's `recordings` table; no foreign key so that this
-- block never depends on another area's migration order.

CREATE TABLE processing_jobs (
    id           INTEGER PRIMARY KEY,
    session_id   INTEGER NOT NULL REFERENCES live_sessions(id) ON DELETE CASCADE,
    recording_id INTEGER NOT NULL,
    state        TEXT NOT NULL DEFAULT 'queued'
                 CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 3,
    progress     REAL NOT NULL DEFAULT 0,
    step         TEXT NOT NULL DEFAULT '',
    error        TEXT,
    requested_by INTEGER,
    created_at   REAL NOT NULL,
    updated_at   REAL NOT NULL,
    started_at   REAL,
    finished_at  REAL
);
CREATE INDEX processing_jobs_state ON processing_jobs(state, id);
CREATE INDEX processing_jobs_session ON processing_jobs(session_id, id);

CREATE TABLE replays (
    session_id   INTEGER PRIMARY KEY REFERENCES live_sessions(id) ON DELETE CASCADE,
    recording_id INTEGER NOT NULL,
    job_id       INTEGER,
    video_url    TEXT NOT NULL,
    poster_url   TEXT NOT NULL,
    duration_s   REAL NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    transcoded   INTEGER NOT NULL DEFAULT 0,
    created_at   REAL NOT NULL
);

CREATE TABLE clips (
    id           INTEGER PRIMARY KEY,
    session_id   INTEGER NOT NULL REFERENCES live_sessions(id) ON DELETE CASCADE,
    recording_id INTEGER,
    job_id       INTEGER,
    host_id      INTEGER NOT NULL REFERENCES users(id),
    source       TEXT NOT NULL CHECK (source IN ('auto', 'manual', 'demo')),
    title        TEXT NOT NULL DEFAULT '',
    start_s      REAL NOT NULL,
    end_s        REAL NOT NULL,
    duration_s   REAL NOT NULL,
    video_url    TEXT NOT NULL,
    poster_url   TEXT NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    transcoded   INTEGER NOT NULL DEFAULT 0,
    created_by   INTEGER REFERENCES users(id),
    created_at   REAL NOT NULL,
    deleted_at   REAL
);
CREATE INDEX clips_session ON clips(session_id, start_s);

CREATE TABLE clip_products (
    clip_id    INTEGER NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
    product_id INTEGER NOT NULL REFERENCES products(id),
    position   INTEGER NOT NULL,
    PRIMARY KEY (clip_id, product_id)
);
