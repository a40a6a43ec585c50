ALTER TABLE sigra_users ADD COLUMN IF NOT EXISTS is_admin BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE sigra_users ADD COLUMN IF NOT EXISTS admin_locked_at TIMESTAMPTZ;
ALTER TABLE sigra_users ADD COLUMN IF NOT EXISTS banned_at TIMESTAMPTZ;
-- Byte order, so an email prefix search is one range scan of the unique index.
ALTER TABLE sigra_users ALTER COLUMN email TYPE TEXT COLLATE "C";
CREATE INDEX IF NOT EXISTS sigra_users_created_idx ON sigra_users (created_at);
ALTER TABLE sigra_sessions ADD COLUMN IF NOT EXISTS impersonator_id UUID REFERENCES sigra_users (id) ON DELETE CASCADE;
ALTER TABLE sigra_sessions ADD COLUMN IF NOT EXISTS impersonation_organization_id UUID;
ALTER TABLE sigra_sessions ADD COLUMN IF NOT EXISTS impersonation_reason TEXT;
CREATE INDEX IF NOT EXISTS sigra_sessions_impersonator_idx ON sigra_sessions (impersonator_id);
ALTER TABLE sigra_audit_events ADD COLUMN IF NOT EXISTS impersonator_id UUID;
CREATE INDEX IF NOT EXISTS sigra_audit_events_action_idx ON sigra_audit_events (action, occurred_at);
-- The explorer's pages by actor or target: one range scan in (occurred_at, id) order.
DROP INDEX IF EXISTS sigra_audit_events_actor_idx;
DROP INDEX IF EXISTS sigra_audit_events_target_idx;
CREATE INDEX IF NOT EXISTS sigra_audit_events_actor_time_idx ON sigra_audit_events (actor_id, occurred_at, id);
CREATE INDEX IF NOT EXISTS sigra_audit_events_target_time_idx ON sigra_audit_events (target_id, occurred_at, id);
