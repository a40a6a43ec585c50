//! Table and column names, and the row types that decode on every backend.

use sea_query::Iden;
use serde::Serialize;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

/// `sigra_users` columns.
#[derive(Iden, Clone, Copy, Debug)]
#[iden = "sigra_users"]
pub enum Users {
    /// The table.
    Table,
    /// UUIDv7 primary key.
    Id,
    /// Trimmed, lower-cased, unique.
    Email,
    /// PHC string; null for accounts without a password.
    HashedPassword,
    /// When the email was confirmed.
    ConfirmedAt,
    /// Log-in refused until then.
    LockedUntil,
    /// Failed passwords since the last success.
    FailedLoginCount,
    /// Lockouts so far (each one lasts twice as long as the one before).
    LockCount,
    /// When the account is due to be deleted.
    DeletionScheduledAt,
    /// When the account was deleted (soft delete or anonymization); such rows never log in.
    DeletedAt,
    /// When a second factor was turned on; null when the account has none.
    MfaEnabledAt,
    /// Bumped on every change of the second-factor settings (voids trusted browsers).
    MfaEpoch,
    /// Confirmation codes tried in the current day-long window (all codes together).
    CodeAttempts,
    /// When that window started; null before the first try.
    CodeAttemptsSince,
    /// A platform admin (see `features::admin`).
    IsAdmin,
    /// When an admin locked the account; null when not locked by an admin.
    AdminLockedAt,
    /// When an admin banned the account; null when not banned.
    BannedAt,
    /// Creation time.
    CreatedAt,
    /// Last update time.
    UpdatedAt,
}

/// `sigra_user_tokens` columns.
#[derive(Iden, Clone, Copy, Debug)]
#[iden = "sigra_user_tokens"]
pub enum UserTokens {
    /// The table.
    Table,
    /// UUIDv7 primary key.
    Id,
    /// Owner.
    UserId,
    /// SHA-256 of the token.
    TokenHash,
    /// A [`TokenKind`](crate::crypto::TokenKind) name.
    Kind,
    /// The address the token was mailed to, if any.
    SentTo,
    /// Expiry.
    ExpiresAt,
    /// Creation time.
    CreatedAt,
    /// Wrong guesses so far (confirmation codes).
    Attempts,
    /// Remember-me tokens: the family, shared by every token rotated from one log-in.
    FamilyId,
    /// Remember-me tokens: when the token was traded for a new one; spent tokens stay
    /// until the family expires so that a replay is recognised.
    UsedAt,
}

/// `sigra_sessions` columns.
#[derive(Iden, Clone, Copy, Debug)]
#[iden = "sigra_sessions"]
pub enum Sessions {
    /// The table.
    Table,
    /// UUIDv7 primary key.
    Id,
    /// Owner.
    UserId,
    /// SHA-256 of the session token.
    TokenHash,
    /// Creation time.
    CreatedAt,
    /// Last request seen (written at most once per touch interval).
    LastSeenAt,
    /// Absolute expiry.
    ExpiresAt,
    /// Created with remember-me.
    RememberMe,
    /// Last interactive authentication, for sudo mode.
    SudoAt,
    /// When this session passed the second factor (a code or a trusted browser).
    MfaAt,
    /// Client IP at creation.
    Ip,
    /// User agent at creation.
    UserAgent,
    /// The remember-me family that made or restored the session.
    RememberFamily,
    /// The session is an API refresh family (see `features::api_tokens`): it ends at its
    /// expiry, not after the idle timeout.
    RefreshFamily,
    /// The name an API client gave its refresh family (`device_name`), if any.
    DeviceName,
    /// The organization the session acts in (null: the default, see
    /// `features::organizations::active`).
    ActiveOrganizationId,
    /// An impersonation session: the admin acting as the session's user (see
    /// `features::impersonation`).
    ImpersonatorId,
    /// The organization whose admin impersonates, when an organization admin does.
    ImpersonationOrganizationId,
    /// The reason the admin gave for impersonating.
    ImpersonationReason,
}

