//! Queries on `sigra_users`.

use sea_query::{Cond, Expr, ExprTrait, LockType, Query};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Executor, StoreError, User, Users, normalize_email};

impl std::fmt::Debug for User {
    /// Everything but the password hash, which shows only whether there is one: a logged
    /// user must not hand out an offline-crackable hash.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let password = self.hashed_password.as_ref().map(|_| "[redacted]");
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("hashed_password", &password)
            .field("confirmed_at", &self.confirmed_at)
            .field("locked_until", &self.locked_until)
            .field("failed_login_count", &self.failed_login_count)
            .field("lock_count", &self.lock_count)
            .field("deletion_scheduled_at", &self.deletion_scheduled_at)
            .field("deleted_at", &self.deleted_at)
            .field("mfa_enabled_at", &self.mfa_enabled_at)
            .field("mfa_epoch", &self.mfa_epoch)
            .field("is_admin", &self.is_admin)
            .field("admin_locked_at", &self.admin_locked_at)
            .field("banned_at", &self.banned_at)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish_non_exhaustive()
    }
}

const COLUMNS: [Users; 16] = [
    Users::Id,
    Users::Email,
    Users::HashedPassword,
    Users::ConfirmedAt,
    Users::LockedUntil,
    Users::FailedLoginCount,
    Users::LockCount,
    Users::DeletionScheduledAt,
    Users::DeletedAt,
    Users::MfaEnabledAt,
    Users::MfaEpoch,
    Users::IsAdmin,
    Users::AdminLockedAt,
    Users::BannedAt,
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
        deleted_at: None,
        mfa_enabled_at: None,
        mfa_epoch: 0,
        is_admin: false,
        admin_locked_at: None,
        banned_at: None,
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
            user.deleted_at.into(),
            user.mfa_enabled_at.into(),
            user.mfa_epoch.into(),
            user.is_admin.into(),
            user.admin_locked_at.into(),
            user.banned_at.into(),
            user.created_at.into(),
            user.updated_at.into(),
        ])?
        .to_owned();
    ex.execute(&stmt).await?;
    Ok(user)
}

/// The live account with this email (normalized before the lookup). A deleted account
/// (soft-deleted, its email kept) is not found: nothing reaches it by email any more.
pub async fn find_by_email(ex: &impl Executor, email: &str) -> Result<Option<User>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(Users::Table)
        .and_where(Expr::col(Users::Email).eq(normalize_email(email)))
        .and_where(Expr::col(Users::DeletedAt).is_null())
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

/// Holds the account's row until the transaction ends (`SELECT … FOR UPDATE` on
/// PostgreSQL and MySQL; on SQLite every transaction already holds the write lock), so
/// a check-then-insert on rows the account owns is decided one caller at a time.
/// Answers whether the account exists.
pub async fn lock_row(ex: &impl Executor, id: Uuid) -> Result<bool, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(Users::Table)
        .and_where(Expr::col(Users::Id).eq(id))
        .lock(LockType::Update)
        .to_owned();
    let row: Option<User> = ex.fetch_optional(&stmt).await?;
    Ok(row.is_some())
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

/// Counts a password attempt before it is judged: one more failed password, but only
/// while the account is unlocked and has attempts left (`failed_login_count < max`).
/// Answers the row after the count (the transaction now holds the row, so its count is
/// this attempt's own), or `None` when the attempt may not be judged at all. The
/// conditional update decides, so concurrent attempts cannot overrun `max`.
pub async fn count_password_attempt(
    ex: &impl Executor,
    id: Uuid,
    max: i32,
    now: OffsetDateTime,
) -> Result<Option<User>, StoreError> {
    let stmt = Query::update()
        .table(Users::Table)
        .value(
            Users::FailedLoginCount,
            Expr::col(Users::FailedLoginCount).add(1),
        )
        .value(Users::UpdatedAt, now)
        .and_where(Expr::col(Users::Id).eq(id))
        .and_where(Expr::col(Users::FailedLoginCount).lt(max))
        .cond_where(
            Cond::any()
                .add(Expr::col(Users::LockedUntil).is_null())
                .add(Expr::col(Users::LockedUntil).lte(now)),
        )
        .to_owned();
    if ex.execute(&stmt).await? != 1 {
        return Ok(None);
    }
    find_by_id(ex, id).await
}

