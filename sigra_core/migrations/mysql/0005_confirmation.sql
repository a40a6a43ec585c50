ALTER TABLE sigra_user_tokens ADD COLUMN attempts INT NOT NULL DEFAULT 0;