/// `sigra_audit_events` columns.
#[derive(Iden, Clone, Copy, Debug)]
#[iden = "sigra_audit_events"]
pub enum AuditEvents {
    /// The table.
    Table,
    /// UUIDv7 primary key.
    Id,
    /// Who acted.
    ActorId,
    /// Whom it concerned.
    TargetId,
    /// What happened (`login.success`, …).
    Action,
    /// JSON details.
    Metadata,
    /// Client IP.
    Ip,
    /// Client user agent.
    UserAgent,
    /// When.
    OccurredAt,
    /// The organization the event happened in, if any.
    OrganizationId,
    /// Personal fields cleared by an anonymized deletion (the chain still verifies).
    Scrubbed,
    /// The admin who caused the event while impersonating its actor, if one did.
    ImpersonatorId,
}

/// `sigra_audit_chain` columns: the head of the audit hash chain (one row, `id = 1`),
/// locked by whoever appends to the chain.
#[derive(Iden, Clone, Copy, Debug)]
#[iden = "sigra_audit_chain"]
pub enum AuditChain {
    /// The table.
    Table,
    /// Always 1.
    Id,
    /// The last sealed position (0: none yet).
    Seq,
    /// The last sealed event's hash.
    Hash,
    /// The time of the newest event sealed (the next seal looks back a while from it).
    SealedThrough,
}

/// `sigra_audit_links` columns: each sealed event's place in the hash chain. The sealer
/// writes only here, never to `sigra_audit_events`, so sealing takes no lock a flow
/// recording an event could wait on.
#[derive(Iden, Clone, Copy, Debug)]
#[iden = "sigra_audit_links"]
pub enum AuditLinks {
    /// The table.
    Table,
    /// Position in the chain (1, 2, …).
    Seq,
    /// The event.
    EventId,
    /// The event's time, copied (bounds the search for unsealed events).
    OccurredAt,
    /// The previous link's hash (32 zero bytes for the first).
    PrevHash,
    /// SHA-256 over the event's canonical encoding and `prev_hash`.
    Hash,
    /// SHA-256 of the event's personal fields as sealed.
    PersonalDigest,
}

/// `sigra_outbox` columns.
#[derive(Iden, Clone, Copy, Debug)]
#[iden = "sigra_outbox"]
pub enum Outbox {
    /// The table.
    Table,
    /// UUIDv7 primary key.
    Id,
    /// Job kind (`mail`).
    Kind,
    /// JSON payload.
    Payload,
    /// Delivery attempts so far.
    Attempts,
    /// Not before.
    RunAt,
    /// Claimed by a worker until then.
    LockedUntil,
    /// Last failure, if any.
    LastError,
    /// Creation time.
    CreatedAt,
    /// When it was done (or given up).
    DoneAt,
    /// The mail's kind (template name), for the per-recipient throttle; null for other jobs.
    MailKind,
    /// A keyed digest of the mail's recipient (never the address), for the throttle and
    /// for purging an account's mail when it is deleted; null for other jobs.
    RecipientDigest,
}

/// `sigra_mfa_totp` columns: one authenticator app per account.
#[derive(Iden, Clone, Copy, Debug)]
#[iden = "sigra_mfa_totp"]
pub enum MfaTotp {
    /// The table.
    Table,
    /// Owner (primary key).
    UserId,
    /// The shared secret, sealed with the field cipher.
    Secret,
    /// When enrollment was confirmed with a valid code; null while pending.
    ConfirmedAt,
    /// The last time step accepted (each step is usable once).
    LastStep,
    /// Wrong codes since the last success or lock.
    FailedCount,
    /// Codes refused until then.
    LockedUntil,
    /// Creation time.
    CreatedAt,
}

/// `sigra_backup_codes` columns.
#[derive(Iden, Clone, Copy, Debug)]
#[iden = "sigra_backup_codes"]
pub enum BackupCodes {
    /// The table.
    Table,
    /// UUIDv7 primary key.
    Id,
    /// Owner.
    UserId,
    /// SHA-256 of the owner's id and the normalized code.
    CodeHash,
    /// When it was used; null while unused.
    UsedAt,
    /// Creation time.
    CreatedAt,
}

/// `sigra_api_keys` columns: personal API keys.
#[derive(Iden, Clone, Copy, Debug)]
#[iden = "sigra_api_keys"]
pub enum ApiKeys {
    /// The table.
    Table,
    /// UUIDv7 primary key.
    Id,
    /// Owner.
    UserId,
    /// The owner's label for the key.
    Name,
    /// The key's first characters, shown to tell keys apart (not enough to use one).
    Prefix,
    /// SHA-256 of the whole key (unique: the lookup index).
    KeyHash,
    /// JSON array of scope names.
    Scopes,
    /// Creation time.
    CreatedAt,
    /// Last authenticated use (written at most once a minute).
    LastUsedAt,
    /// Refused from then on; null for a key that never expires.
    ExpiresAt,
    /// When the key was revoked; null while it is live.
    RevokedAt,
    /// The organization that owns the key; null for a personal key.
    OrganizationId,
}

