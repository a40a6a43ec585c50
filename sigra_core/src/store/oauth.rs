//! Queries on `sigra_identities` (provider accounts linked to Sigra accounts; their
//! provider tokens sealed) and `sigra_oauth_flows` (started provider flows and
//! identities waiting to be linked, each usable once).

use sea_query::{Cond, Expr, ExprTrait, Order, Query};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Executor, Identities, IdentityRow, OauthFlowRow, OauthFlows, StoreError};

const COLUMNS: [Identities; 12] = [
    Identities::Id,
    Identities::UserId,
    Identities::Provider,
    Identities::Subject,
    Identities::Email,
    Identities::Name,
    Identities::Label,
    Identities::AccessToken,
    Identities::RefreshToken,
    Identities::TokenExpiresAt,
    Identities::CreatedAt,
    Identities::LastUsedAt,
];

const FLOW_COLUMNS: [OauthFlows; 9] = [
    OauthFlows::Id,
    OauthFlows::Provider,
    OauthFlows::Purpose,
    OauthFlows::UserId,
    OauthFlows::SessionId,
    OauthFlows::Sealed,
    OauthFlows::Callback,
    OauthFlows::ExpiresAt,
    OauthFlows::UsedAt,
];

/// The provider's tokens, sealed, as stored on an identity.
#[derive(Clone, Default)]
pub struct SealedTokens {
    /// Sealed access token.
    pub access_token: Option<String>,
    /// Sealed refresh token.
    pub refresh_token: Option<String>,
    /// Access token expiry.
    pub expires_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for SealedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedTokens")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// An identity to link.
#[derive(Debug, Clone)]
pub struct NewIdentity<'a> {
    /// Primary key.
    pub id: Uuid,
    /// The Sigra account.
    pub user_id: Uuid,
    /// The provider's configured name.
    pub provider: &'a str,
    /// The provider's id of the account.
    pub subject: &'a str,
    /// The email address the provider gave.
    pub email: Option<&'a str>,
    /// The person's name, when the provider gave one.
    pub name: Option<&'a str>,
    /// The provider account's email or login.
    pub label: &'a str,
    /// The provider's tokens, sealed.
    pub tokens: &'a SealedTokens,
    /// Link time.
    pub created_at: OffsetDateTime,
}

/// Links an identity. [`StoreError::Conflict`] when the provider's subject is linked
/// already (to any account): the unique index decides.
pub async fn insert(ex: &impl Executor, new: &NewIdentity<'_>) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(Identities::Table)
        .columns(COLUMNS)
        .values([
            new.id.into(),
            new.user_id.into(),
            new.provider.into(),
            new.subject.into(),
            new.email.map(str::to_owned).into(),
            new.name.map(str::to_owned).into(),
            new.label.into(),
            new.tokens.access_token.clone().into(),
            new.tokens.refresh_token.clone().into(),
            new.tokens.expires_at.into(),
            new.created_at.into(),
            Some(new.created_at).into(),
        ])?
        .to_owned();
    ex.execute(&stmt).await?;
    Ok(())
}

/// The identity `subject` at `provider`, whoever it is linked to.
pub async fn find_by_subject(
    ex: &impl Executor,
    provider: &str,
    subject: &str,
) -> Result<Option<IdentityRow>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(Identities::Table)
        .and_where(Expr::col(Identities::Provider).eq(provider))
        .and_where(Expr::col(Identities::Subject).eq(subject))
        .to_owned();
    ex.fetch_optional(&stmt).await
}

/// The account's identities, oldest first.
pub async fn list_for_user(
    ex: &impl Executor,
    user_id: Uuid,
) -> Result<Vec<IdentityRow>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(Identities::Table)
        .and_where(Expr::col(Identities::UserId).eq(user_id))
        .order_by(Identities::CreatedAt, Order::Asc)
        .order_by(Identities::Id, Order::Asc)
        .to_owned();
    ex.fetch_all(&stmt).await
}

/// How many identities the account has linked, not counting `except`.
pub async fn count_for_user(
    ex: &impl Executor,
    user_id: Uuid,
    except: Option<Uuid>,
) -> Result<i64, StoreError> {
    let mut cond = Cond::all().add(Expr::col(Identities::UserId).eq(user_id));
    if let Some(except) = except {
        cond = cond.add(Expr::col(Identities::Id).ne(except));
    }
    let stmt = Query::select()
        .from(Identities::Table)
        .cond_where(cond)
        .to_owned();
    super::count(ex, stmt).await
}

