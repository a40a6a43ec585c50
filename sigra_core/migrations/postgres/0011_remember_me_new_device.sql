ALTER TABLE sigra_user_tokens ADD COLUMN family_id UUID NULL;
ALTER TABLE sigra_user_tokens ADD COLUMN used_at TIMESTAMPTZ NULL;
ALTER TABLE sigra_sessions ADD COLUMN remember_family UUID NULL;
CREATE TABLE IF NOT EXISTS sigra_known_devices (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    browser VARCHAR(32) NOT NULL,
    os VARCHAR(32) NOT NULL,
    network VARCHAR(64) NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS sigra_known_devices_key ON sigra_known_devices (user_id, browser, os, network);
