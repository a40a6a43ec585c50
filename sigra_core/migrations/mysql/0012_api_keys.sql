CREATE TABLE IF NOT EXISTS sigra_api_keys (
    id BINARY(16) NOT NULL PRIMARY KEY,
    user_id BINARY(16) NOT NULL,
    name VARCHAR(100) NOT NULL,
    prefix VARCHAR(16) NOT NULL,
    key_hash VARBINARY(32) NOT NULL,
    scopes JSON NOT NULL,
    created_at DATETIME(6) NOT NULL,
    last_used_at DATETIME(6) NULL,
    expires_at DATETIME(6) NULL,
    revoked_at DATETIME(6) NULL,
    UNIQUE KEY sigra_api_keys_hash_idx (key_hash),
    KEY sigra_api_keys_user_idx (user_id),
    CONSTRAINT sigra_api_keys_user_fk FOREIGN KEY (user_id) REFERENCES sigra_users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
