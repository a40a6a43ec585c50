//! Queries on `sigra_users`.

use sea_query::{Expr, ExprTrait, Query};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Executor, StoreError, User, Users, normalize_email};

const COLUMNS: [Users; 10] = [
    Users::Id,
    Users::Email,
    Users::HashedPassword,
    Users::ConfirmedAt,
    Users::LockedUntil,
    Users::FailedLoginCount,
    Users::LockCount,
    Users::DeletionScheduledAt,
    Users::CreatedAt,
    Users::UpdatedAt,
];

/// Creates an account. The email is normalized; a taken email answers
/// [`StoreError::Conflict`] (the unique index decides, so concurrent registrations
/// cannot both win).
pub async fn insert(
    ex: &impl Executor,
    id: Uuid,
    email: &str,
    hashed_password: Option<String>,
    now: OffsetDateTime,
) -> Result<User, StoreError> {
    let user = User {
        id,
        email: normalize_email(email),
        hashed_password,
        confirmed_at: None,
        locked_until: None,
        failed_login_count: 0,
        lock_count: 0,
        deletion_scheduled_at: None,
        created_at: now,
        updated_at: now,
    };
    let stmt = Query::insert()
        .into_table(Users::Table)
        .columns(COLUMNS)
        .values([
            user.id.into(),
            user.email.clone().into(),
            user.hashed_password.clone().into(),
            user.confirmed_at.into(),
            user.locked_until.into(),
            user.failed_login_count.into(),
            user.lock_count.into(),
            user.deletion_scheduled_at.into(),
            user.created_at.into(),
            user.updated_at.into(),
        ])?
        .to_owned();
    ex.execute(&stmt).await?;
    Ok(user)
}

/// The account with this email (normalized before the lookup).
pub async fn find_by_email(ex: &impl Executor, email: &str) -> Result<Option<User>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(Users::Table)
        .and_where(Expr::col(Users::Email).eq(normalize_email(email)))
        .to_owned();
    ex.fetch_optional(&stmt).await
}

/// The account with this id.
pub async fn find_by_id(ex: &impl Executor, id: Uuid) -> Result<Option<User>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(Users::Table)
        .and_where(Expr::col(Users::Id).eq(id))
        .to_owned();
    ex.fetch_optional(&stmt).await
}

/// Replaces the password hash (or removes it with `None`).
pub async fn set_password_hash(
    ex: &impl Executor,
    id: Uuid,
    hashed_password: Option<String>,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(Users::Table)
        .values([
            (Users::HashedPassword, hashed_password.into()),
            (Users::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Users::Id).eq(id))
        .to_owned();
    ex.execute(&stmt).await
}

/// Marks the email confirmed, unless it already is.
pub async fn confirm(ex: &impl Executor, id: Uuid, now: OffsetDateTime) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(Users::Table)
        .values([
            (Users::ConfirmedAt, now.into()),
            (Users::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Users::Id).eq(id))
        .and_where(Expr::col(Users::ConfirmedAt).is_null())
        .to_owned();
    ex.execute(&stmt).await
}

/// Counts one more failed password.
pub async fn record_failed_login(
    ex: &impl Executor,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(Users::Table)
        .value(
            Users::FailedLoginCount,
            Expr::col(Users::FailedLoginCount).add(1),
        )
        .value(Users::UpdatedAt, now)
        .and_where(Expr::col(Users::Id).eq(id))
        .to_owned();
    ex.execute(&stmt).await
}

/// Clears the failed-password count after a successful log-in.
pub async fn reset_failed_logins(ex: &impl Executor, id: Uuid) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(Users::Table)
        .value(Users::FailedLoginCount, 0)
        .and_where(Expr::col(Users::Id).eq(id))
        .and_where(Expr::col(Users::FailedLoginCount).ne(0))
        .to_owned();
    ex.execute(&stmt).await
}

/// Deletes the account row (tokens and sessions go with it).
pub async fn delete(ex: &impl Executor, id: Uuid) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(Users::Table)
        .and_where(Expr::col(Users::Id).eq(id))
        .to_owned();
    ex.execute(&stmt).await
}

/// Locks the account until `until`: failed passwords start again from zero, and the
/// lockout counter goes up (the next lock lasts twice as long).
pub async fn lock(ex: &impl Executor, id: Uuid, until: OffsetDateTime) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(Users::Table)
        .value(Users::LockedUntil, until)
        .value(Users::FailedLoginCount, 0)
        .value(Users::LockCount, Expr::col(Users::LockCount).add(1))
        .and_where(Expr::col(Users::Id).eq(id))
        .to_owned();
    ex.execute(&stmt).await
}

/// Lifts a lock; with `forget`, also the history that makes the next one longer.
pub async fn unlock(ex: &impl Executor, id: Uuid, forget: bool) -> Result<u64, StoreError> {
    let mut stmt = Query::update();
    stmt.table(Users::Table)
        .value(Users::LockedUntil, Option::<OffsetDateTime>::None)
        .value(Users::FailedLoginCount, 0)
        .and_where(Expr::col(Users::Id).eq(id));
    if forget {
        stmt.value(Users::LockCount, 0);
    }
    ex.execute(&stmt).await
}

/// Replaces the email (normalized). A taken address answers [`StoreError::Conflict`].
pub async fn set_email(
    ex: &impl Executor,
    id: Uuid,
    email: &str,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(Users::Table)
        .values([
            (Users::Email, normalize_email(email).into()),
            (Users::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Users::Id).eq(id))
        .to_owned();
    ex.execute(&stmt).await
}
