ALTER TABLE sigra_users ADD COLUMN mfa_enabled_at DATETIME(6) NULL;
ALTER TABLE sigra_users ADD COLUMN mfa_epoch INT NOT NULL DEFAULT 0;
ALTER TABLE sigra_sessions ADD COLUMN mfa_at DATETIME(6) NULL;
CREATE TABLE IF NOT EXISTS sigra_mfa_totp (
    user_id BINARY(16) NOT NULL PRIMARY KEY,
    secret VARCHAR(255) NOT NULL,
    confirmed_at DATETIME(6) NULL,
    last_step BIGINT NULL,
    failed_count INT NOT NULL DEFAULT 0,
    locked_until DATETIME(6) NULL,
    created_at DATETIME(6) NOT NULL,
    CONSTRAINT sigra_mfa_totp_user_fk FOREIGN KEY (user_id) REFERENCES sigra_users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE TABLE IF NOT EXISTS sigra_backup_codes (
    id BINARY(16) NOT NULL PRIMARY KEY,
    user_id BINARY(16) NOT NULL,
    code_hash VARBINARY(32) NOT NULL,
    used_at DATETIME(6) NULL,
    created_at DATETIME(6) NOT NULL,
    KEY sigra_backup_codes_user_idx (user_id),
    CONSTRAINT sigra_backup_codes_user_fk FOREIGN KEY (user_id) REFERENCES sigra_users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