/// Counts a confirmation-code attempt against the account's allowance of `max` per day
/// (a window that starts with the first attempt and lasts 24 hours), before the code is
/// judged. Answers whether the attempt may be judged; the conditional update decides.
pub async fn count_code_attempt(
    ex: &impl Executor,
    id: Uuid,
    max: i32,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let window_over = || {
        Cond::any()
            .add(Expr::col(Users::CodeAttemptsSince).is_null())
            .add(Expr::col(Users::CodeAttemptsSince).lte(now - time::Duration::DAY))
    };
    // MySQL assigns left to right and later assignments see earlier ones: the window
    // start, which both conditions read, is assigned last.
    let stmt = Query::update()
        .table(Users::Table)
        .value(
            Users::CodeAttempts,
            Expr::case(window_over(), 1).finally(Expr::col(Users::CodeAttempts).add(1)),
        )
        .value(
            Users::CodeAttemptsSince,
            Expr::case(window_over(), now).finally(Expr::col(Users::CodeAttemptsSince)),
        )
        .and_where(Expr::col(Users::Id).eq(id))
        .cond_where(window_over().add(Expr::col(Users::CodeAttempts).lt(max)))
        .to_owned();
    Ok(ex.execute(&stmt).await? == 1)
}

/// Accounts whose password hash is plain bcrypt (`$2…`), `limit` at a time in id order
/// after `after`: (id, hash).
pub async fn bcrypt_hashed(
    ex: &impl Executor,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<(Uuid, String)>, StoreError> {
    row! {
        struct Row {
            id: Uuid,
            hashed_password: String,
        }
    }
    let mut stmt = Query::select();
    stmt.columns([Users::Id, Users::HashedPassword])
        .from(Users::Table)
        .and_where(Expr::col(Users::HashedPassword).like("$2%"))
        .order_by(Users::Id, sea_query::Order::Asc)
        .limit(limit);
    if let Some(after) = after {
        stmt.and_where(Expr::col(Users::Id).gt(after));
    }
    let rows: Vec<Row> = ex.fetch_all(&stmt).await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, r.hashed_password))
        .collect())
}

