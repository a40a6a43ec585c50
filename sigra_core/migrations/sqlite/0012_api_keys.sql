CREATE TABLE IF NOT EXISTS sigra_api_keys (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash BLOB NOT NULL,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    expires_at TEXT,
    revoked_at TEXT
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS sigra_api_keys_hash_idx ON sigra_api_keys (key_hash);
CREATE INDEX IF NOT EXISTS sigra_api_keys_user_idx ON sigra_api_keys (user_id);
