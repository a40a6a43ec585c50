CREATE TABLE IF NOT EXISTS sigra_users (
    id BLOB PRIMARY KEY NOT NULL,
    email TEXT NOT NULL,
    hashed_password TEXT,
    confirmed_at TEXT,
    locked_until TEXT,
    failed_login_count INTEGER NOT NULL DEFAULT 0,
    deletion_scheduled_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS sigra_users_email_key ON sigra_users (email);

CREATE TABLE IF NOT EXISTS sigra_user_tokens (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL,
    kind TEXT NOT NULL,
    sent_to TEXT,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS sigra_user_tokens_hash_key ON sigra_user_tokens (token_hash);
CREATE INDEX IF NOT EXISTS sigra_user_tokens_user_kind_idx ON sigra_user_tokens (user_id, kind);
