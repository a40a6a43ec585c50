CREATE TABLE IF NOT EXISTS sigra_identities (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    email TEXT,
    name TEXT,
    label TEXT NOT NULL,
    access_token TEXT,
    refresh_token TEXT,
    token_expires_at TEXT,
    created_at TEXT NOT NULL,
    last_used_at TEXT
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS sigra_identities_subject_idx ON sigra_identities (provider, subject);
CREATE INDEX IF NOT EXISTS sigra_identities_user_idx ON sigra_identities (user_id);
CREATE TABLE IF NOT EXISTS sigra_oauth_flows (
    id BLOB PRIMARY KEY NOT NULL,
    state_hash BLOB NOT NULL,
    browser_hash BLOB NOT NULL,
    provider TEXT NOT NULL,
    purpose TEXT NOT NULL,
    user_id BLOB REFERENCES sigra_users (id) ON DELETE CASCADE,
    session_id BLOB,
    sealed TEXT NOT NULL,
    callback TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS sigra_oauth_flows_state_idx ON sigra_oauth_flows (state_hash);
CREATE INDEX IF NOT EXISTS sigra_oauth_flows_browser_idx ON sigra_oauth_flows (browser_hash);
CREATE INDEX IF NOT EXISTS sigra_oauth_flows_expires_idx ON sigra_oauth_flows (expires_at);
