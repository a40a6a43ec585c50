ALTER TABLE sigra_audit_events ADD COLUMN scrubbed INTEGER NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS sigra_audit_links (
    seq INTEGER PRIMARY KEY NOT NULL,
    event_id BLOB NOT NULL,
    occurred_at TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL,
    personal_digest BLOB NOT NULL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS sigra_audit_links_event_idx ON sigra_audit_links (event_id);
CREATE TABLE IF NOT EXISTS sigra_audit_chain (
    id INTEGER PRIMARY KEY NOT NULL,
    seq INTEGER NOT NULL,
    hash BLOB NOT NULL,
    sealed_through TEXT
) STRICT;
INSERT OR IGNORE INTO sigra_audit_chain (id, seq, hash) VALUES (1, 0, zeroblob(32));
