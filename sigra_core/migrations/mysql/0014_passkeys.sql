CREATE TABLE IF NOT EXISTS sigra_passkeys (
    id BINARY(16) NOT NULL PRIMARY KEY,
    user_id BINARY(16) NOT NULL,
    credential_id VARBINARY(1023) NOT NULL,
    name VARCHAR(100) NOT NULL,
    passkey JSON NOT NULL,
    aaguid BINARY(16) NULL,
    backup_eligible BOOLEAN NOT NULL DEFAULT FALSE,
    backup_state BOOLEAN NOT NULL DEFAULT FALSE,
    sign_count BIGINT NOT NULL DEFAULT 0,
    used_for_mfa BOOLEAN NOT NULL DEFAULT FALSE,
    created_at DATETIME(6) NOT NULL,
    last_used_at DATETIME(6) NULL,
    UNIQUE KEY sigra_passkeys_credential_idx (credential_id),
    KEY sigra_passkeys_user_idx (user_id),
    CONSTRAINT sigra_passkeys_user_fk FOREIGN KEY (user_id) REFERENCES sigra_users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE TABLE IF NOT EXISTS sigra_webauthn_ceremonies (
    id BINARY(16) NOT NULL PRIMARY KEY,
    token_hash VARBINARY(32) NOT NULL,
    purpose VARCHAR(16) NOT NULL,
    user_id BINARY(16) NULL,
    session_id BINARY(16) NULL,
    state MEDIUMTEXT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    used_at DATETIME(6) NULL,
    UNIQUE KEY sigra_webauthn_ceremonies_hash_idx (token_hash),
    KEY sigra_webauthn_ceremonies_expires_idx (expires_at),
    CONSTRAINT sigra_webauthn_ceremonies_user_fk FOREIGN KEY (user_id) REFERENCES sigra_users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
