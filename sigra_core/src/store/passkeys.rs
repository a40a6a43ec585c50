//! Queries on `sigra_passkeys` (WebAuthn credentials: public keys and metadata, nothing
//! secret) and `sigra_webauthn_ceremonies` (the sealed server-side state of started
//! ceremonies, each usable once).

use sea_query::{Cond, Expr, ExprTrait, Order, Query};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{CeremonyRow, Executor, PasskeyRow, Passkeys, StoreError, WebauthnCeremonies};

const COLUMNS: [Passkeys; 12] = [
    Passkeys::Id,
    Passkeys::UserId,
    Passkeys::CredentialId,
    Passkeys::Name,
    Passkeys::Passkey,
    Passkeys::Aaguid,
    Passkeys::BackupEligible,
    Passkeys::BackupState,
    Passkeys::SignCount,
    Passkeys::UsedForMfa,
    Passkeys::CreatedAt,
    Passkeys::LastUsedAt,
];

const CEREMONY_COLUMNS: [WebauthnCeremonies; 6] = [
    WebauthnCeremonies::Id,
    WebauthnCeremonies::Purpose,
    WebauthnCeremonies::UserId,
    WebauthnCeremonies::SessionId,
    WebauthnCeremonies::State,
    WebauthnCeremonies::ExpiresAt,
];

/// A passkey to store.
#[derive(Debug, Clone)]
pub struct NewPasskey<'a> {
    /// Primary key.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// The credential id.
    pub credential_id: &'a [u8],
    /// The owner's label.
    pub name: &'a str,
    /// The webauthn-rs `Passkey` as JSON.
    pub passkey: &'a serde_json::Value,
    /// The authenticator model, when known.
    pub aaguid: Option<Uuid>,
    /// Whether the credential may be synced or backed up.
    pub backup_eligible: bool,
    /// Whether it is backed up or synced now.
    pub backup_state: bool,
    /// Signature counter at registration.
    pub sign_count: i64,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

/// Stores a passkey. [`StoreError::Conflict`] when its credential id is registered
/// already (to any account).
pub async fn insert(ex: &impl Executor, new: &NewPasskey<'_>) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(Passkeys::Table)
        .columns([
            Passkeys::Id,
            Passkeys::UserId,
            Passkeys::CredentialId,
            Passkeys::Name,
            Passkeys::Passkey,
            Passkeys::Aaguid,
            Passkeys::BackupEligible,
            Passkeys::BackupState,
            Passkeys::SignCount,
            Passkeys::UsedForMfa,
            Passkeys::CreatedAt,
        ])
        .values([
            new.id.into(),
            new.user_id.into(),
            new.credential_id.to_vec().into(),
            new.name.into(),
            new.passkey.clone().into(),
            new.aaguid.into(),
            new.backup_eligible.into(),
            new.backup_state.into(),
            new.sign_count.into(),
            false.into(),
            new.created_at.into(),
        ])?
        .to_owned();
    ex.execute(&stmt).await?;
    Ok(())
}

/// The account's passkeys, newest first.
pub async fn list_for_user(
    ex: &impl Executor,
    user_id: Uuid,
) -> Result<Vec<PasskeyRow>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(Passkeys::Table)
        .and_where(Expr::col(Passkeys::UserId).eq(user_id))
        .order_by(Passkeys::CreatedAt, Order::Desc)
        .order_by(Passkeys::Id, Order::Desc)
        .to_owned();
    ex.fetch_all(&stmt).await
}

/// The passkey with this credential id, whoever owns it.
pub async fn find_by_credential_id(
    ex: &impl Executor,
    credential_id: &[u8],
) -> Result<Option<PasskeyRow>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(Passkeys::Table)
        .and_where(Expr::col(Passkeys::CredentialId).eq(credential_id.to_vec()))
        .to_owned();
    ex.fetch_optional(&stmt).await
}

/// The account's passkey `id` (another account's counts as none).
pub async fn find_for_user(
    ex: &impl Executor,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<PasskeyRow>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(Passkeys::Table)
        .and_where(Expr::col(Passkeys::Id).eq(id))
        .and_where(Expr::col(Passkeys::UserId).eq(user_id))
        .to_owned();
    ex.fetch_optional(&stmt).await
}

