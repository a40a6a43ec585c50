ALTER TABLE sigra_user_tokens ADD COLUMN family_id BLOB;
ALTER TABLE sigra_user_tokens ADD COLUMN used_at TEXT;
ALTER TABLE sigra_sessions ADD COLUMN remember_family BLOB;
CREATE TABLE IF NOT EXISTS sigra_known_devices (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    browser TEXT NOT NULL,
    os TEXT NOT NULL,
    network TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS sigra_known_devices_key ON sigra_known_devices (user_id, browser, os, network);
