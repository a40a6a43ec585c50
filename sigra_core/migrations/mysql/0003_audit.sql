CREATE TABLE IF NOT EXISTS sigra_audit_events (
    id BINARY(16) NOT NULL PRIMARY KEY,
    actor_id BINARY(16) NULL,
    target_id BINARY(16) NULL,
    action VARCHAR(64) NOT NULL,
    metadata JSON NOT NULL,
    ip VARCHAR(64) NULL,
    user_agent VARCHAR(512) NULL,
    occurred_at DATETIME(6) NOT NULL,
    KEY sigra_audit_events_occurred_idx (occurred_at),
    KEY sigra_audit_events_actor_idx (actor_id),
    KEY sigra_audit_events_target_idx (target_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