/// Records a sign-in or step-up through identity `id`: the time, the label, the name
/// (kept when the provider gave none this time) and the fresh tokens.
pub async fn record_use(
    ex: &impl Executor,
    id: Uuid,
    label: &str,
    name: Option<&str>,
    tokens: &SealedTokens,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let mut stmt = Query::update();
    if let Some(name) = name {
        stmt.value(Identities::Name, name);
    }
    let stmt = stmt
        .table(Identities::Table)
        .value(Identities::Label, label)
        .value(Identities::AccessToken, tokens.access_token.clone())
        .value(Identities::RefreshToken, tokens.refresh_token.clone())
        .value(Identities::TokenExpiresAt, tokens.expires_at)
        .value(Identities::LastUsedAt, now)
        .and_where(Expr::col(Identities::Id).eq(id))
        .to_owned();
    ex.execute(&stmt).await
}

/// Unlinks the account's identity `id`; answers the affected row count.
pub async fn delete(ex: &impl Executor, user_id: Uuid, id: Uuid) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(Identities::Table)
        .and_where(Expr::col(Identities::Id).eq(id))
        .and_where(Expr::col(Identities::UserId).eq(user_id))
        .to_owned();
    ex.execute(&stmt).await
}

/// Deletes every identity and flow of the account (account deletion).
pub async fn delete_for_user(ex: &impl Executor, user_id: Uuid) -> Result<u64, StoreError> {
    let flows = Query::delete()
        .from_table(OauthFlows::Table)
        .and_where(Expr::col(OauthFlows::UserId).eq(user_id))
        .to_owned();
    ex.execute(&flows).await?;
    let stmt = Query::delete()
        .from_table(Identities::Table)
        .and_where(Expr::col(Identities::UserId).eq(user_id))
        .to_owned();
    ex.execute(&stmt).await
}

/// A flow to store.
#[derive(Debug, Clone)]
pub struct NewFlow<'a> {
    /// Primary key.
    pub id: Uuid,
    /// SHA-256 of the `state` parameter.
    pub state_hash: &'a [u8; 32],
    /// SHA-256 of the browser's binding cookie.
    pub browser_hash: &'a [u8; 32],
    /// The provider's configured name.
    pub provider: &'a str,
    /// `sign_in`, `link`, `sudo` or `pending_link`.
    pub purpose: &'a str,
    /// The account, for flows of a signed-in session.
    pub user_id: Option<Uuid>,
    /// The session it is bound to.
    pub session_id: Option<Uuid>,
    /// The sealed state.
    pub sealed: &'a str,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Expiry.
    pub expires_at: OffsetDateTime,
}

/// Stores a flow.
pub async fn insert_flow(ex: &impl Executor, new: &NewFlow<'_>) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(OauthFlows::Table)
        .columns([
            OauthFlows::Id,
            OauthFlows::StateHash,
            OauthFlows::BrowserHash,
            OauthFlows::Provider,
            OauthFlows::Purpose,
            OauthFlows::UserId,
            OauthFlows::SessionId,
            OauthFlows::Sealed,
            OauthFlows::CreatedAt,
            OauthFlows::ExpiresAt,
        ])
        .values([
            new.id.into(),
            new.state_hash.to_vec().into(),
            new.browser_hash.to_vec().into(),
            new.provider.into(),
            new.purpose.into(),
            new.user_id.into(),
            new.session_id.into(),
            new.sealed.into(),
            new.created_at.into(),
            new.expires_at.into(),
        ])?
        .to_owned();
    ex.execute(&stmt).await?;
    Ok(())
}

/// The flow whose `state` hashes to `state_hash`, used or not.
pub async fn find_flow(
    ex: &impl Executor,
    state_hash: &[u8; 32],
) -> Result<Option<OauthFlowRow>, StoreError> {
    let stmt = Query::select()
        .columns(FLOW_COLUMNS)
        .from(OauthFlows::Table)
        .and_where(Expr::col(OauthFlows::StateHash).eq(state_hash.to_vec()))
        .to_owned();
    ex.fetch_optional(&stmt).await
}

