ALTER TABLE sigra_sessions ADD COLUMN IF NOT EXISTS active_organization_id UUID REFERENCES sigra_organizations (id) ON DELETE SET NULL;
ALTER TABLE sigra_api_keys ADD COLUMN IF NOT EXISTS organization_id UUID REFERENCES sigra_organizations (id) ON DELETE CASCADE;
CREATE INDEX IF NOT EXISTS sigra_api_keys_organization_idx ON sigra_api_keys (organization_id);
ALTER TABLE sigra_audit_events ADD COLUMN IF NOT EXISTS organization_id UUID;
CREATE INDEX IF NOT EXISTS sigra_audit_events_organization_idx ON sigra_audit_events (organization_id, occurred_at);