/// `sigra_passkeys` columns: WebAuthn credentials (see `features::passkeys`).
#[derive(Iden, Clone, Copy, Debug)]
#[iden = "sigra_passkeys"]
pub enum Passkeys {
    /// The table.
    Table,
    /// UUIDv7 primary key.
    Id,
    /// Owner.
    UserId,
    /// The credential id the authenticator chose (unique across accounts).
    CredentialId,
    /// The owner's label.
    Name,
    /// The webauthn-rs `Passkey` as JSON: the public key, the sign counter, the flags.
    /// Nothing secret.
    Passkey,
    /// The authenticator model's AAGUID, when it told one (not all zeros).
    Aaguid,
    /// The credential may be synced or backed up (a "synced passkey").
    BackupEligible,
    /// The credential is backed up or synced now (as of its last use).
    BackupState,
    /// The signature counter of the last use (0 for authenticators that keep none).
    SignCount,
    /// The owner uses it as a second factor ("use as two-step verification").
    UsedForMfa,
    /// Creation time.
    CreatedAt,
    /// Last successful use.
    LastUsedAt,
}

/// `sigra_webauthn_ceremonies` columns: the server-side state of started passkey
/// ceremonies (see `features::passkeys`).
#[derive(Iden, Clone, Copy, Debug)]
#[iden = "sigra_webauthn_ceremonies"]
pub enum WebauthnCeremonies {
    /// The table.
    Table,
    /// UUIDv7 primary key.
    Id,
    /// SHA-256 of the ceremony token the browser holds.
    TokenHash,
    /// `register`, `sign_in`, `mfa` or `sudo`.
    Purpose,
    /// The account, for ceremonies of a signed-in session; null for sign-in.
    UserId,
    /// The session the ceremony is bound to; null for sign-in.
    SessionId,
    /// The webauthn-rs ceremony state, sealed with the field cipher.
    State,
    /// Creation time.
    CreatedAt,
    /// Refused from then on.
    ExpiresAt,
    /// When it was finished (or refused); a ceremony is used once.
    UsedAt,
}

/// `sigra_identities` columns: accounts at OAuth / OpenID providers linked to Sigra
/// accounts (see `features::oauth`).
#[derive(Iden, Clone, Copy, Debug)]
#[iden = "sigra_identities"]
pub enum Identities {
    /// The table.
    Table,
    /// UUIDv7 primary key.
    Id,
    /// The Sigra account.
    UserId,
    /// The provider's configured name (`sigra.oauth.providers.<name>`).
    Provider,
    /// The provider's stable id of the account (`sub`; GitHub's numeric id). Unique per
    /// provider.
    Subject,
    /// The email address the provider gave when the identity was linked.
    Email,
    /// The person's name, as the provider gave it (Apple gives it on the first sign-in
    /// only, so it is kept from then on).
    Name,
    /// What the connections page shows: the provider account's email or login.
    Label,
    /// The provider's access token, sealed with the field cipher; null when none.
    AccessToken,
    /// The provider's refresh token, sealed with the field cipher; null when none.
    RefreshToken,
    /// When the access token expires, when the provider said.
    TokenExpiresAt,
    /// When it was linked.
    CreatedAt,
    /// Last sign-in or step-up through it.
    LastUsedAt,
}

/// `sigra_oauth_flows` columns: started provider sign-ins, links and step-ups, and
/// identities waiting to be linked after the owner signs in (see `features::oauth`).
#[derive(Iden, Clone, Copy, Debug)]
#[iden = "sigra_oauth_flows"]
pub enum OauthFlows {
    /// The table.
    Table,
    /// UUIDv7 primary key (part of the sealed state's associated data).
    Id,
    /// SHA-256 of the `state` parameter sent to the provider.
    StateHash,
    /// SHA-256 of the browser's binding cookie.
    BrowserHash,
    /// The provider's configured name.
    Provider,
    /// `sign_in`, `link`, `sudo` or `pending_link`.
    Purpose,
    /// The account, for flows of a signed-in session.
    UserId,
    /// The session the flow is bound to, for flows of a signed-in session.
    SessionId,
    /// PKCE verifier, nonce and where to go next (or the identity waiting to be linked),
    /// sealed with the field cipher.
    Sealed,
    /// The provider's answer when it came by a cross-site POST (`form_post`), sealed,
    /// until the browser brings its cookie to the GET callback.
    Callback,
    /// Creation time.
    CreatedAt,
    /// Refused from then on.
    ExpiresAt,
    /// When it was finished (or refused); a flow is used once.
    UsedAt,
}

