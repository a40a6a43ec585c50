ALTER TABLE sigra_audit_events ADD COLUMN scrubbed BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE IF NOT EXISTS sigra_audit_links (
    seq BIGINT NOT NULL PRIMARY KEY,
    event_id BINARY(16) NOT NULL,
    occurred_at DATETIME(6) NOT NULL,
    prev_hash VARBINARY(32) NOT NULL,
    hash VARBINARY(32) NOT NULL,
    personal_digest VARBINARY(32) NOT NULL,
    UNIQUE KEY sigra_audit_links_event_idx (event_id)
) ENGINE = InnoDB;
CREATE TABLE IF NOT EXISTS sigra_audit_chain (
    id INT NOT NULL PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash VARBINARY(32) NOT NULL,
    sealed_through DATETIME(6) NULL
) ENGINE = InnoDB;
INSERT IGNORE INTO sigra_audit_chain (id, seq, hash) VALUES (1, 0, UNHEX(REPEAT('00', 32)));
