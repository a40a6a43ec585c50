CREATE TABLE IF NOT EXISTS sigra_audit_events (
    id BLOB PRIMARY KEY NOT NULL,
    actor_id BLOB,
    target_id BLOB,
    action TEXT NOT NULL,
    metadata TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    occurred_at TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS sigra_audit_events_occurred_idx ON sigra_audit_events (occurred_at);
CREATE INDEX IF NOT EXISTS sigra_audit_events_actor_idx ON sigra_audit_events (actor_id);
CREATE INDEX IF NOT EXISTS sigra_audit_events_target_idx ON sigra_audit_events (target_id);
