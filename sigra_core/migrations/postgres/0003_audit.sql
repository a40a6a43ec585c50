CREATE TABLE IF NOT EXISTS sigra_audit_events (
    id UUID PRIMARY KEY,
    actor_id UUID,
    target_id UUID,
    action TEXT NOT NULL,
    metadata JSONB NOT NULL,
    ip TEXT,
    user_agent TEXT,
    occurred_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS sigra_audit_events_occurred_idx ON sigra_audit_events (occurred_at);
CREATE INDEX IF NOT EXISTS sigra_audit_events_actor_idx ON sigra_audit_events (actor_id);
CREATE INDEX IF NOT EXISTS sigra_audit_events_target_idx ON sigra_audit_events (target_id);
