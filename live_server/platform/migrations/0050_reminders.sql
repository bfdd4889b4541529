-- "Remind me" on an upcoming show: one row per user and show. When the show goes live the
-- users with a reminder and an open socket get a notice (content/reminders), and the row
-- records that it was sent, so a show that reconnects does not notify twice.
CREATE TABLE show_reminders (
    session_id  INTEGER NOT NULL REFERENCES live_sessions(id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    created_at  REAL NOT NULL,
    notified_at REAL,
    PRIMARY KEY (session_id, user_id)
);
CREATE INDEX show_reminders_user ON show_reminders(user_id);
