//! Queries on `sigra_api_keys`: personal API keys, stored as a display prefix and the
//! SHA-256 of the key.

use sea_query::{Cond, Expr, ExprTrait, Order, Query};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{ApiKeyRow, ApiKeys, Executor, StoreError};

const COLUMNS: [ApiKeys; 11] = [
    ApiKeys::Id,
    ApiKeys::UserId,
    ApiKeys::Name,
    ApiKeys::Prefix,
    ApiKeys::KeyHash,
    ApiKeys::Scopes,
    ApiKeys::CreatedAt,
    ApiKeys::LastUsedAt,
    ApiKeys::ExpiresAt,
    ApiKeys::RevokedAt,
    ApiKeys::OrganizationId,
];

/// A key to store.
#[derive(Debug, Clone)]
pub struct NewApiKey<'a> {
    /// Primary key.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// The owner's label.
    pub name: &'a str,
    /// The key's first characters.
    pub prefix: &'a str,
    /// SHA-256 of the key.
    pub key_hash: &'a [u8; 32],
    /// Scope names.
    pub scopes: &'a [String],
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Expiry, if any.
    pub expires_at: Option<OffsetDateTime>,
    /// The organization that owns the key, if any.
    pub organization_id: Option<Uuid>,
}

/// Stores a key.
pub async fn insert(ex: &impl Executor, key: &NewApiKey<'_>) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(ApiKeys::Table)
        .columns([
            ApiKeys::Id,
            ApiKeys::UserId,
            ApiKeys::Name,
            ApiKeys::Prefix,
            ApiKeys::KeyHash,
            ApiKeys::Scopes,
            ApiKeys::CreatedAt,
            ApiKeys::ExpiresAt,
            ApiKeys::OrganizationId,
        ])
        .values([
            key.id.into(),
            key.user_id.into(),
            key.name.into(),
            key.prefix.into(),
            key.key_hash.to_vec().into(),
            serde_json::json!(key.scopes).into(),
            key.created_at.into(),
            key.expires_at.into(),
            key.organization_id.into(),
        ])?
        .to_owned();
    ex.execute(&stmt).await?;
    Ok(())
}

/// Whether a key is live at `now`: not revoked, not expired.
fn live(now: OffsetDateTime) -> Cond {
    Cond::all()
        .add(Expr::col(ApiKeys::RevokedAt).is_null())
        .add(
            Cond::any()
                .add(Expr::col(ApiKeys::ExpiresAt).is_null())
                .add(Expr::col(ApiKeys::ExpiresAt).gt(now)),
        )
}

/// How many live keys the account holds.
pub async fn count_live(
    ex: &impl Executor,
    user_id: Uuid,
    now: OffsetDateTime,
) -> Result<i64, StoreError> {
    let stmt = Query::select()
        .from(ApiKeys::Table)
        .and_where(Expr::col(ApiKeys::UserId).eq(user_id))
        .cond_where(live(now))
        .to_owned();
    super::count(ex, stmt).await
}

/// The account's keys that are not revoked (expired ones included), newest first.
pub async fn list_for_user(
    ex: &impl Executor,
    user_id: Uuid,
) -> Result<Vec<ApiKeyRow>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(ApiKeys::Table)
        .and_where(Expr::col(ApiKeys::UserId).eq(user_id))
        .and_where(Expr::col(ApiKeys::RevokedAt).is_null())
        .order_by(ApiKeys::CreatedAt, Order::Desc)
        .order_by(ApiKeys::Id, Order::Desc)
        .to_owned();
    ex.fetch_all(&stmt).await
}

/// The key with this digest, revoked or not.
pub async fn find_by_hash(
    ex: &impl Executor,
    key_hash: &[u8; 32],
) -> Result<Option<ApiKeyRow>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(ApiKeys::Table)
        .and_where(Expr::col(ApiKeys::KeyHash).eq(key_hash.to_vec()))
        .to_owned();
    ex.fetch_optional(&stmt).await
}

/// Revokes the account's key `id` if it is not revoked yet; answers it (as it was) when
/// this call revoked it. Of concurrent revocations exactly one gets it.
pub async fn revoke(
    ex: &impl Executor,
    user_id: Uuid,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<Option<ApiKeyRow>, StoreError> {
    let find = Query::select()
        .columns(COLUMNS)
        .from(ApiKeys::Table)
        .and_where(Expr::col(ApiKeys::Id).eq(id))
        .and_where(Expr::col(ApiKeys::UserId).eq(user_id))
        .and_where(Expr::col(ApiKeys::RevokedAt).is_null())
        .to_owned();
    let Some(key) = ex.fetch_optional::<ApiKeyRow, _>(&find).await? else {
        return Ok(None);
    };
    let stmt = Query::update()
        .table(ApiKeys::Table)
        .value(ApiKeys::RevokedAt, now)
        .and_where(Expr::col(ApiKeys::Id).eq(id))
        .and_where(Expr::col(ApiKeys::UserId).eq(user_id))
        .and_where(Expr::col(ApiKeys::RevokedAt).is_null())
        .to_owned();
    Ok((ex.execute(&stmt).await? == 1).then_some(key))
}

/// Revokes every live key of the account; answers how many.
pub async fn revoke_all_for_user(
    ex: &impl Executor,
    user_id: Uuid,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(ApiKeys::Table)
        .value(ApiKeys::RevokedAt, now)
        .and_where(Expr::col(ApiKeys::UserId).eq(user_id))
        .and_where(Expr::col(ApiKeys::RevokedAt).is_null())
        .to_owned();
    ex.execute(&stmt).await
}

/// Deletes every key of the account (account deletion).
pub async fn delete_for_user(ex: &impl Executor, user_id: Uuid) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(ApiKeys::Table)
        .and_where(Expr::col(ApiKeys::UserId).eq(user_id))
        .to_owned();
    ex.execute(&stmt).await
}

/// Deletes the keys an organization owns (the organization is being deleted); answers
/// how many.
pub async fn delete_for_organization(
    ex: &impl Executor,
    organization_id: Uuid,
) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(ApiKeys::Table)
        .and_where(Expr::col(ApiKeys::OrganizationId).eq(organization_id))
        .to_owned();
    ex.execute(&stmt).await
}

/// Records a use at `now`, unless one was recorded less than `interval` ago: of several
/// requests racing past that point, one writes.
pub async fn touch(
    ex: &impl Executor,
    id: Uuid,
    now: OffsetDateTime,
    interval: Duration,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(ApiKeys::Table)
        .value(ApiKeys::LastUsedAt, now)
        .and_where(Expr::col(ApiKeys::Id).eq(id))
        .cond_where(
            Cond::any()
                .add(Expr::col(ApiKeys::LastUsedAt).is_null())
                .add(Expr::col(ApiKeys::LastUsedAt).lte(now - interval)),
        )
        .to_owned();
    ex.execute(&stmt).await
}
