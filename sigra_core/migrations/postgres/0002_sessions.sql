CREATE TABLE IF NOT EXISTS sigra_sessions (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    token_hash BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    remember_me BOOLEAN NOT NULL DEFAULT FALSE,
    sudo_at TIMESTAMPTZ,
    ip TEXT,
    user_agent TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS sigra_sessions_hash_key ON sigra_sessions (token_hash);
CREATE INDEX IF NOT EXISTS sigra_sessions_user_idx ON sigra_sessions (user_id);
