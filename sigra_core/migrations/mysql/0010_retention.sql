ALTER TABLE sigra_outbox ADD COLUMN mail_kind VARCHAR(64) NULL, ADD COLUMN recipient_digest VARCHAR(64) NULL;
CREATE INDEX sigra_outbox_recipient_idx ON sigra_outbox (recipient_digest, mail_kind, created_at);
CREATE INDEX sigra_sessions_expires_idx ON sigra_sessions (expires_at);
CREATE INDEX sigra_user_tokens_expires_idx ON sigra_user_tokens (expires_at);
