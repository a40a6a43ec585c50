CREATE TABLE IF NOT EXISTS sigra_users (
    id UUID PRIMARY KEY,
    email TEXT NOT NULL,
    hashed_password TEXT,
    confirmed_at TIMESTAMPTZ,
    locked_until TIMESTAMPTZ,
    failed_login_count INTEGER NOT NULL DEFAULT 0,
    deletion_scheduled_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS sigra_users_email_key ON sigra_users (email);

CREATE TABLE IF NOT EXISTS sigra_user_tokens (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    token_hash BYTEA NOT NULL,
    kind TEXT NOT NULL,
    sent_to TEXT,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS sigra_user_tokens_hash_key ON sigra_user_tokens (token_hash);
CREATE INDEX IF NOT EXISTS sigra_user_tokens_user_kind_idx ON sigra_user_tokens (user_id, kind);
