CREATE TABLE IF NOT EXISTS sigra_organizations (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    personal INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS sigra_organizations_slug_idx ON sigra_organizations (slug);
CREATE TABLE IF NOT EXISTS sigra_memberships (
    id BLOB PRIMARY KEY NOT NULL,
    organization_id BLOB NOT NULL REFERENCES sigra_organizations (id) ON DELETE CASCADE,
    user_id BLOB NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS sigra_memberships_member_idx ON sigra_memberships (organization_id, user_id);
CREATE INDEX IF NOT EXISTS sigra_memberships_user_idx ON sigra_memberships (user_id);
CREATE TABLE IF NOT EXISTS sigra_invitations (
    id BLOB PRIMARY KEY NOT NULL,
    organization_id BLOB NOT NULL REFERENCES sigra_organizations (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    invited_by BLOB REFERENCES sigra_users (id) ON DELETE SET NULL,
    token_hash BLOB NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    accepted_at TEXT,
    accepted_by BLOB REFERENCES sigra_users (id) ON DELETE SET NULL,
    revoked_at TEXT
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS sigra_invitations_token_idx ON sigra_invitations (token_hash);
CREATE INDEX IF NOT EXISTS sigra_invitations_org_idx ON sigra_invitations (organization_id, created_at);