/// Replaces the password hash only if it is still `old` (a log-in or password change
/// in between wins). Answers the affected row count.
pub async fn replace_password_hash(
    ex: &impl Executor,
    id: Uuid,
    old: &str,
    new: &str,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(Users::Table)
        .value(Users::HashedPassword, new)
        .value(Users::UpdatedAt, now)
        .and_where(Expr::col(Users::Id).eq(id))
        .and_where(Expr::col(Users::HashedPassword).eq(old))
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

/// Locks the account until `until` if it is out of tries (`failed_login_count >= max`)
/// and not locked at `now`: failed passwords start again from zero, and the lockout
/// counter goes up (the next lock lasts twice as long). Answers the affected row count:
/// of racing callers exactly one sees 1.
pub async fn lock(
    ex: &impl Executor,
    id: Uuid,
    until: OffsetDateTime,
    max: i32,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(Users::Table)
        .value(Users::LockedUntil, until)
        .value(Users::FailedLoginCount, 0)
        .value(Users::LockCount, Expr::col(Users::LockCount).add(1))
        .and_where(Expr::col(Users::Id).eq(id))
        .and_where(Expr::col(Users::FailedLoginCount).gte(max))
        .cond_where(
            Cond::any()
                .add(Expr::col(Users::LockedUntil).is_null())
                .add(Expr::col(Users::LockedUntil).lte(now)),
        )
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

/// Schedules the deletion of a live account for `at`, unless one is already scheduled.
/// Answers the affected row count (0: already scheduled or deleted).
pub async fn schedule_deletion(
    ex: &impl Executor,
    id: Uuid,
    at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(Users::Table)
        .value(Users::DeletionScheduledAt, at)
        .value(Users::UpdatedAt, now)
        .and_where(Expr::col(Users::Id).eq(id))
        .and_where(Expr::col(Users::DeletionScheduledAt).is_null())
        .and_where(Expr::col(Users::DeletedAt).is_null())
        .to_owned();
    ex.execute(&stmt).await
}

/// Cancels a scheduled deletion that has not run yet. Answers the affected row count.
pub async fn cancel_deletion(
    ex: &impl Executor,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(Users::Table)
        .value(Users::DeletionScheduledAt, Option::<OffsetDateTime>::None)
        .value(Users::UpdatedAt, now)
        .and_where(Expr::col(Users::Id).eq(id))
        .and_where(Expr::col(Users::DeletionScheduledAt).is_not_null())
        .and_where(Expr::col(Users::DeletedAt).is_null())
        .to_owned();
    ex.execute(&stmt).await
}

/// Ids of live accounts whose deletion is due at `now`, oldest first.
pub async fn due_for_deletion(
    ex: &impl Executor,
    now: OffsetDateTime,
    limit: u64,
) -> Result<Vec<Uuid>, StoreError> {
    row! {
        struct Row {
            id: Uuid,
        }
    }
    let stmt = Query::select()
        .column(Users::Id)
        .from(Users::Table)
        .and_where(Expr::col(Users::DeletionScheduledAt).lte(now))
        .and_where(Expr::col(Users::DeletedAt).is_null())
        .order_by(Users::DeletionScheduledAt, sea_query::Order::Asc)
        .limit(limit)
        .to_owned();
    let rows: Vec<Row> = ex.fetch_all(&stmt).await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// How a due deletion treats the row (see [`crate::config::DeletionStrategy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal<'a> {
    /// Delete the row; sessions and tokens go with it.
    Delete,
    /// Keep the row and its data, mark it deleted.
    MarkDeleted,
    /// Keep the row, mark it deleted, replace the email by `placeholder` and drop the
    /// password and every other personal field.
    Anonymize {
        /// The email the row keeps (unique, not an address of anyone).
        placeholder: &'a str,
    },
}

/// Carries out a due deletion. The conditions (scheduled, due, not yet deleted) are part
/// of the statement, so of several workers racing, exactly one sees 1 row affected.
pub async fn execute_deletion(
    ex: &impl Executor,
    id: Uuid,
    removal: Removal<'_>,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let due = |c: sea_query::Condition| {
        c.add(Expr::col(Users::Id).eq(id))
            .add(Expr::col(Users::DeletionScheduledAt).lte(now))
            .add(Expr::col(Users::DeletedAt).is_null())
    };
    match removal {
        Removal::Delete => {
            let stmt = Query::delete()
                .from_table(Users::Table)
                .cond_where(due(sea_query::Cond::all()))
                .to_owned();
            ex.execute(&stmt).await
        }
        Removal::MarkDeleted | Removal::Anonymize { .. } => {
            let mut stmt = Query::update();
            stmt.table(Users::Table)
                .value(Users::DeletedAt, now)
                .value(Users::DeletionScheduledAt, Option::<OffsetDateTime>::None)
                .value(Users::UpdatedAt, now)
                .cond_where(due(sea_query::Cond::all()));
            if let Removal::Anonymize { placeholder } = removal {
                stmt.value(Users::Email, placeholder)
                    .value(Users::HashedPassword, Option::<String>::None)
                    .value(Users::ConfirmedAt, Option::<OffsetDateTime>::None)
                    .value(Users::LockedUntil, Option::<OffsetDateTime>::None)
                    .value(Users::FailedLoginCount, 0)
                    .value(Users::LockCount, 0);
            }
            ex.execute(&stmt).await
        }
    }
}

/// Makes the account a platform admin or not. Answers the affected row count (0 when it
/// already was what was asked).
pub async fn set_admin(
    ex: &impl Executor,
    id: Uuid,
    admin: bool,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(Users::Table)
        .value(Users::IsAdmin, admin)
        .value(Users::UpdatedAt, now)
        .and_where(Expr::col(Users::Id).eq(id))
        .and_where(Expr::col(Users::IsAdmin).ne(admin))
        .to_owned();
    ex.execute(&stmt).await
}

/// Which admin mark [`set_mark`] sets or clears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mark {
    /// `admin_locked_at`.
    Locked,
    /// `banned_at`.
    Banned,
}

/// Sets (`Some(now)`) or clears (`None`) an admin mark, only when it changes: answers
/// the affected row count, so of racing admins exactly one sees 1.
pub async fn set_mark(
    ex: &impl Executor,
    id: Uuid,
    mark: Mark,
    at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let column = match mark {
        Mark::Locked => Users::AdminLockedAt,
        Mark::Banned => Users::BannedAt,
    };
    let unchanged = match at {
        Some(_) => Expr::col(column).is_null(),
        None => Expr::col(column).is_not_null(),
    };
    let stmt = Query::update()
        .table(Users::Table)
        .value(column, at)
        .value(Users::UpdatedAt, now)
        .and_where(Expr::col(Users::Id).eq(id))
        .and_where(unchanged)
        .to_owned();
    ex.execute(&stmt).await
}

