//! Queries on `sigra_user_tokens`: emailed and remember-me tokens, stored as hashes.

use sea_query::{Expr, ExprTrait, IntoIden, Order, Query};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Executor, StoreError, UserToken, UserTokens};
use crate::crypto::{TokenHash, TokenKind};

const COLUMNS: [UserTokens; 7] = [
    UserTokens::Id,
    UserTokens::UserId,
    UserTokens::Kind,
    UserTokens::SentTo,
    UserTokens::ExpiresAt,
    UserTokens::CreatedAt,
    UserTokens::Attempts,
];

/// A token to store.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    /// Primary key.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Hash of the token.
    pub hash: &'a TokenHash,
    /// What the token is for.
    pub kind: TokenKind,
    /// Where it was mailed.
    pub sent_to: Option<&'a str>,
    /// Expiry.
    pub expires_at: OffsetDateTime,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

/// Stores a token hash.
pub async fn insert(ex: &impl Executor, token: &NewToken<'_>) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(UserTokens::Table)
        .columns([
            UserTokens::Id,
            UserTokens::UserId,
            UserTokens::TokenHash,
            UserTokens::Kind,
            UserTokens::SentTo,
            UserTokens::ExpiresAt,
            UserTokens::CreatedAt,
        ])
        .values([
            token.id.into(),
            token.user_id.into(),
            token.hash.as_bytes().to_vec().into(),
            token.kind.as_str().into(),
            token.sent_to.map(str::to_owned).into(),
            token.expires_at.into(),
            token.created_at.into(),
        ])?
        .to_owned();
    ex.execute(&stmt).await?;
    Ok(())
}

/// The unexpired token of this kind with this hash, left in place (for landing pages).
pub async fn find_valid(
    ex: &impl Executor,
    hash: &TokenHash,
    kind: TokenKind,
    now: OffsetDateTime,
) -> Result<Option<UserToken>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(UserTokens::Table)
        .and_where(Expr::col(UserTokens::TokenHash).eq(hash.as_bytes().to_vec()))
        .and_where(Expr::col(UserTokens::Kind).eq(kind.as_str()))
        .and_where(Expr::col(UserTokens::ExpiresAt).gt(now))
        .to_owned();
    ex.fetch_optional(&stmt).await
}

/// Uses up a token: answers it only if it was unexpired, of this kind, and this call's
/// delete is the one that removed it. Two concurrent calls cannot both get it.
pub async fn consume(
    ex: &impl Executor,
    hash: &TokenHash,
    kind: TokenKind,
    now: OffsetDateTime,
) -> Result<Option<UserToken>, StoreError> {
    let Some(token) = find_valid(ex, hash, kind, now).await? else {
        return Ok(None);
    };
    let stmt = Query::delete()
        .from_table(UserTokens::Table)
        .and_where(Expr::col(UserTokens::Id).eq(token.id))
        .to_owned();
    Ok((ex.execute(&stmt).await? == 1).then_some(token))
}

/// Deletes a user's tokens of the given kinds (every kind when `kinds` is empty).
pub async fn delete_for_user(
    ex: &impl Executor,
    user_id: Uuid,
    kinds: &[TokenKind],
) -> Result<u64, StoreError> {
    let mut stmt = Query::delete();
    stmt.from_table(UserTokens::Table)
        .and_where(Expr::col(UserTokens::UserId).eq(user_id));
    if !kinds.is_empty() {
        stmt.and_where(Expr::col(UserTokens::Kind).is_in(kinds.iter().map(|k| k.as_str())));
    }
    ex.execute(&stmt).await
}

/// Deletes one token by hash, whatever its kind or age (a remember-me cookie on log-out).
pub async fn delete_by_hash(ex: &impl Executor, hash: &TokenHash) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(UserTokens::Table)
        .and_where(Expr::col(UserTokens::TokenHash).eq(hash.as_bytes().to_vec()))
        .to_owned();
    ex.execute(&stmt).await
}

