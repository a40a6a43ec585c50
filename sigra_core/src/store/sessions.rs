//! Queries on `sigra_sessions`.

use sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Executor, Session, Sessions, StoreError, User, Users};
use crate::crypto::TokenHash;

const COLUMNS: [Sessions; 16] = [
    Sessions::Id,
    Sessions::UserId,
    Sessions::CreatedAt,
    Sessions::LastSeenAt,
    Sessions::ExpiresAt,
    Sessions::RememberMe,
    Sessions::SudoAt,
    Sessions::MfaAt,
    Sessions::Ip,
    Sessions::UserAgent,
    Sessions::RefreshFamily,
    Sessions::DeviceName,
    Sessions::ActiveOrganizationId,
    Sessions::ImpersonatorId,
    Sessions::ImpersonationOrganizationId,
    Sessions::ImpersonationReason,
];

/// A session to store.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    /// Primary key.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Hash of the session token.
    pub hash: &'a TokenHash,
    /// Creation time (also the first "last seen").
    pub created_at: OffsetDateTime,
    /// Absolute expiry.
    pub expires_at: OffsetDateTime,
    /// Created with remember-me.
    pub remember_me: bool,
    /// Time of the interactive authentication that made it, if any.
    pub sudo_at: Option<OffsetDateTime>,
    /// When it passed the second factor, if it did.
    pub mfa_at: Option<OffsetDateTime>,
    /// Client IP.
    pub ip: Option<&'a str>,
    /// Client user agent (truncated to 512 characters).
    pub user_agent: Option<&'a str>,
    /// The admin acting as the user (an impersonation session), if any.
    pub impersonator_id: Option<Uuid>,
    /// The organization an organization admin impersonates through, if any.
    pub impersonation_organization_id: Option<Uuid>,
    /// The reason the admin gave for impersonating, if this is such a session.
    pub impersonation_reason: Option<&'a str>,
}