row! {
    /// A linked provider identity, as stored. `Debug` leaves out the sealed tokens.
    #[derive(Clone, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct IdentityRow {
        /// Primary key.
        pub id: Uuid,
        /// The Sigra account.
        pub user_id: Uuid,
        /// The provider's configured name.
        pub provider: String,
        /// The provider's id of the account.
        pub subject: String,
        /// The email address at link time.
        pub email: Option<String>,
        /// The person's name, when the provider gave one.
        pub name: Option<String>,
        /// The provider account's email or login.
        pub label: String,
        /// Sealed access token.
        pub access_token: Option<String>,
        /// Sealed refresh token.
        pub refresh_token: Option<String>,
        /// Access token expiry.
        pub token_expires_at: Option<OffsetDateTime>,
        /// When it was linked.
        pub created_at: OffsetDateTime,
        /// Last use.
        pub last_used_at: Option<OffsetDateTime>,
    }
}

impl std::fmt::Debug for IdentityRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityRow")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("provider", &self.provider)
            .field("subject", &self.subject)
            .field("label", &self.label)
            .field("created_at", &self.created_at)
            .field("last_used_at", &self.last_used_at)
            .finish_non_exhaustive()
    }
}

row! {
    /// A started OAuth flow, as stored. `Debug` leaves out the sealed parts.
    #[derive(Clone, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct OauthFlowRow {
        /// Primary key.
        pub id: Uuid,
        /// The provider's configured name.
        pub provider: String,
        /// `sign_in`, `link`, `sudo` or `pending_link`.
        pub purpose: String,
        /// The account, for flows of a signed-in session.
        pub user_id: Option<Uuid>,
        /// The session it is bound to.
        pub session_id: Option<Uuid>,
        /// The sealed state.
        pub sealed: String,
        /// The sealed `form_post` answer, when one came.
        pub callback: Option<String>,
        /// Refused from then on.
        pub expires_at: OffsetDateTime,
        /// When it was used.
        pub used_at: Option<OffsetDateTime>,
    }
}

impl std::fmt::Debug for OauthFlowRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OauthFlowRow")
            .field("id", &self.id)
            .field("provider", &self.provider)
            .field("purpose", &self.purpose)
            .field("user_id", &self.user_id)
            .field("session_id", &self.session_id)
            .field("expires_at", &self.expires_at)
            .field("used_at", &self.used_at)
            .finish_non_exhaustive()
    }
}

/// `sigra_organizations` columns: tenants of the host app (see `store::organizations`).
#[derive(Iden, Clone, Copy, Debug)]
#[iden = "sigra_organizations"]
pub enum Organizations {
    /// The table.
    Table,
    /// UUIDv7 primary key.
    Id,
    /// The name people see.
    Name,
    /// The unique URL segment.
    Slug,
    /// A personal organization (one member, made at registration).
    Personal,
    /// Creation time.
    CreatedAt,
    /// Last change of the name.
    UpdatedAt,
}

/// `sigra_memberships` columns: who belongs to which organization, with which role.
#[derive(Iden, Clone, Copy, Debug)]
#[iden = "sigra_memberships"]
pub enum Memberships {
    /// The table.
    Table,
    /// UUIDv7 primary key.
    Id,
    /// The organization.
    OrganizationId,
    /// The member.
    UserId,
    /// `owner`, `admin` or `member`.
    Role,
    /// When they joined.
    CreatedAt,
}

/// `sigra_invitations` columns: invitations to join an organization, each usable once.
#[derive(Iden, Clone, Copy, Debug)]
#[iden = "sigra_invitations"]
pub enum Invitations {
    /// The table.
    Table,
    /// UUIDv7 primary key.
    Id,
    /// The organization.
    OrganizationId,
    /// The invited address (normalized); only that account may accept.
    Email,
    /// The role the invitee gets.
    Role,
    /// Who invited (null once that account is gone).
    InvitedBy,
    /// SHA-256 of the emailed token.
    TokenHash,
    /// When it was sent.
    CreatedAt,
    /// Refused from then on.
    ExpiresAt,
    /// When it was accepted.
    AcceptedAt,
    /// Who accepted it.
    AcceptedBy,
    /// When an admin revoked it.
    RevokedAt,
}

