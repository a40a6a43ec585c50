ALTER TABLE sigra_users ADD COLUMN mfa_enabled_at TIMESTAMPTZ NULL;
ALTER TABLE sigra_users ADD COLUMN mfa_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sigra_sessions ADD COLUMN mfa_at TIMESTAMPTZ NULL;
CREATE TABLE IF NOT EXISTS sigra_mfa_totp (
    user_id UUID PRIMARY KEY REFERENCES sigra_users (id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    confirmed_at TIMESTAMPTZ,
    last_step BIGINT,
    failed_count INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS sigra_backup_codes (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    code_hash BYTEA NOT NULL,
    used_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS sigra_backup_codes_user_idx ON sigra_backup_codes (user_id);
