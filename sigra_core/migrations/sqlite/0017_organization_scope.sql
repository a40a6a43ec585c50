ALTER TABLE sigra_sessions ADD COLUMN active_organization_id BLOB REFERENCES sigra_organizations (id) ON DELETE SET NULL;
ALTER TABLE sigra_api_keys ADD COLUMN organization_id BLOB REFERENCES sigra_organizations (id) ON DELETE CASCADE;
CREATE INDEX IF NOT EXISTS sigra_api_keys_organization_idx ON sigra_api_keys (organization_id);
ALTER TABLE sigra_audit_events ADD COLUMN organization_id BLOB;
CREATE INDEX IF NOT EXISTS sigra_audit_events_organization_idx ON sigra_audit_events (organization_id, occurred_at);