row! {
    /// A stored organization (also what [`insert`](super::organizations::insert) stores).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct OrganizationRow {
        /// Primary key.
        pub id: Uuid,
        /// The name people see.
        pub name: String,
        /// The unique URL segment.
        pub slug: String,
        /// A personal organization.
        pub personal: bool,
        /// Creation time.
        pub created_at: OffsetDateTime,
        /// Last change.
        pub updated_at: OffsetDateTime,
    }
}

row! {
    /// A stored membership (also what
    /// [`insert_membership`](super::organizations::insert_membership) stores).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct MembershipRow {
        /// Primary key.
        pub id: Uuid,
        /// The organization.
        pub organization_id: Uuid,
        /// The member.
        pub user_id: Uuid,
        /// `owner`, `admin` or `member`.
        pub role: String,
        /// When they joined.
        pub created_at: OffsetDateTime,
    }
}

row! {
    /// A stored invitation: the digest of its token, never the token.
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct InvitationRow {
        /// Primary key.
        pub id: Uuid,
        /// The organization.
        pub organization_id: Uuid,
        /// The invited address.
        pub email: String,
        /// The role the invitee gets.
        pub role: String,
        /// Who invited.
        pub invited_by: Option<Uuid>,
        /// When it was sent.
        pub created_at: OffsetDateTime,
        /// Refused from then on.
        pub expires_at: OffsetDateTime,
        /// When it was accepted.
        pub accepted_at: Option<OffsetDateTime>,
        /// Who accepted it.
        pub accepted_by: Option<Uuid>,
        /// When it was revoked.
        pub revoked_at: Option<OffsetDateTime>,
    }
}

row! {
    /// A stored passkey: its public key and metadata, never a secret.
    #[derive(Debug, Clone, PartialEq)]
    #[non_exhaustive]
    pub struct PasskeyRow {
        /// Primary key.
        pub id: Uuid,
        /// Owner.
        pub user_id: Uuid,
        /// The credential id.
        pub credential_id: Vec<u8>,
        /// The owner's label.
        pub name: String,
        /// The webauthn-rs `Passkey` as JSON.
        pub passkey: Json<serde_json::Value>,
        /// The authenticator model, when known.
        pub aaguid: Option<Uuid>,
        /// Whether the credential may be synced or backed up.
        pub backup_eligible: bool,
        /// Whether it is backed up or synced now.
        pub backup_state: bool,
        /// Signature counter of the last use.
        pub sign_count: i64,
        /// Used as a second factor.
        pub used_for_mfa: bool,
        /// Creation time.
        pub created_at: OffsetDateTime,
        /// Last successful use.
        pub last_used_at: Option<OffsetDateTime>,
    }
}

row! {
    /// A started passkey ceremony, as stored.
    ///
    /// `Debug` leaves out the sealed state.
    #[derive(Clone, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct CeremonyRow {
        /// Primary key (part of the state's associated data).
        pub id: Uuid,
        /// `register`, `sign_in`, `mfa` or `sudo`.
        pub purpose: String,
        /// The account, for ceremonies of a signed-in session.
        pub user_id: Option<Uuid>,
        /// The session it is bound to.
        pub session_id: Option<Uuid>,
        /// The sealed webauthn-rs state.
        pub state: String,
        /// Refused from then on.
        pub expires_at: OffsetDateTime,
    }
}

impl std::fmt::Debug for CeremonyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CeremonyRow")
            .field("id", &self.id)
            .field("purpose", &self.purpose)
            .field("user_id", &self.user_id)
            .field("session_id", &self.session_id)
            .field("state", &format_args!("[sealed]"))
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

row! {
    /// A stored API key: its display prefix and the digest of the key, never the key.
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct ApiKeyRow {
        /// Primary key.
        pub id: Uuid,
        /// Owner.
        pub user_id: Uuid,
        /// The owner's label.
        pub name: String,
        /// The key's first 12 characters.
        pub prefix: String,
        /// SHA-256 of the key.
        pub key_hash: Vec<u8>,
        /// Scope names.
        pub scopes: Json<Vec<String>>,
        /// Creation time.
        pub created_at: OffsetDateTime,
        /// Last authenticated use.
        pub last_used_at: Option<OffsetDateTime>,
        /// Expiry, if any.
        pub expires_at: Option<OffsetDateTime>,
        /// When it was revoked.
        pub revoked_at: Option<OffsetDateTime>,
        /// The organization that owns the key (it acts only there), if any.
        pub organization_id: Option<Uuid>,
    }
}

