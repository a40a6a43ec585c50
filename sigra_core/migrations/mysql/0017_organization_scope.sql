ALTER TABLE sigra_sessions ADD COLUMN active_organization_id BINARY(16) NULL,
    ADD CONSTRAINT sigra_sessions_active_organization_fk FOREIGN KEY (active_organization_id) REFERENCES sigra_organizations (id) ON DELETE SET NULL;
ALTER TABLE sigra_api_keys ADD COLUMN organization_id BINARY(16) NULL,
    ADD KEY sigra_api_keys_organization_idx (organization_id),
    ADD CONSTRAINT sigra_api_keys_organization_fk FOREIGN KEY (organization_id) REFERENCES sigra_organizations (id) ON DELETE CASCADE;
ALTER TABLE sigra_audit_events ADD COLUMN organization_id BINARY(16) NULL,
    ADD KEY sigra_audit_events_organization_idx (organization_id, occurred_at);
