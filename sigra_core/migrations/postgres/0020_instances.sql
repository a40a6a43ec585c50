-- The app instances that share this database, each with its last heartbeat (Unix
-- milliseconds): whom a revoking request waits for (see sigra_core::session_cache).
CREATE TABLE IF NOT EXISTS sigra_instances (
    id UUID PRIMARY KEY,
    started_ms BIGINT NOT NULL,
    heartbeat_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS sigra_instances_heartbeat_idx ON sigra_instances (heartbeat_ms);