row! {
    /// The authenticator-app record of an account.
    ///
    /// `Debug` leaves out the sealed secret.
    #[derive(Clone, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct MfaTotpRow {
        /// Owner.
        pub user_id: Uuid,
        /// Sealed secret (never shown by `Debug`).
        pub secret: String,
        /// When enrollment was confirmed.
        pub confirmed_at: Option<OffsetDateTime>,
        /// The last time step accepted.
        pub last_step: Option<i64>,
        /// Wrong codes since the last success or lock.
        pub failed_count: i32,
        /// Codes refused until then.
        pub locked_until: Option<OffsetDateTime>,
        /// Creation time.
        pub created_at: OffsetDateTime,
    }
}

row! {
    /// A user account.
    ///
    /// `Debug` leaves out the password hash (see `store::users`).
    #[derive(Clone, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct User {
        /// Primary key.
        pub id: Uuid,
        /// Normalized email.
        pub email: String,
        /// PHC string; `None` for accounts without a password.
        pub(crate) hashed_password: Option<String>,
        /// When the email was confirmed.
        pub confirmed_at: Option<OffsetDateTime>,
        /// Log-in refused until then.
        pub locked_until: Option<OffsetDateTime>,
        /// Failed passwords since the last success.
        pub failed_login_count: i32,
        /// Lockouts so far; reset by a successful log-in.
        pub lock_count: i32,
        /// When the account is due to be deleted.
        pub deletion_scheduled_at: Option<OffsetDateTime>,
        /// When the account was deleted (kept by the `soft_delete` and `anonymize` strategies).
        pub deleted_at: Option<OffsetDateTime>,
        /// When a second factor was turned on; `None` when the account has none.
        pub mfa_enabled_at: Option<OffsetDateTime>,
        /// Bumped on every change of the second-factor settings.
        pub mfa_epoch: i32,
        /// A platform admin.
        pub is_admin: bool,
        /// When an admin locked the account, if one did.
        pub admin_locked_at: Option<OffsetDateTime>,
        /// When an admin banned the account, if one did.
        pub banned_at: Option<OffsetDateTime>,
        /// Creation time.
        pub created_at: OffsetDateTime,
        /// Last update time.
        pub updated_at: OffsetDateTime,
    }
}

impl User {
    /// The stored password hash, if the account has a password.
    pub fn hashed_password(&self) -> Option<&str> {
        self.hashed_password.as_deref()
    }

    /// Whether the account has a password (accounts made by magic link or OAuth may not).
    pub fn has_password(&self) -> bool {
        self.hashed_password.is_some()
    }

    /// Whether an admin locked or banned the account: it cannot log in, and its
    /// sessions, API keys and access tokens are refused (see `features::admin`).
    pub fn barred(&self) -> bool {
        self.admin_locked_at.is_some() || self.banned_at.is_some()
    }

    /// What the host app may see of the account: no secret, no lockout counters.
    pub fn view(&self) -> UserView {
        UserView {
            id: self.id,
            email: self.email.clone(),
            confirmed_at: self.confirmed_at,
            has_password: self.has_password(),
            mfa_enabled_at: self.mfa_enabled_at,
            deletion_scheduled_at: self.deletion_scheduled_at,
            is_admin: self.is_admin,
            created_at: self.created_at,
        }
    }
}

/// An account as the host app sees it: what it may show or decide on, and nothing
/// secret (no password hash, no lockout or second-factor counters).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct UserView {
    /// Account id.
    pub id: Uuid,
    /// Normalized email.
    pub email: String,
    /// When the email was confirmed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub confirmed_at: Option<OffsetDateTime>,
    /// Whether the account has a password.
    pub has_password: bool,
    /// When a second factor was turned on.
    #[serde(with = "time::serde::rfc3339::option")]
    pub mfa_enabled_at: Option<OffsetDateTime>,
    /// When the account is due to be deleted, if a deletion is pending.
    #[serde(with = "time::serde::rfc3339::option")]
    pub deletion_scheduled_at: Option<OffsetDateTime>,
    /// A platform admin.
    pub is_admin: bool,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