/// Stores a session and answers it.
pub async fn insert(ex: &impl Executor, new: &NewSession<'_>) -> Result<Session, StoreError> {
    let session = Session {
        id: new.id,
        user_id: new.user_id,
        created_at: new.created_at,
        last_seen_at: new.created_at,
        expires_at: new.expires_at,
        remember_me: new.remember_me,
        sudo_at: new.sudo_at,
        mfa_at: new.mfa_at,
        ip: new.ip.map(|ip| truncate(ip, 64)),
        user_agent: new.user_agent.map(|ua| truncate(ua, 512)),
        refresh_family: false,
        device_name: None,
        active_organization_id: None,
        impersonator_id: new.impersonator_id,
        impersonation_organization_id: new.impersonation_organization_id,
        impersonation_reason: new.impersonation_reason.map(|r| truncate(r, 500)),
    };
    let stmt = Query::insert()
        .into_table(Sessions::Table)
        .columns([
            Sessions::Id,
            Sessions::UserId,
            Sessions::TokenHash,
            Sessions::CreatedAt,
            Sessions::LastSeenAt,
            Sessions::ExpiresAt,
            Sessions::RememberMe,
            Sessions::SudoAt,
            Sessions::MfaAt,
            Sessions::Ip,
            Sessions::UserAgent,
            Sessions::ImpersonatorId,
            Sessions::ImpersonationOrganizationId,
            Sessions::ImpersonationReason,
        ])
        .values([
            session.id.into(),
            session.user_id.into(),
            new.hash.as_bytes().to_vec().into(),
            session.created_at.into(),
            session.last_seen_at.into(),
            session.expires_at.into(),
            session.remember_me.into(),
            session.sudo_at.into(),
            session.mfa_at.into(),
            session.ip.clone().into(),
            session.user_agent.clone().into(),
            session.impersonator_id.into(),
            session.impersonation_organization_id.into(),
            session.impersonation_reason.clone().into(),
        ])?
        .to_owned();
    ex.execute(&stmt).await?;
    Ok(session)
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

row! {
    /// One row of the session-and-user join; column names are prefixed to keep them apart.
    struct SessionUserRow {
        s_id: Uuid,
        s_user_id: Uuid,
        s_created_at: OffsetDateTime,
        s_last_seen_at: OffsetDateTime,
        s_expires_at: OffsetDateTime,
        s_remember_me: bool,
        s_sudo_at: Option<OffsetDateTime>,
        s_mfa_at: Option<OffsetDateTime>,
        s_ip: Option<String>,
        s_user_agent: Option<String>,
        s_refresh_family: bool,
        s_device_name: Option<String>,
        s_active_organization_id: Option<Uuid>,
        s_impersonator_id: Option<Uuid>,
        s_impersonation_organization_id: Option<Uuid>,
        s_impersonation_reason: Option<String>,
        u_email: String,
        u_hashed_password: Option<String>,
        u_confirmed_at: Option<OffsetDateTime>,
        u_locked_until: Option<OffsetDateTime>,
        u_failed_login_count: i32,
        u_lock_count: i32,
        u_deletion_scheduled_at: Option<OffsetDateTime>,
        u_deleted_at: Option<OffsetDateTime>,
        u_mfa_enabled_at: Option<OffsetDateTime>,
        u_mfa_epoch: i32,
        u_is_admin: bool,
        u_admin_locked_at: Option<OffsetDateTime>,
        u_banned_at: Option<OffsetDateTime>,
        u_created_at: OffsetDateTime,
        u_updated_at: OffsetDateTime,
    }
}

fn joined_select() -> SelectStatement {
    let s = |c: Sessions| Expr::col((Sessions::Table, c));
    let u = |c: Users| Expr::col((Users::Table, c));
    Query::select()
        .expr_as(s(Sessions::Id), "s_id")
        .expr_as(s(Sessions::UserId), "s_user_id")
        .expr_as(s(Sessions::CreatedAt), "s_created_at")
        .expr_as(s(Sessions::LastSeenAt), "s_last_seen_at")
        .expr_as(s(Sessions::ExpiresAt), "s_expires_at")
        .expr_as(s(Sessions::RememberMe), "s_remember_me")
        .expr_as(s(Sessions::SudoAt), "s_sudo_at")
        .expr_as(s(Sessions::MfaAt), "s_mfa_at")
        .expr_as(s(Sessions::Ip), "s_ip")
        .expr_as(s(Sessions::UserAgent), "s_user_agent")
        .expr_as(s(Sessions::RefreshFamily), "s_refresh_family")
        .expr_as(s(Sessions::DeviceName), "s_device_name")
        .expr_as(
            s(Sessions::ActiveOrganizationId),
            "s_active_organization_id",
        )
        .expr_as(s(Sessions::ImpersonatorId), "s_impersonator_id")
        .expr_as(
            s(Sessions::ImpersonationOrganizationId),
            "s_impersonation_organization_id",
        )
        .expr_as(s(Sessions::ImpersonationReason), "s_impersonation_reason")
        .expr_as(u(Users::Email), "u_email")
        .expr_as(u(Users::HashedPassword), "u_hashed_password")
        .expr_as(u(Users::ConfirmedAt), "u_confirmed_at")
        .expr_as(u(Users::LockedUntil), "u_locked_until")
        .expr_as(u(Users::FailedLoginCount), "u_failed_login_count")
        .expr_as(u(Users::LockCount), "u_lock_count")
        .expr_as(u(Users::DeletionScheduledAt), "u_deletion_scheduled_at")
        .expr_as(u(Users::DeletedAt), "u_deleted_at")
        .expr_as(u(Users::MfaEnabledAt), "u_mfa_enabled_at")
        .expr_as(u(Users::MfaEpoch), "u_mfa_epoch")
        .expr_as(u(Users::IsAdmin), "u_is_admin")
        .expr_as(u(Users::AdminLockedAt), "u_admin_locked_at")
        .expr_as(u(Users::BannedAt), "u_banned_at")
        .expr_as(u(Users::CreatedAt), "u_created_at")
        .expr_as(u(Users::UpdatedAt), "u_updated_at")
        .from(Sessions::Table)
        .inner_join(
            Users::Table,
            Expr::col((Users::Table, Users::Id)).equals((Sessions::Table, Sessions::UserId)),
        )
        .to_owned()
}

/// The session with this token hash and its user, in one query. Expiry is the caller's
/// to judge (idle timeout depends on configuration).
pub async fn find_by_hash(
    ex: &impl Executor,
    hash: &TokenHash,
) -> Result<Option<(Session, User)>, StoreError> {
    let stmt = joined_select()
        .and_where(Expr::col((Sessions::Table, Sessions::TokenHash)).eq(hash.as_bytes().to_vec()))
        .to_owned();
    find_joined(ex, stmt).await
}

/// The session with this id and its user, in one query. Expiry is the caller's to judge.
pub async fn find_by_id(
    ex: &impl Executor,
    id: Uuid,
) -> Result<Option<(Session, User)>, StoreError> {
    let stmt = joined_select()
        .and_where(Expr::col((Sessions::Table, Sessions::Id)).eq(id))
        .to_owned();
    find_joined(ex, stmt).await
}

async fn find_joined(
    ex: &impl Executor,
    stmt: SelectStatement,
) -> Result<Option<(Session, User)>, StoreError> {
    let row: Option<SessionUserRow> = ex.fetch_optional(&stmt).await?;
    Ok(row.map(split_row))
}

fn split_row(r: SessionUserRow) -> (Session, User) {
    let user = User {
        id: r.s_user_id,
        email: r.u_email,
        hashed_password: r.u_hashed_password,
        confirmed_at: r.u_confirmed_at,
        locked_until: r.u_locked_until,
        failed_login_count: r.u_failed_login_count,
        lock_count: r.u_lock_count,
        deletion_scheduled_at: r.u_deletion_scheduled_at,
        deleted_at: r.u_deleted_at,
        mfa_enabled_at: r.u_mfa_enabled_at,
        mfa_epoch: r.u_mfa_epoch,
        is_admin: r.u_is_admin,
        admin_locked_at: r.u_admin_locked_at,
        banned_at: r.u_banned_at,
        created_at: r.u_created_at,
        updated_at: r.u_updated_at,
    };
    let session = Session {
        id: r.s_id,
        user_id: r.s_user_id,
        created_at: r.s_created_at,
        last_seen_at: r.s_last_seen_at,
        expires_at: r.s_expires_at,
        remember_me: r.s_remember_me,
        sudo_at: r.s_sudo_at,
        mfa_at: r.s_mfa_at,
        ip: r.s_ip,
        user_agent: r.s_user_agent,
        refresh_family: r.s_refresh_family,
        device_name: r.s_device_name,
        active_organization_id: r.s_active_organization_id,
        impersonator_id: r.s_impersonator_id,
        impersonation_organization_id: r.s_impersonation_organization_id,
        impersonation_reason: r.s_impersonation_reason,
    };
    (session, user)
}

/// The user's sessions that have not reached their absolute expiry, newest first.
pub async fn list_for_user(
    ex: &impl Executor,
    user_id: Uuid,
    now: OffsetDateTime,
) -> Result<Vec<Session>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(Sessions::Table)
        .and_where(Expr::col(Sessions::UserId).eq(user_id))
        .and_where(Expr::col(Sessions::ExpiresAt).gt(now))
        .order_by(Sessions::CreatedAt, Order::Desc)
        .order_by(Sessions::Id, Order::Desc)
        .to_owned();
    ex.fetch_all(&stmt).await
}

