CREATE TABLE IF NOT EXISTS sigra_sessions (
    id BINARY(16) NOT NULL PRIMARY KEY,
    user_id BINARY(16) NOT NULL,
    token_hash VARBINARY(32) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    last_seen_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    remember_me BOOLEAN NOT NULL DEFAULT FALSE,
    sudo_at DATETIME(6) NULL,
    ip VARCHAR(64) NULL,
    user_agent VARCHAR(512) NULL,
    UNIQUE KEY sigra_sessions_hash_key (token_hash),
    KEY sigra_sessions_user_idx (user_id),
    CONSTRAINT sigra_sessions_user_fk FOREIGN KEY (user_id) REFERENCES sigra_users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
