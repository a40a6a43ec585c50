CREATE TABLE IF NOT EXISTS sigra_passkeys (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    credential_id BYTEA NOT NULL,
    name TEXT NOT NULL,
    passkey JSONB NOT NULL,
    aaguid UUID,
    backup_eligible BOOLEAN NOT NULL DEFAULT FALSE,
    backup_state BOOLEAN NOT NULL DEFAULT FALSE,
    sign_count BIGINT NOT NULL DEFAULT 0,
    used_for_mfa BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX IF NOT EXISTS sigra_passkeys_credential_idx ON sigra_passkeys (credential_id);
CREATE INDEX IF NOT EXISTS sigra_passkeys_user_idx ON sigra_passkeys (user_id);
CREATE TABLE IF NOT EXISTS sigra_webauthn_ceremonies (
    id UUID PRIMARY KEY,
    token_hash BYTEA NOT NULL,
    purpose TEXT NOT NULL,
    user_id UUID REFERENCES sigra_users (id) ON DELETE CASCADE,
    session_id UUID,
    state TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX IF NOT EXISTS sigra_webauthn_ceremonies_hash_idx ON sigra_webauthn_ceremonies (token_hash);
CREATE INDEX IF NOT EXISTS sigra_webauthn_ceremonies_expires_idx ON sigra_webauthn_ceremonies (expires_at);
