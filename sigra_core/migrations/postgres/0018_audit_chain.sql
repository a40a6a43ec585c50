ALTER TABLE sigra_audit_events ADD COLUMN IF NOT EXISTS scrubbed BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE IF NOT EXISTS sigra_audit_links (
    seq BIGINT PRIMARY KEY,
    event_id UUID NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash BYTEA NOT NULL,
    personal_digest BYTEA NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS sigra_audit_links_event_idx ON sigra_audit_links (event_id);
CREATE TABLE IF NOT EXISTS sigra_audit_chain (
    id INTEGER PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    sealed_through TIMESTAMPTZ
);
INSERT INTO sigra_audit_chain (id, seq, hash) VALUES (1, 0, '\x0000000000000000000000000000000000000000000000000000000000000000') ON CONFLICT (id) DO NOTHING;
