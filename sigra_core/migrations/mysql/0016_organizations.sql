CREATE TABLE IF NOT EXISTS sigra_organizations (
    id BINARY(16) NOT NULL PRIMARY KEY,
    name VARCHAR(100) NOT NULL,
    slug VARCHAR(64) NOT NULL,
    personal BOOLEAN NOT NULL DEFAULT FALSE,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY sigra_organizations_slug_idx (slug)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE TABLE IF NOT EXISTS sigra_memberships (
    id BINARY(16) NOT NULL PRIMARY KEY,
    organization_id BINARY(16) NOT NULL,
    user_id BINARY(16) NOT NULL,
    role VARCHAR(16) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    UNIQUE KEY sigra_memberships_member_idx (organization_id, user_id),
    KEY sigra_memberships_user_idx (user_id),
    CONSTRAINT sigra_memberships_org_fk FOREIGN KEY (organization_id) REFERENCES sigra_organizations (id) ON DELETE CASCADE,
    CONSTRAINT sigra_memberships_user_fk FOREIGN KEY (user_id) REFERENCES sigra_users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE TABLE IF NOT EXISTS sigra_invitations (
    id BINARY(16) NOT NULL PRIMARY KEY,
    organization_id BINARY(16) NOT NULL,
    email VARCHAR(320) NOT NULL,
    role VARCHAR(16) NOT NULL,
    invited_by BINARY(16) NULL,
    token_hash VARBINARY(32) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    accepted_at DATETIME(6) NULL,
    accepted_by BINARY(16) NULL,
    revoked_at DATETIME(6) NULL,
    UNIQUE KEY sigra_invitations_token_idx (token_hash),
    KEY sigra_invitations_org_idx (organization_id, created_at),
    CONSTRAINT sigra_invitations_org_fk FOREIGN KEY (organization_id) REFERENCES sigra_organizations (id) ON DELETE CASCADE,
    CONSTRAINT sigra_invitations_inviter_fk FOREIGN KEY (invited_by) REFERENCES sigra_users (id) ON DELETE SET NULL,
    CONSTRAINT sigra_invitations_accepter_fk FOREIGN KEY (accepted_by) REFERENCES sigra_users (id) ON DELETE SET NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