/// Records activity, unless it was recorded less than `interval` ago (so busy sessions
/// write at most once per interval).
pub async fn touch(
    ex: &impl Executor,
    id: Uuid,
    now: OffsetDateTime,
    interval: time::Duration,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(Sessions::Table)
        .value(Sessions::LastSeenAt, now)
        .and_where(Expr::col(Sessions::Id).eq(id))
        .and_where(Expr::col(Sessions::LastSeenAt).lte(now - interval))
        .to_owned();
    ex.execute(&stmt).await
}

/// Gives the session a new token hash (after privilege changes), optionally marking a
/// fresh interactive authentication for sudo (`sudo_at`) or a passed second factor
/// (`mfa_at`).
pub async fn rotate(
    ex: &impl Executor,
    id: Uuid,
    new_hash: &TokenHash,
    sudo_at: Option<OffsetDateTime>,
    mfa_at: Option<OffsetDateTime>,
) -> Result<u64, StoreError> {
    let mut stmt = Query::update();
    stmt.table(Sessions::Table)
        .value(Sessions::TokenHash, new_hash.as_bytes().to_vec())
        .and_where(Expr::col(Sessions::Id).eq(id));
    if let Some(at) = sudo_at {
        stmt.value(Sessions::SudoAt, at);
    }
    if let Some(at) = mfa_at {
        stmt.value(Sessions::MfaAt, at);
    }
    ex.execute(&stmt).await
}

/// Makes `organization_id` the organization session `session_id` acts in (`None`: back
/// to the default).
pub async fn set_active_organization(
    ex: &impl Executor,
    session_id: Uuid,
    organization_id: Option<Uuid>,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(Sessions::Table)
        .value(Sessions::ActiveOrganizationId, organization_id)
        .and_where(Expr::col(Sessions::Id).eq(session_id))
        .to_owned();
    ex.execute(&stmt).await
}

