ALTER TABLE sigra_users ADD COLUMN deleted_at TEXT;
CREATE INDEX IF NOT EXISTS sigra_users_deletion_idx ON sigra_users (deletion_scheduled_at);
