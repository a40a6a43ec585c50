CREATE TABLE IF NOT EXISTS sigra_passkeys (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    credential_id BLOB NOT NULL,
    name TEXT NOT NULL,
    passkey TEXT NOT NULL,
    aaguid BLOB,
    backup_eligible INTEGER NOT NULL DEFAULT 0,
    backup_state INTEGER NOT NULL DEFAULT 0,
    sign_count INTEGER NOT NULL DEFAULT 0,
    used_for_mfa INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    last_used_at TEXT
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS sigra_passkeys_credential_idx ON sigra_passkeys (credential_id);
CREATE INDEX IF NOT EXISTS sigra_passkeys_user_idx ON sigra_passkeys (user_id);
CREATE TABLE IF NOT EXISTS sigra_webauthn_ceremonies (
    id BLOB PRIMARY KEY NOT NULL,
    token_hash BLOB NOT NULL,
    purpose TEXT NOT NULL,
    user_id BLOB REFERENCES sigra_users (id) ON DELETE CASCADE,
    session_id BLOB,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS sigra_webauthn_ceremonies_hash_idx ON sigra_webauthn_ceremonies (token_hash);
CREATE INDEX IF NOT EXISTS sigra_webauthn_ceremonies_expires_idx ON sigra_webauthn_ceremonies (expires_at);
