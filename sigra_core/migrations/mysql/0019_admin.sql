ALTER TABLE sigra_users ADD COLUMN is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN admin_locked_at DATETIME(6) NULL,
    ADD COLUMN banned_at DATETIME(6) NULL,
    ADD KEY sigra_users_created_idx (created_at);
ALTER TABLE sigra_sessions ADD COLUMN impersonator_id BINARY(16) NULL,
    ADD COLUMN impersonation_organization_id BINARY(16) NULL,
    ADD COLUMN impersonation_reason VARCHAR(500) NULL,
    ADD KEY sigra_sessions_impersonator_idx (impersonator_id),
    ADD CONSTRAINT sigra_sessions_impersonator_fk FOREIGN KEY (impersonator_id) REFERENCES sigra_users (id) ON DELETE CASCADE;
-- The explorer's pages by actor or target: one range scan in (occurred_at, id) order.
ALTER TABLE sigra_audit_events ADD COLUMN impersonator_id BINARY(16) NULL,
    ADD KEY sigra_audit_events_action_idx (action, occurred_at),
    DROP KEY sigra_audit_events_actor_idx,
    DROP KEY sigra_audit_events_target_idx,
    ADD KEY sigra_audit_events_actor_time_idx (actor_id, occurred_at, id),
    ADD KEY sigra_audit_events_target_time_idx (target_id, occurred_at, id);