row! {
    /// A stored emailed or remember-me token (its hash, never the token).
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct UserToken {
        /// Primary key.
        pub id: Uuid,
        /// Owner.
        pub user_id: Uuid,
        /// A [`TokenKind`](crate::crypto::TokenKind) name.
        pub kind: String,
        /// The address the token was mailed to.
        pub sent_to: Option<String>,
        /// Expiry.
        pub expires_at: OffsetDateTime,
        /// Creation time.
        pub created_at: OffsetDateTime,
        /// Wrong guesses so far (confirmation codes).
        pub attempts: i32,
    }
}

row! {
    /// A browser session.
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct Session {
        /// Primary key.
        pub id: Uuid,
        /// Owner.
        pub user_id: Uuid,
        /// Creation time.
        pub created_at: OffsetDateTime,
        /// Last request seen.
        pub last_seen_at: OffsetDateTime,
        /// Absolute expiry.
        pub expires_at: OffsetDateTime,
        /// Created with remember-me.
        pub remember_me: bool,
        /// Last interactive authentication.
        pub sudo_at: Option<OffsetDateTime>,
        /// When this session passed the second factor, if it did.
        pub mfa_at: Option<OffsetDateTime>,
        /// Client IP at creation.
        pub ip: Option<String>,
        /// User agent at creation.
        pub user_agent: Option<String>,
        /// An API refresh family: ends at its expiry, not after the idle timeout.
        pub refresh_family: bool,
        /// The name an API client gave its refresh family, if any.
        pub device_name: Option<String>,
        /// The organization the session acts in, when one was switched to.
        pub active_organization_id: Option<Uuid>,
        /// The admin acting as the user, when this is an impersonation session.
        pub impersonator_id: Option<Uuid>,
        /// The organization an organization admin impersonates through, if one does.
        pub impersonation_organization_id: Option<Uuid>,
        /// The reason the admin gave for impersonating.
        pub impersonation_reason: Option<String>,
    }
}

row! {
    /// An audit event.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    #[non_exhaustive]
    pub struct AuditEvent {
        /// Primary key.
        pub id: Uuid,
        /// Who acted.
        pub actor_id: Option<Uuid>,
        /// Whom it concerned.
        pub target_id: Option<Uuid>,
        /// What happened.
        pub action: String,
        /// JSON details.
        pub metadata: Json<serde_json::Value>,
        /// Client IP.
        pub ip: Option<String>,
        /// Client user agent.
        pub user_agent: Option<String>,
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        pub occurred_at: OffsetDateTime,
        /// The organization the event happened in, if any.
        pub organization_id: Option<Uuid>,
        /// Whether anonymization cleared its personal fields.
        pub scrubbed: bool,
        /// The admin who caused it while impersonating the actor, if one did.
        pub impersonator_id: Option<Uuid>,
    }
}

row! {
    /// A job in the outbox.
    ///
    /// `Debug` leaves out the sealed payload and the last error (see `store::outbox`).
    #[derive(Clone, PartialEq)]
    #[non_exhaustive]
    pub struct OutboxJob {
        /// Primary key.
        pub id: Uuid,
        /// Job kind.
        pub kind: String,
        /// JSON payload.
        pub payload: Json<serde_json::Value>,
        /// Attempts so far.
        pub attempts: i32,
        /// Not before.
        pub run_at: OffsetDateTime,
        /// Last failure.
        pub last_error: Option<String>,
        /// When it was done.
        pub done_at: Option<OffsetDateTime>,
    }
}

impl std::fmt::Debug for MfaTotpRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaTotpRow")
            .field("user_id", &self.user_id)
            .field("secret", &format_args!("[redacted]"))
            .field("confirmed_at", &self.confirmed_at)
            .field("last_step", &self.last_step)
            .field("failed_count", &self.failed_count)
            .field("locked_until", &self.locked_until)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// `sigra_instances` columns: the app instances sharing the database.
#[derive(Iden, Clone, Copy, Debug)]
#[iden = "sigra_instances"]
pub enum Instances {
    /// The table.
    Table,
    /// The instance's id, random at each start.
    Id,
    /// When it started (Unix milliseconds).
    StartedMs,
    /// Its last heartbeat (Unix milliseconds).
    HeartbeatMs,
}