/// Records that session `session_id` passed the second factor at `now`, unless it did
/// already (the session that turns a passkey into the account's second factor).
pub async fn mark_mfa_passed(
    ex: &impl Executor,
    session_id: Uuid,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(Sessions::Table)
        .value(Sessions::MfaAt, now)
        .and_where(Expr::col(Sessions::Id).eq(session_id))
        .and_where(Expr::col(Sessions::MfaAt).is_null())
        .to_owned();
    ex.execute(&stmt).await
}

/// Moves the session's absolute expiry to `expires_at` and records activity now.
pub async fn set_expiry(
    ex: &impl Executor,
    id: Uuid,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(Sessions::Table)
        .value(Sessions::ExpiresAt, expires_at)
        .value(Sessions::LastSeenAt, now)
        .and_where(Expr::col(Sessions::Id).eq(id))
        .to_owned();
    ex.execute(&stmt).await
}

/// Deletes one of the user's sessions; answers 0 when it is not theirs.
pub async fn delete(ex: &impl Executor, user_id: Uuid, id: Uuid) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(Sessions::Table)
        .and_where(Expr::col(Sessions::Id).eq(id))
        .and_where(Expr::col(Sessions::UserId).eq(user_id))
        .to_owned();
    ex.execute(&stmt).await
}

/// Deletes every session of the user, except `keep` if given.
pub async fn delete_for_user(
    ex: &impl Executor,
    user_id: Uuid,
    keep: Option<Uuid>,
) -> Result<u64, StoreError> {
    let mut stmt = Query::delete();
    stmt.from_table(Sessions::Table)
        .and_where(Expr::col(Sessions::UserId).eq(user_id));
    if let Some(keep) = keep {
        stmt.and_where(Expr::col(Sessions::Id).ne(keep));
    }
    ex.execute(&stmt).await
}

/// Makes the session an API refresh family ending at `expires_at` (no idle timeout) and
/// records activity now.
pub async fn make_refresh_family(
    ex: &impl Executor,
    id: Uuid,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
    device_name: Option<&str>,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(Sessions::Table)
        .value(Sessions::ExpiresAt, expires_at)
        .value(Sessions::LastSeenAt, now)
        .value(Sessions::RefreshFamily, true)
        .value(Sessions::DeviceName, device_name.map(|n| truncate(n, 64)))
        .and_where(Expr::col(Sessions::Id).eq(id))
        .to_owned();
    ex.execute(&stmt).await
}

/// Deletes sessions past their absolute expiry or (but refresh families) idle since
/// before `idle_cutoff`.
pub async fn delete_expired(
    ex: &impl Executor,
    now: OffsetDateTime,
    idle_cutoff: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(Sessions::Table)
        .cond_where(
            sea_query::Cond::any()
                .add(Expr::col(Sessions::ExpiresAt).lte(now))
                .add(
                    Expr::col(Sessions::LastSeenAt)
                        .lte(idle_cutoff)
                        .and(Expr::col(Sessions::RefreshFamily).eq(false)),
                ),
        )
        // Ended by `features::impersonation`, which tells the user.
        .and_where(Expr::col(Sessions::ImpersonatorId).is_null())
        .to_owned();
    ex.execute(&stmt).await
}

/// How many sessions have not reached their absolute expiry at `now`.
pub async fn count_unexpired(ex: &impl Executor, now: OffsetDateTime) -> Result<i64, StoreError> {
    let stmt = Query::select()
        .from(Sessions::Table)
        .and_where(Expr::col(Sessions::ExpiresAt).gt(now))
        .to_owned();
    super::count(ex, stmt).await
}

/// Impersonation sessions past their expiry and their users, at most `limit`.
pub async fn expired_impersonations(
    ex: &impl Executor,
    now: OffsetDateTime,
    limit: u64,
) -> Result<Vec<(Session, User)>, StoreError> {
    let stmt = joined_select()
        .and_where(Expr::col((Sessions::Table, Sessions::ImpersonatorId)).is_not_null())
        .and_where(Expr::col((Sessions::Table, Sessions::ExpiresAt)).lte(now))
        .limit(limit)
        .to_owned();
    let rows: Vec<SessionUserRow> = ex.fetch_all(&stmt).await?;
    Ok(rows.into_iter().map(split_row).collect())
}

