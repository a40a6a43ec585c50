ALTER TABLE sigra_users ADD COLUMN code_attempts INT NOT NULL DEFAULT 0;
ALTER TABLE sigra_users ADD COLUMN code_attempts_since DATETIME(6) NULL;
