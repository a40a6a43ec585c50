ALTER TABLE sigra_users ADD COLUMN mfa_enabled_at TEXT;
ALTER TABLE sigra_users ADD COLUMN mfa_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sigra_sessions ADD COLUMN mfa_at TEXT;
CREATE TABLE IF NOT EXISTS sigra_mfa_totp (
    user_id BLOB PRIMARY KEY NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    confirmed_at TEXT,
    last_step INTEGER,
    failed_count INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS sigra_backup_codes (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    used_at TEXT,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS sigra_backup_codes_user_idx ON sigra_backup_codes (user_id);