/// Renames the account's passkey `id`; answers the affected row count.
pub async fn rename(
    ex: &impl Executor,
    user_id: Uuid,
    id: Uuid,
    name: &str,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(Passkeys::Table)
        .value(Passkeys::Name, name)
        .and_where(Expr::col(Passkeys::Id).eq(id))
        .and_where(Expr::col(Passkeys::UserId).eq(user_id))
        .to_owned();
    ex.execute(&stmt).await
}

/// Marks the account's passkey `id` as a second factor or not; answers the affected row
/// count (0: no such passkey, or it already was so).
pub async fn set_used_for_mfa(
    ex: &impl Executor,
    user_id: Uuid,
    id: Uuid,
    on: bool,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(Passkeys::Table)
        .value(Passkeys::UsedForMfa, on)
        .and_where(Expr::col(Passkeys::Id).eq(id))
        .and_where(Expr::col(Passkeys::UserId).eq(user_id))
        .and_where(Expr::col(Passkeys::UsedForMfa).eq(!on))
        .to_owned();
    ex.execute(&stmt).await
}

/// Stops using every passkey of the account as a second factor (two-step verification
/// turned off as a whole); answers how many were.
pub async fn clear_used_for_mfa(ex: &impl Executor, user_id: Uuid) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(Passkeys::Table)
        .value(Passkeys::UsedForMfa, false)
        .and_where(Expr::col(Passkeys::UserId).eq(user_id))
        .and_where(Expr::col(Passkeys::UsedForMfa).eq(true))
        .to_owned();
    ex.execute(&stmt).await
}

async fn count(ex: &impl Executor, cond: Cond) -> Result<i64, StoreError> {
    let stmt = Query::select()
        .from(Passkeys::Table)
        .cond_where(cond)
        .to_owned();
    super::count(ex, stmt).await
}

/// How many passkeys the account has, not counting `except`.
pub async fn count_for_user(
    ex: &impl Executor,
    user_id: Uuid,
    except: Option<Uuid>,
) -> Result<i64, StoreError> {
    let mut cond = Cond::all().add(Expr::col(Passkeys::UserId).eq(user_id));
    if let Some(except) = except {
        cond = cond.add(Expr::col(Passkeys::Id).ne(except));
    }
    count(ex, cond).await
}

/// How many of the account's passkeys are used as a second factor.
pub async fn count_used_for_mfa(ex: &impl Executor, user_id: Uuid) -> Result<i64, StoreError> {
    let cond = Cond::all()
        .add(Expr::col(Passkeys::UserId).eq(user_id))
        .add(Expr::col(Passkeys::UsedForMfa).eq(true));
    count(ex, cond).await
}

/// Deletes the account's passkey `id`; answers the affected row count.
pub async fn delete(ex: &impl Executor, user_id: Uuid, id: Uuid) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(Passkeys::Table)
        .and_where(Expr::col(Passkeys::Id).eq(id))
        .and_where(Expr::col(Passkeys::UserId).eq(user_id))
        .to_owned();
    ex.execute(&stmt).await
}

/// Deletes every passkey and ceremony of the account (account deletion).
pub async fn delete_for_user(ex: &impl Executor, user_id: Uuid) -> Result<u64, StoreError> {
    let ceremonies = Query::delete()
        .from_table(WebauthnCeremonies::Table)
        .and_where(Expr::col(WebauthnCeremonies::UserId).eq(user_id))
        .to_owned();
    ex.execute(&ceremonies).await?;
    let stmt = Query::delete()
        .from_table(Passkeys::Table)
        .and_where(Expr::col(Passkeys::UserId).eq(user_id))
        .to_owned();
    ex.execute(&stmt).await
}

/// What a successful use of a passkey changes.
#[derive(Debug, Clone)]
pub struct PasskeyUse<'a> {
    /// The updated webauthn-rs `Passkey` as JSON.
    pub passkey: &'a serde_json::Value,
    /// The signature counter the authenticator presented.
    pub sign_count: i64,
    /// Whether the credential may be synced or backed up.
    pub backup_eligible: bool,
    /// Whether it is backed up or synced now.
    pub backup_state: bool,
    /// When.
    pub at: OffsetDateTime,
}

