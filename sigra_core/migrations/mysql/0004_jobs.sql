CREATE TABLE IF NOT EXISTS sigra_outbox (
    id BINARY(16) NOT NULL PRIMARY KEY,
    kind VARCHAR(32) NOT NULL,
    payload JSON NOT NULL,
    attempts INT NOT NULL DEFAULT 0,
    run_at DATETIME(6) NOT NULL,
    locked_until DATETIME(6) NULL,
    last_error VARCHAR(1024) NULL,
    created_at DATETIME(6) NOT NULL,
    done_at DATETIME(6) NULL,
    KEY sigra_outbox_due_idx (done_at, run_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