/// When the newest token of this kind was made for this user, for resend throttling.
pub async fn latest_created_at(
    ex: &impl Executor,
    user_id: Uuid,
    kind: TokenKind,
) -> Result<Option<OffsetDateTime>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(UserTokens::Table)
        .and_where(Expr::col(UserTokens::UserId).eq(user_id))
        .and_where(Expr::col(UserTokens::Kind).eq(kind.as_str()))
        .order_by(UserTokens::CreatedAt, Order::Desc)
        .limit(1)
        .to_owned();
    Ok(ex
        .fetch_optional::<UserToken, _>(&stmt)
        .await?
        .map(|t| t.created_at))
}

/// Deletes expired tokens; answers how many.
pub async fn delete_expired(ex: &impl Executor, now: OffsetDateTime) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(UserTokens::Table)
        .and_where(Expr::col(UserTokens::ExpiresAt).lte(now))
        .to_owned();
    ex.execute(&stmt).await
}

/// Deletes a user's tokens of `kind` sent to `sent_to` (`matching = true`) or sent
/// anywhere else (`matching = false`). Remember-me tokens are "sent to" the session
/// they restore, so this revokes them along with their sessions.
pub async fn delete_by_recipient(
    ex: &impl Executor,
    user_id: Uuid,
    kind: TokenKind,
    sent_to: &str,
    matching: bool,
) -> Result<u64, StoreError> {
    let recipient = Expr::col(UserTokens::SentTo);
    let stmt = Query::delete()
        .from_table(UserTokens::Table)
        .and_where(Expr::col(UserTokens::UserId).eq(user_id))
        .and_where(Expr::col(UserTokens::Kind).eq(kind.as_str()))
        .and_where(if matching {
            recipient.eq(sent_to)
        } else {
            recipient.ne(sent_to)
        })
        .to_owned();
    ex.execute(&stmt).await
}

/// Counts a guess against the user's live token of `kind` before the guess is judged,
/// while the token has tries left (`attempts < max`). Answers whether the guess may be
/// judged; the conditional update decides, so concurrent guesses cannot overrun `max`.
pub async fn count_attempt(
    ex: &impl Executor,
    user_id: Uuid,
    kind: TokenKind,
    max: i32,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let stmt = Query::update()
        .table(UserTokens::Table)
        .value(UserTokens::Attempts, Expr::col(UserTokens::Attempts).add(1))
        .and_where(Expr::col(UserTokens::UserId).eq(user_id))
        .and_where(Expr::col(UserTokens::Kind).eq(kind.as_str()))
        .and_where(Expr::col(UserTokens::Attempts).lt(max))
        .and_where(Expr::col(UserTokens::ExpiresAt).gt(now))
        .to_owned();
    Ok(ex.execute(&stmt).await? >= 1)
}

/// Deletes the user's tokens of `kind` that have no tries left (`attempts >= max`).
pub async fn void_spent(
    ex: &impl Executor,
    user_id: Uuid,
    kind: TokenKind,
    max: i32,
) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(UserTokens::Table)
        .and_where(Expr::col(UserTokens::UserId).eq(user_id))
        .and_where(Expr::col(UserTokens::Kind).eq(kind.as_str()))
        .and_where(Expr::col(UserTokens::Attempts).gte(max))
        .to_owned();
    ex.execute(&stmt).await
}

/// The newest unexpired token of this kind for this user (a pending email change).
pub async fn latest_valid(
    ex: &impl Executor,
    user_id: Uuid,
    kind: TokenKind,
    now: OffsetDateTime,
) -> Result<Option<UserToken>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(UserTokens::Table)
        .and_where(Expr::col(UserTokens::UserId).eq(user_id))
        .and_where(Expr::col(UserTokens::Kind).eq(kind.as_str()))
        .and_where(Expr::col(UserTokens::ExpiresAt).gt(now))
        .order_by(UserTokens::CreatedAt, Order::Desc)
        .limit(1)
        .to_owned();
    ex.fetch_optional(&stmt).await
}

row! {
    /// A stored remember-me token (its hash, never the token), spent or not.
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct RememberToken {
        /// Primary key.
        pub id: Uuid,
        /// Owner.
        pub user_id: Uuid,
        /// `session:<id>` of the session it restores.
        pub sent_to: Option<String>,
        /// The family's expiry, fixed at log-in.
        pub expires_at: OffsetDateTime,
        /// The family; `None` for tokens issued before families existed.
        pub family_id: Option<Uuid>,
        /// When it was used up.
        pub used_at: Option<OffsetDateTime>,
    }
}

