CREATE TABLE IF NOT EXISTS sigra_users (
    id BINARY(16) NOT NULL PRIMARY KEY,
    email VARCHAR(320) NOT NULL,
    hashed_password VARCHAR(255) NULL,
    confirmed_at DATETIME(6) NULL,
    locked_until DATETIME(6) NULL,
    failed_login_count INT NOT NULL DEFAULT 0,
    deletion_scheduled_at DATETIME(6) NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY sigra_users_email_key (email)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS sigra_user_tokens (
    id BINARY(16) NOT NULL PRIMARY KEY,
    user_id BINARY(16) NOT NULL,
    token_hash VARBINARY(32) NOT NULL,
    kind VARCHAR(32) NOT NULL,
    sent_to VARCHAR(320) NULL,
    expires_at DATETIME(6) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    UNIQUE KEY sigra_user_tokens_hash_key (token_hash),
    KEY sigra_user_tokens_user_kind_idx (user_id, kind),
    CONSTRAINT sigra_user_tokens_user_fk FOREIGN KEY (user_id) REFERENCES sigra_users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
