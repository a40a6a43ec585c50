-- The app instances that share this database, each with its last heartbeat (Unix
-- milliseconds): whom a revoking request waits for (see sigra_core::session_cache).
CREATE TABLE IF NOT EXISTS sigra_instances (
    id BLOB PRIMARY KEY NOT NULL,
    started_ms INTEGER NOT NULL,
    heartbeat_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sigra_instances_heartbeat_idx ON sigra_instances (heartbeat_ms);
