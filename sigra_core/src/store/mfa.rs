//! Queries on `sigra_mfa_totp` and `sigra_backup_codes`, and the account-level switch
//! (`sigra_users.mfa_enabled_at`, `mfa_epoch`).

use sea_query::{Cond, Expr, ExprTrait, Query};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{BackupCodes, Executor, MfaTotp, MfaTotpRow, StoreError, Users};

const TOTP_COLUMNS: [MfaTotp; 7] = [
    MfaTotp::UserId,
    MfaTotp::Secret,
    MfaTotp::ConfirmedAt,
    MfaTotp::LastStep,
    MfaTotp::FailedCount,
    MfaTotp::LockedUntil,
    MfaTotp::CreatedAt,
];

/// The account's authenticator record, pending or confirmed.
pub async fn find_totp(
    ex: &impl Executor,
    user_id: Uuid,
) -> Result<Option<MfaTotpRow>, StoreError> {
    let stmt = Query::select()
        .columns(TOTP_COLUMNS)
        .from(MfaTotp::Table)
        .and_where(Expr::col(MfaTotp::UserId).eq(user_id))
        .to_owned();
    ex.fetch_optional(&stmt).await
}

/// Replaces a pending (unconfirmed) enrollment with a new sealed secret. Answers 0 when
/// the account already has a confirmed authenticator.
pub async fn put_pending_totp(
    ex: &impl Executor,
    user_id: Uuid,
    sealed_secret: &str,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let clear = Query::delete()
        .from_table(MfaTotp::Table)
        .and_where(Expr::col(MfaTotp::UserId).eq(user_id))
        .and_where(Expr::col(MfaTotp::ConfirmedAt).is_null())
        .to_owned();
    ex.execute(&clear).await?;
    let insert = Query::insert()
        .into_table(MfaTotp::Table)
        .columns([
            MfaTotp::UserId,
            MfaTotp::Secret,
            MfaTotp::FailedCount,
            MfaTotp::CreatedAt,
        ])
        .values([user_id.into(), sealed_secret.into(), 0.into(), now.into()])?
        .to_owned();
    match ex.execute(&insert).await {
        Err(StoreError::Conflict) => Ok(0),
        other => other,
    }
}

/// Confirms a pending enrollment at time step `step`. Answers the affected row count.
pub async fn confirm_totp(
    ex: &impl Executor,
    user_id: Uuid,
    step: i64,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(MfaTotp::Table)
        .value(MfaTotp::ConfirmedAt, now)
        .value(MfaTotp::LastStep, step)
        .value(MfaTotp::FailedCount, 0)
        .and_where(Expr::col(MfaTotp::UserId).eq(user_id))
        .and_where(Expr::col(MfaTotp::ConfirmedAt).is_null())
        .to_owned();
    ex.execute(&stmt).await
}

/// Accepts time step `step` unless it, or a later one, was accepted before, or codes
/// are refused until a time after `now`: of several requests (on any instance)
/// presenting codes of the same step, exactly one sees 1.
pub async fn accept_step(
    ex: &impl Executor,
    user_id: Uuid,
    step: i64,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(MfaTotp::Table)
        .value(MfaTotp::LastStep, step)
        .value(MfaTotp::FailedCount, 0)
        .and_where(Expr::col(MfaTotp::UserId).eq(user_id))
        .and_where(Expr::col(MfaTotp::ConfirmedAt).is_not_null())
        .cond_where(
            Cond::any()
                .add(Expr::col(MfaTotp::LastStep).is_null())
                .add(Expr::col(MfaTotp::LastStep).lt(step)),
        )
        .cond_where(unlocked(now))
        .to_owned();
    ex.execute(&stmt).await
}

fn unlocked(now: OffsetDateTime) -> Cond {
    Cond::any()
        .add(Expr::col(MfaTotp::LockedUntil).is_null())
        .add(Expr::col(MfaTotp::LockedUntil).lte(now))
}

/// Counts a code before it is judged, as a failure until a success clears it, but only
/// while codes are not refused and the count is below `max`. Answers the record after
/// the count (the transaction now holds the row, so its count is this attempt's own),
/// or `None` when the code may not be judged at all. The conditional update decides,
/// so concurrent codes cannot overrun `max`.
pub async fn count_attempt(
    ex: &impl Executor,
    user_id: Uuid,
    max: i32,
    now: OffsetDateTime,
) -> Result<Option<MfaTotpRow>, StoreError> {
    let stmt = Query::update()
        .table(MfaTotp::Table)
        .value(MfaTotp::FailedCount, Expr::col(MfaTotp::FailedCount).add(1))
        .and_where(Expr::col(MfaTotp::UserId).eq(user_id))
        .and_where(Expr::col(MfaTotp::FailedCount).lt(max))
        .cond_where(unlocked(now))
        .to_owned();
    if ex.execute(&stmt).await? != 1 {
        return Ok(None);
    }
    find_totp(ex, user_id).await
}

