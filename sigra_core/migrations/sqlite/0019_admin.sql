ALTER TABLE sigra_users ADD COLUMN is_admin INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sigra_users ADD COLUMN admin_locked_at TEXT;
ALTER TABLE sigra_users ADD COLUMN banned_at TEXT;
CREATE INDEX IF NOT EXISTS sigra_users_created_idx ON sigra_users (created_at);
ALTER TABLE sigra_sessions ADD COLUMN impersonator_id BLOB REFERENCES sigra_users (id) ON DELETE CASCADE;
ALTER TABLE sigra_sessions ADD COLUMN impersonation_organization_id BLOB;
ALTER TABLE sigra_sessions ADD COLUMN impersonation_reason TEXT;
CREATE INDEX IF NOT EXISTS sigra_sessions_impersonator_idx ON sigra_sessions (impersonator_id);
ALTER TABLE sigra_audit_events ADD COLUMN impersonator_id BLOB;
CREATE INDEX IF NOT EXISTS sigra_audit_events_action_idx ON sigra_audit_events (action, occurred_at);
-- The explorer's pages by actor or target: one range scan in (occurred_at, id) order.
DROP INDEX IF EXISTS sigra_audit_events_actor_idx;
DROP INDEX IF EXISTS sigra_audit_events_target_idx;
CREATE INDEX IF NOT EXISTS sigra_audit_events_actor_time_idx ON sigra_audit_events (actor_id, occurred_at, id);
CREATE INDEX IF NOT EXISTS sigra_audit_events_target_time_idx ON sigra_audit_events (target_id, occurred_at, id);
