-- Order emails (issue 15): where a person wants order news (their contact address, given in
-- the checkout sheet), and the outbox the background sender works through. A message is
-- queued once per (kind, reference, recipient); failed sends are retried later with backoff.
CREATE TABLE contact_emails (
    user_id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    updated_at REAL NOT NULL
);

CREATE TABLE email_outbox (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    ref TEXT NOT NULL,
    to_addr TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    sent_at REAL,
    failed_at REAL,
    last_error TEXT,
    created_at REAL NOT NULL,
    UNIQUE (kind, ref, to_addr)
);
CREATE INDEX email_outbox_due ON email_outbox (next_attempt_at)
    WHERE sent_at IS NULL AND failed_at IS NULL;