/// Refuses codes until `until` and starts counting failures again, if the account is
/// out of tries (`failed_count >= max`) and not locked at `now`. Answers the affected
/// row count: of racing callers exactly one sees 1.
pub async fn lock(
    ex: &impl Executor,
    user_id: Uuid,
    until: OffsetDateTime,
    max: i32,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(MfaTotp::Table)
        .value(MfaTotp::LockedUntil, until)
        .value(MfaTotp::FailedCount, 0)
        .and_where(Expr::col(MfaTotp::UserId).eq(user_id))
        .and_where(Expr::col(MfaTotp::FailedCount).gte(max))
        .cond_where(unlocked(now))
        .to_owned();
    ex.execute(&stmt).await
}

/// Clears the failure count after a success.
pub async fn reset_failures(ex: &impl Executor, user_id: Uuid) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(MfaTotp::Table)
        .value(MfaTotp::FailedCount, 0)
        .and_where(Expr::col(MfaTotp::UserId).eq(user_id))
        .to_owned();
    ex.execute(&stmt).await
}

/// Removes the authenticator record and every backup code of the account.
pub async fn delete_all(ex: &impl Executor, user_id: Uuid) -> Result<(), StoreError> {
    let totp = Query::delete()
        .from_table(MfaTotp::Table)
        .and_where(Expr::col(MfaTotp::UserId).eq(user_id))
        .to_owned();
    ex.execute(&totp).await?;
    delete_backup_codes(ex, user_id).await?;
    Ok(())
}

/// Turns the account's second factor on (`Some(at)`) or off, and bumps its epoch.
pub async fn set_enabled(
    ex: &impl Executor,
    user_id: Uuid,
    enabled_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(Users::Table)
        .value(Users::MfaEnabledAt, enabled_at)
        .value(Users::MfaEpoch, Expr::col(Users::MfaEpoch).add(1))
        .value(Users::UpdatedAt, now)
        .and_where(Expr::col(Users::Id).eq(user_id))
        .to_owned();
    ex.execute(&stmt).await
}

/// Bumps the account's second-factor epoch (its settings changed).
pub async fn bump_epoch(ex: &impl Executor, user_id: Uuid) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(Users::Table)
        .value(Users::MfaEpoch, Expr::col(Users::MfaEpoch).add(1))
        .and_where(Expr::col(Users::Id).eq(user_id))
        .to_owned();
    ex.execute(&stmt).await
}

/// Deletes every backup code of the account.
pub async fn delete_backup_codes(ex: &impl Executor, user_id: Uuid) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(BackupCodes::Table)
        .and_where(Expr::col(BackupCodes::UserId).eq(user_id))
        .to_owned();
    ex.execute(&stmt).await
}

/// Stores one backup code hash.
pub async fn insert_backup_code(
    ex: &impl Executor,
    id: Uuid,
    user_id: Uuid,
    hash: &[u8; 32],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(BackupCodes::Table)
        .columns([
            BackupCodes::Id,
            BackupCodes::UserId,
            BackupCodes::CodeHash,
            BackupCodes::CreatedAt,
        ])
        .values([id.into(), user_id.into(), hash.to_vec().into(), now.into()])?
        .to_owned();
    ex.execute(&stmt).await?;
    Ok(())
}

/// Marks an unused code used; of several concurrent uses exactly one sees 1.
pub async fn use_backup_code(
    ex: &impl Executor,
    user_id: Uuid,
    hash: &[u8; 32],
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(BackupCodes::Table)
        .value(BackupCodes::UsedAt, now)
        .and_where(Expr::col(BackupCodes::UserId).eq(user_id))
        .and_where(Expr::col(BackupCodes::CodeHash).eq(hash.to_vec()))
        .and_where(Expr::col(BackupCodes::UsedAt).is_null())
        .to_owned();
    ex.execute(&stmt).await
}

/// How many unused backup codes the account has.
pub async fn unused_backup_codes(ex: &impl Executor, user_id: Uuid) -> Result<i64, StoreError> {
    let stmt = Query::select()
        .from(BackupCodes::Table)
        .and_where(Expr::col(BackupCodes::UserId).eq(user_id))
        .and_where(Expr::col(BackupCodes::UsedAt).is_null())
        .to_owned();
    super::count(ex, stmt).await
}