/// A filter of the admin's user list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserFilter {
    /// Locked by an admin, or by the lockout at the given time.
    Locked(OffsetDateTime),
    /// Banned.
    Banned,
    /// Email not confirmed.
    Unconfirmed,
    /// Platform admins.
    Admin,
    /// With a second factor on.
    WithMfa,
}

impl UserFilter {
    /// The condition a row meets.
    pub fn condition(self) -> Cond {
        match self {
            UserFilter::Locked(now) => Cond::any()
                .add(Expr::col(Users::AdminLockedAt).is_not_null())
                .add(Expr::col(Users::LockedUntil).gt(now)),
            UserFilter::Banned => Cond::all().add(Expr::col(Users::BannedAt).is_not_null()),
            UserFilter::Unconfirmed => Cond::all().add(Expr::col(Users::ConfirmedAt).is_null()),
            UserFilter::Admin => Cond::all().add(Expr::col(Users::IsAdmin).eq(true)),
            UserFilter::WithMfa => Cond::all().add(Expr::col(Users::MfaEnabledAt).is_not_null()),
        }
    }
}

/// Which live accounts [`count`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserCount {
    /// Every live account.
    Live,
    /// With a confirmed address.
    Confirmed,
    /// With at least one passkey.
    WithPasskeys,
    /// Meeting a filter of the user list.
    Filter(UserFilter),
    /// Created in `[from, to)`.
    CreatedBetween(OffsetDateTime, OffsetDateTime),
}

/// How many live (not deleted) accounts are `which` (the admin dashboard's figures).
pub async fn count(ex: &impl Executor, which: UserCount) -> Result<i64, StoreError> {
    let mut stmt = Query::select();
    stmt.from(Users::Table)
        .and_where(Expr::col(Users::DeletedAt).is_null());
    match which {
        UserCount::Live => {}
        UserCount::Confirmed => {
            stmt.and_where(Expr::col(Users::ConfirmedAt).is_not_null());
        }
        UserCount::WithPasskeys => {
            let holders = Query::select()
                .column(super::Passkeys::UserId)
                .from(super::Passkeys::Table)
                .to_owned();
            stmt.and_where(Expr::col(Users::Id).in_subquery(holders));
        }
        UserCount::Filter(filter) => {
            stmt.cond_where(filter.condition());
        }
        UserCount::CreatedBetween(from, to) => {
            stmt.and_where(Expr::col(Users::CreatedAt).gte(from))
                .and_where(Expr::col(Users::CreatedAt).lt(to));
        }
    }
    super::count(ex, stmt).await
}

/// One page of the admin's user search.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct UserSearch {
    /// Emails starting with this (normalized), if any.
    pub prefix: Option<String>,
    /// Only rows meeting this.
    pub filter: Option<UserFilter>,
    /// Only emails after this one (the last of the previous page).
    pub after: Option<String>,
    /// At most this many.
    pub limit: u64,
}

/// The first string after every string that starts with `prefix`: its last character
/// incremented (`"ab"` → `"ac"`), so a prefix is one range scan of the email index
/// (byte order on every backend). `None` when nothing is after it.
pub(crate) fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Accounts in email order, keyset-paginated (see [`UserSearch`]); deleted accounts
/// are left out.
pub async fn search(ex: &impl Executor, search: &UserSearch) -> Result<Vec<User>, StoreError> {
    let mut stmt = Query::select();
    stmt.columns(COLUMNS)
        .from(Users::Table)
        .and_where(Expr::col(Users::DeletedAt).is_null());
    if let Some(prefix) = search.prefix.as_deref().filter(|p| !p.is_empty()) {
        stmt.and_where(Expr::col(Users::Email).gte(prefix));
        if let Some(end) = prefix_end(prefix) {
            stmt.and_where(Expr::col(Users::Email).lt(end));
        }
    }
    if let Some(after) = &search.after {
        stmt.and_where(Expr::col(Users::Email).gt(after.as_str()));
    }
    if let Some(filter) = search.filter {
        stmt.cond_where(filter.condition());
    }
    stmt.order_by(Users::Email, sea_query::Order::Asc)
        .limit(search.limit);
    ex.fetch_all(&stmt).await
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn a_prefix_ends_at_its_last_character_incremented() {
        assert_eq!(prefix_end("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_end("a@").as_deref(), Some("aA"));
        assert_eq!(prefix_end("\u{d7ff}").as_deref(), Some("\u{e000}"));
        assert_eq!(prefix_end("a\u{10ffff}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{10ffff}"), None);
    }
}
