ALTER TABLE sigra_users ADD COLUMN code_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sigra_users ADD COLUMN code_attempts_since TEXT;
