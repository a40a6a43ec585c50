CREATE TABLE IF NOT EXISTS sigra_api_keys (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash BYTEA NOT NULL,
    scopes JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    expires_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX IF NOT EXISTS sigra_api_keys_hash_idx ON sigra_api_keys (key_hash);
CREATE INDEX IF NOT EXISTS sigra_api_keys_user_idx ON sigra_api_keys (user_id);
