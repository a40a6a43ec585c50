CREATE TABLE IF NOT EXISTS sigra_sessions (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    remember_me INTEGER NOT NULL DEFAULT 0,
    sudo_at TEXT,
    ip TEXT,
    user_agent TEXT
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS sigra_sessions_hash_key ON sigra_sessions (token_hash);
CREATE INDEX IF NOT EXISTS sigra_sessions_user_idx ON sigra_sessions (user_id);
