CREATE TABLE IF NOT EXISTS sigra_identities (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    email TEXT,
    name TEXT,
    label TEXT NOT NULL,
    access_token TEXT,
    refresh_token TEXT,
    token_expires_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX IF NOT EXISTS sigra_identities_subject_idx ON sigra_identities (provider, subject);
CREATE INDEX IF NOT EXISTS sigra_identities_user_idx ON sigra_identities (user_id);
CREATE TABLE IF NOT EXISTS sigra_oauth_flows (
    id UUID PRIMARY KEY,
    state_hash BYTEA NOT NULL,
    browser_hash BYTEA NOT NULL,
    provider TEXT NOT NULL,
    purpose TEXT NOT NULL,
    user_id UUID REFERENCES sigra_users (id) ON DELETE CASCADE,
    session_id UUID,
    sealed TEXT NOT NULL,
    callback TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX IF NOT EXISTS sigra_oauth_flows_state_idx ON sigra_oauth_flows (state_hash);
CREATE INDEX IF NOT EXISTS sigra_oauth_flows_browser_idx ON sigra_oauth_flows (browser_hash);
CREATE INDEX IF NOT EXISTS sigra_oauth_flows_expires_idx ON sigra_oauth_flows (expires_at);
