CREATE TABLE IF NOT EXISTS sigra_organizations (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    personal BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS sigra_organizations_slug_idx ON sigra_organizations (slug);
CREATE TABLE IF NOT EXISTS sigra_memberships (
    id UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES sigra_organizations (id) ON DELETE CASCADE,
    user_id UUID NOT NULL REFERENCES sigra_users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS sigra_memberships_member_idx ON sigra_memberships (organization_id, user_id);
CREATE INDEX IF NOT EXISTS sigra_memberships_user_idx ON sigra_memberships (user_id);
CREATE TABLE IF NOT EXISTS sigra_invitations (
    id UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES sigra_organizations (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    invited_by UUID REFERENCES sigra_users (id) ON DELETE SET NULL,
    token_hash BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    accepted_at TIMESTAMPTZ,
    accepted_by UUID REFERENCES sigra_users (id) ON DELETE SET NULL,
    revoked_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX IF NOT EXISTS sigra_invitations_token_idx ON sigra_invitations (token_hash);
CREATE INDEX IF NOT EXISTS sigra_invitations_org_idx ON sigra_invitations (organization_id, created_at);