/// Records which remember-me family a session belongs to.
pub async fn set_remember_family(
    ex: &impl Executor,
    id: Uuid,
    family: Uuid,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(Sessions::Table)
        .value(Sessions::RememberFamily, family)
        .and_where(Expr::col(Sessions::Id).eq(id))
        .to_owned();
    ex.execute(&stmt).await
}

/// Deletes every session of the user's remember-me `family`; answers how many.
pub async fn delete_remember_family(
    ex: &impl Executor,
    user_id: Uuid,
    family: Uuid,
) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(Sessions::Table)
        .and_where(Expr::col(Sessions::UserId).eq(user_id))
        .and_where(Expr::col(Sessions::RememberFamily).eq(family))
        .to_owned();
    ex.execute(&stmt).await
}

/// `sigra_known_devices` columns: the devices an account signed in from (see
/// [`crate::features::new_device`]).
#[derive(sea_query::Iden, Clone, Copy, Debug)]
#[iden = "sigra_known_devices"]
pub enum KnownDevices {
    /// The table.
    Table,
    /// UUIDv7 primary key.
    Id,
    /// Owner.
    UserId,
    /// Browser family ("Firefox").
    Browser,
    /// Operating system ("Linux").
    Os,
    /// Network prefix of the client IP ("203.0.113.0/24").
    Network,
    /// Last sign-in from it.
    LastSeenAt,
}

row! {
    /// A device an account signed in from.
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct KnownDevice {
        /// Primary key.
        pub id: Uuid,
        /// Owner.
        pub user_id: Uuid,
        /// Browser family.
        pub browser: String,
        /// Operating system.
        pub os: String,
        /// Network prefix of the client IP.
        pub network: String,
        /// Last sign-in from it.
        pub last_seen_at: OffsetDateTime,
    }
}

/// The devices the user signed in from, however long ago (a handful per account).
pub async fn known_devices(
    ex: &impl Executor,
    user_id: Uuid,
) -> Result<Vec<KnownDevice>, StoreError> {
    let stmt = Query::select()
        .columns([
            KnownDevices::Id,
            KnownDevices::UserId,
            KnownDevices::Browser,
            KnownDevices::Os,
            KnownDevices::Network,
            KnownDevices::LastSeenAt,
        ])
        .from(KnownDevices::Table)
        .and_where(Expr::col(KnownDevices::UserId).eq(user_id))
        .order_by(KnownDevices::LastSeenAt, Order::Desc)
        .to_owned();
    ex.fetch_all(&stmt).await
}

/// Records a sign-in from a device: adds it, or moves its `last_seen_at` to `at`.
pub async fn record_known_device(
    ex: &impl Executor,
    id: Uuid,
    user_id: Uuid,
    (browser, os, network): (&str, &str, &str),
    at: OffsetDateTime,
) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(KnownDevices::Table)
        .columns([
            KnownDevices::Id,
            KnownDevices::UserId,
            KnownDevices::Browser,
            KnownDevices::Os,
            KnownDevices::Network,
            KnownDevices::LastSeenAt,
        ])
        .values([
            id.into(),
            user_id.into(),
            truncate(browser, 32).into(),
            truncate(os, 32).into(),
            truncate(network, 64).into(),
            at.into(),
        ])?
        .on_conflict(
            sea_query::OnConflict::columns([
                KnownDevices::UserId,
                KnownDevices::Browser,
                KnownDevices::Os,
                KnownDevices::Network,
            ])
            .update_column(KnownDevices::LastSeenAt)
            .to_owned(),
        )
        .to_owned();
    ex.execute(&stmt).await?;
    Ok(())
}

/// Deletes the user's devices not seen since `before`; answers how many.
pub async fn delete_stale_known_devices(
    ex: &impl Executor,
    user_id: Uuid,
    before: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(KnownDevices::Table)
        .and_where(Expr::col(KnownDevices::UserId).eq(user_id))
        .and_where(Expr::col(KnownDevices::LastSeenAt).lt(before))
        .to_owned();
    ex.execute(&stmt).await
}

/// Deletes every known device of the user (account deletion).
pub async fn delete_known_devices(ex: &impl Executor, user_id: Uuid) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(KnownDevices::Table)
        .and_where(Expr::col(KnownDevices::UserId).eq(user_id))
        .to_owned();
    ex.execute(&stmt).await
}