/// Records a use of passkey `id`. A non-zero counter must be above the stored one: of
/// uses racing with the same counter (two copies of one key), exactly one sees 1. A zero
/// counter (authenticators that keep none) is recorded when the stored one is zero too.
pub async fn record_use(
    ex: &impl Executor,
    id: Uuid,
    used: &PasskeyUse<'_>,
) -> Result<u64, StoreError> {
    let counter = if used.sign_count > 0 {
        Expr::col(Passkeys::SignCount).lt(used.sign_count)
    } else {
        Expr::col(Passkeys::SignCount).eq(0)
    };
    let stmt = Query::update()
        .table(Passkeys::Table)
        .value(Passkeys::Passkey, used.passkey.clone())
        .value(Passkeys::SignCount, used.sign_count)
        .value(Passkeys::BackupEligible, used.backup_eligible)
        .value(Passkeys::BackupState, used.backup_state)
        .value(Passkeys::LastUsedAt, used.at)
        .and_where(Expr::col(Passkeys::Id).eq(id))
        .and_where(counter)
        .to_owned();
    ex.execute(&stmt).await
}

/// A ceremony to store.
#[derive(Debug, Clone)]
pub struct NewCeremony<'a> {
    /// Primary key.
    pub id: Uuid,
    /// SHA-256 of the ceremony token.
    pub token_hash: &'a [u8; 32],
    /// `register`, `sign_in`, `mfa` or `sudo`.
    pub purpose: &'a str,
    /// The account, for ceremonies of a signed-in session.
    pub user_id: Option<Uuid>,
    /// The session it is bound to.
    pub session_id: Option<Uuid>,
    /// The sealed state.
    pub state: &'a str,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Expiry.
    pub expires_at: OffsetDateTime,
}

/// Stores a started ceremony.
pub async fn insert_ceremony(ex: &impl Executor, new: &NewCeremony<'_>) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(WebauthnCeremonies::Table)
        .columns([
            WebauthnCeremonies::Id,
            WebauthnCeremonies::TokenHash,
            WebauthnCeremonies::Purpose,
            WebauthnCeremonies::UserId,
            WebauthnCeremonies::SessionId,
            WebauthnCeremonies::State,
            WebauthnCeremonies::CreatedAt,
            WebauthnCeremonies::ExpiresAt,
        ])
        .values([
            new.id.into(),
            new.token_hash.to_vec().into(),
            new.purpose.into(),
            new.user_id.into(),
            new.session_id.into(),
            new.state.into(),
            new.created_at.into(),
            new.expires_at.into(),
        ])?
        .to_owned();
    ex.execute(&stmt).await?;
    Ok(())
}

/// Uses up the ceremony whose token hashes to `token_hash`, if it has `purpose`, is bound
/// to `session_id` (`None`: to no session), is unused and has not expired at `now`; answers
/// it. The conditional update decides: of concurrent uses of one ceremony, exactly one
/// gets it.
pub async fn consume_ceremony(
    ex: &impl Executor,
    token_hash: &[u8; 32],
    purpose: &str,
    session_id: Option<Uuid>,
    now: OffsetDateTime,
) -> Result<Option<CeremonyRow>, StoreError> {
    let session = match session_id {
        Some(id) => Expr::col(WebauthnCeremonies::SessionId).eq(id),
        None => Expr::col(WebauthnCeremonies::SessionId).is_null(),
    };
    let stmt = Query::update()
        .table(WebauthnCeremonies::Table)
        .value(WebauthnCeremonies::UsedAt, now)
        .and_where(Expr::col(WebauthnCeremonies::TokenHash).eq(token_hash.to_vec()))
        .and_where(Expr::col(WebauthnCeremonies::Purpose).eq(purpose))
        .and_where(Expr::col(WebauthnCeremonies::UsedAt).is_null())
        .and_where(Expr::col(WebauthnCeremonies::ExpiresAt).gt(now))
        .and_where(session)
        .to_owned();
    if ex.execute(&stmt).await? != 1 {
        return Ok(None);
    }
    let find = Query::select()
        .columns(CEREMONY_COLUMNS)
        .from(WebauthnCeremonies::Table)
        .and_where(Expr::col(WebauthnCeremonies::TokenHash).eq(token_hash.to_vec()))
        .to_owned();
    ex.fetch_optional(&find).await
}

/// Deletes ceremonies that expired before `before` (used or not); answers how many.
pub async fn delete_expired_ceremonies(
    ex: &impl Executor,
    before: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(WebauthnCeremonies::Table)
        .and_where(Expr::col(WebauthnCeremonies::ExpiresAt).lt(before))
        .to_owned();
    ex.execute(&stmt).await
}