/// Uses up the flow of `provider` whose `state` hashes to `state_hash`, if this browser
/// started it (`browser_hash`), it is unused and it has not expired at `now`; answers
/// it. The conditional update decides: of concurrent callbacks, exactly one gets it.
pub async fn consume_flow(
    ex: &impl Executor,
    state_hash: &[u8; 32],
    browser_hash: &[u8; 32],
    provider: &str,
    now: OffsetDateTime,
) -> Result<Option<OauthFlowRow>, StoreError> {
    let stmt = Query::update()
        .table(OauthFlows::Table)
        .value(OauthFlows::UsedAt, now)
        .and_where(Expr::col(OauthFlows::StateHash).eq(state_hash.to_vec()))
        .and_where(Expr::col(OauthFlows::BrowserHash).eq(browser_hash.to_vec()))
        .and_where(Expr::col(OauthFlows::Provider).eq(provider))
        .and_where(Expr::col(OauthFlows::Purpose).ne("pending_link"))
        .and_where(Expr::col(OauthFlows::UsedAt).is_null())
        .and_where(Expr::col(OauthFlows::ExpiresAt).gt(now))
        .to_owned();
    if ex.execute(&stmt).await? != 1 {
        return Ok(None);
    }
    find_flow(ex, state_hash).await
}

/// Keeps the provider's `form_post` answer (sealed) on the live, unused flow of
/// `provider` whose `state` hashes to `state_hash`, unless one is kept already (the
/// first answer wins); answers the affected row count.
pub async fn stash_callback(
    ex: &impl Executor,
    state_hash: &[u8; 32],
    provider: &str,
    sealed: &str,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(OauthFlows::Table)
        .value(OauthFlows::Callback, sealed)
        .and_where(Expr::col(OauthFlows::StateHash).eq(state_hash.to_vec()))
        .and_where(Expr::col(OauthFlows::Provider).eq(provider))
        .and_where(Expr::col(OauthFlows::Purpose).ne("pending_link"))
        .and_where(Expr::col(OauthFlows::Callback).is_null())
        .and_where(Expr::col(OauthFlows::UsedAt).is_null())
        .and_where(Expr::col(OauthFlows::ExpiresAt).gt(now))
        .to_owned();
    ex.execute(&stmt).await
}

/// The newest live identity of `provider` waiting in this browser (`browser_hash`) to
/// be linked.
pub async fn find_pending(
    ex: &impl Executor,
    browser_hash: &[u8; 32],
    provider: Option<&str>,
    now: OffsetDateTime,
) -> Result<Option<OauthFlowRow>, StoreError> {
    let mut stmt = Query::select()
        .columns(FLOW_COLUMNS)
        .from(OauthFlows::Table)
        .and_where(Expr::col(OauthFlows::BrowserHash).eq(browser_hash.to_vec()))
        .and_where(Expr::col(OauthFlows::Purpose).eq("pending_link"))
        .and_where(Expr::col(OauthFlows::UsedAt).is_null())
        .and_where(Expr::col(OauthFlows::ExpiresAt).gt(now))
        .order_by(OauthFlows::CreatedAt, Order::Desc)
        .order_by(OauthFlows::Id, Order::Desc)
        .limit(1)
        .to_owned();
    if let Some(provider) = provider {
        stmt.and_where(Expr::col(OauthFlows::Provider).eq(provider));
    }
    ex.fetch_optional(&stmt).await
}

/// Uses up the waiting identity `id` (a conditional update: once); answers whether this
/// call did.
pub async fn consume_pending(
    ex: &impl Executor,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let stmt = Query::update()
        .table(OauthFlows::Table)
        .value(OauthFlows::UsedAt, now)
        .and_where(Expr::col(OauthFlows::Id).eq(id))
        .and_where(Expr::col(OauthFlows::Purpose).eq("pending_link"))
        .and_where(Expr::col(OauthFlows::UsedAt).is_null())
        .and_where(Expr::col(OauthFlows::ExpiresAt).gt(now))
        .to_owned();
    Ok(ex.execute(&stmt).await? == 1)
}

/// Deletes flows that expired before `before` (used or not); answers how many.
pub async fn delete_expired_flows(
    ex: &impl Executor,
    before: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(OauthFlows::Table)
        .and_where(Expr::col(OauthFlows::ExpiresAt).lt(before))
        .to_owned();
    ex.execute(&stmt).await
}