/// Stores a token hash of `token.kind` in `family` (remember-me, API refresh).
pub async fn insert_remember(
    ex: &impl Executor,
    token: &NewToken<'_>,
    family: Uuid,
) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(UserTokens::Table)
        .columns([
            UserTokens::Id.into_iden(),
            UserTokens::UserId.into_iden(),
            UserTokens::TokenHash.into_iden(),
            UserTokens::Kind.into_iden(),
            UserTokens::SentTo.into_iden(),
            UserTokens::ExpiresAt.into_iden(),
            UserTokens::CreatedAt.into_iden(),
            UserTokens::FamilyId.into_iden(),
        ])
        .values([
            token.id.into(),
            token.user_id.into(),
            token.hash.as_bytes().to_vec().into(),
            token.kind.as_str().into(),
            token.sent_to.map(str::to_owned).into(),
            token.expires_at.into(),
            token.created_at.into(),
            family.into(),
        ])?
        .to_owned();
    ex.execute(&stmt).await?;
    Ok(())
}

/// The remember-me token with this hash, spent or not, expired or not: the caller
/// judges (a spent one coming back is a replay).
pub async fn find_remember(
    ex: &impl Executor,
    hash: &TokenHash,
) -> Result<Option<RememberToken>, StoreError> {
    find_in_family(ex, hash, TokenKind::RememberMe).await
}

/// The token of `kind` with this hash kept in a family (remember-me, API refresh), spent
/// or not, expired or not: the caller judges.
pub async fn find_in_family(
    ex: &impl Executor,
    hash: &TokenHash,
    kind: TokenKind,
) -> Result<Option<RememberToken>, StoreError> {
    let stmt = Query::select()
        .columns([
            UserTokens::Id.into_iden(),
            UserTokens::UserId.into_iden(),
            UserTokens::SentTo.into_iden(),
            UserTokens::ExpiresAt.into_iden(),
            UserTokens::FamilyId.into_iden(),
            UserTokens::UsedAt.into_iden(),
        ])
        .from(UserTokens::Table)
        .and_where(Expr::col(UserTokens::TokenHash).eq(hash.as_bytes().to_vec()))
        .and_where(Expr::col(UserTokens::Kind).eq(kind.as_str()))
        .to_owned();
    ex.fetch_optional(&stmt).await
}

/// Marks a family token (remember-me, API refresh) used, if it is unused and unexpired. Answers 1 to the one
/// caller that did it: two concurrent uses cannot both win.
pub async fn mark_remember_used(
    ex: &impl Executor,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(UserTokens::Table)
        .value(UserTokens::UsedAt, now)
        .and_where(Expr::col(UserTokens::Id).eq(id))
        .and_where(Expr::col(UserTokens::UsedAt).is_null())
        .and_where(Expr::col(UserTokens::ExpiresAt).gt(now))
        .to_owned();
    ex.execute(&stmt).await
}

/// Deletes every remember-me token of the user's `family`, spent or not (a token from
/// before families existed is its own family).
pub async fn delete_remember_family(
    ex: &impl Executor,
    user_id: Uuid,
    family: Uuid,
) -> Result<u64, StoreError> {
    delete_family(ex, user_id, TokenKind::RememberMe, family).await
}

/// Deletes every token of `kind` in the user's `family`, spent or not.
pub async fn delete_family(
    ex: &impl Executor,
    user_id: Uuid,
    kind: TokenKind,
    family: Uuid,
) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(UserTokens::Table)
        .and_where(Expr::col(UserTokens::UserId).eq(user_id))
        .and_where(Expr::col(UserTokens::Kind).eq(kind.as_str()))
        .cond_where(
            sea_query::Cond::any()
                .add(Expr::col(UserTokens::FamilyId).eq(family))
                .add(Expr::col(UserTokens::Id).eq(family)),
        )
        .to_owned();
    ex.execute(&stmt).await
}
