ALTER TABLE sigra_users ADD COLUMN deleted_at DATETIME(6) NULL;
CREATE INDEX sigra_users_deletion_idx ON sigra_users (deletion_scheduled_at);
