ALTER TABLE sigra_outbox ADD COLUMN mail_kind TEXT;
ALTER TABLE sigra_outbox ADD COLUMN recipient_digest TEXT;
CREATE INDEX IF NOT EXISTS sigra_outbox_recipient_idx ON sigra_outbox (recipient_digest, mail_kind, created_at);
CREATE INDEX IF NOT EXISTS sigra_sessions_expires_idx ON sigra_sessions (expires_at);
CREATE INDEX IF NOT EXISTS sigra_user_tokens_expires_idx ON sigra_user_tokens (expires_at);
