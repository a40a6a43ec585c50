CREATE TABLE IF NOT EXISTS sigra_outbox (
    id BLOB PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    run_at TEXT NOT NULL,
    locked_until TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    done_at TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS sigra_outbox_due_idx ON sigra_outbox (done_at, run_at);
