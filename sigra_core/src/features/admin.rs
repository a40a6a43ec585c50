//! The admin console's flows: who is a platform admin, the dashboard's figures, the user
//! search, one account's whole picture, and the actions an admin takes on an account.
//!
//! # Algorithm
//!
//! A platform admin is an account with `sigra_users.is_admin`. It becomes one when it
//! confirms an address listed in `sigra.admin.emails` (any proof of the mailbox: link,
//! code, invitation, a provider's verified email; `on_confirmed`) or through the CLI
//! ([`set_admin`], [`grant_or_create`]); nothing on the web makes an admin. The web
//! layer's `Admin` guard asks for a full session of such an account that is not an
//! impersonation, and every admin POST for sudo on top.
//!
//! Actions ([`UserAction`]) each run in one [`Change`] audited with the
//! admin as actor and the account as target:
//!
//! | action | what it does |
//! |---|---|
//! | `lock` / `unlock` | sets / clears `admin_locked_at`; locking ends every session. While locked, log-in answers like a wrong password and API keys and access tokens are refused; nothing the user can do lifts it (an unlock link or a reset does not). Unlock also lifts a lockout. |
//! | `ban` / `unban` | sets / clears `banned_at`; banning ends every session, refresh family, remember-me cookie, emailed link and API key (deleted). Log-in answers like a wrong password. |
//! | `revoke-sessions` | ends every session, refresh family and remember-me cookie |
//! | `send-reset` | mails a password-reset link to the account's address |
//! | `confirm-email` | marks the address confirmed |
//! | `reset-mfa` | turns the second factor off (authenticator, backup codes, trusted browsers; passkeys stop counting as one) and mails the user |
//! | `delete` | schedules the deletion (grace period as if the user asked), ends every session |
//!
//! The `sigra` command takes the same actions ([`act_from_cli`]): same effects, audited
//! with no actor and `"via": "cli"` in the details, as [`set_admin`] is.
//!
//! The ones that end sessions commit with [`Revocation::EndSessions`]. An admin cannot
//! lock, ban, delete or reset the second factor of their own account, nor lock, ban,
//! delete or impersonate another admin (revoke their admin right with the CLI first).
//!
//! User search: an email prefix is one range scan of the unique email index (the column
//! is compared byte by byte on every backend), pages follow by keyset on the email, so
//! page 1000 costs what page 1 does.
//!
//! # Trade-off
//!
//! Lock and ban are marks on the account row, checked wherever the account is
//! authenticated (log-in, sessions, API keys, access tokens), not a deletion: unlocking
//! or unbanning brings the account back as it was (a ban's deleted API keys excepted).
//! The dashboard counts with one query per figure and per day (about a hundred indexed
//! counts): simple and portable, a few milliseconds at a million rows, never cached.
//!
//! # Failure mode
//!
//! An action that fails rolls back whole: no half-banned account keeps its API keys. Two
//! admins acting at once are decided by conditional updates: the second lock of a locked
//! account changes nothing and records nothing.

use serde::Serialize;
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::sessions::{Authenticated, SessionView};
use super::{Auth, Change, FlowError, RequestMeta, Revocation, audit};
use crate::crypto::TokenKind;
use crate::store::users::{Mark, UserFilter, UserSearch};
use crate::store::{self, AuditEvent, User, UserView, users};

/// Why an admin action was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// No such account (or it is deleted).
    #[error("no such account")]
    NotFound,
    /// The admin acted on their own account where that is not allowed.
    #[error("not on your own account")]
    SelfAction,
    /// The target is a platform admin.
    #[error("the account is an admin")]
    TargetIsAdmin,
}

impl AdminError {
    /// A stable machine-readable reason.
    pub const fn reason(self) -> &'static str {
        match self {
            AdminError::NotFound => "user_not_found",
            AdminError::SelfAction => "admin_self_action",
            AdminError::TargetIsAdmin => "target_is_admin",
        }
    }

    /// The English sentence a page or JSON client shows.
    pub const fn message(self) -> &'static str {
        match self {
            AdminError::NotFound => "There is no such account.",
            AdminError::SelfAction => "You cannot do that to your own account.",
            AdminError::TargetIsAdmin => {
                "That account is an admin. Revoke its admin right first (sigra admin revoke)."
            }
        }
    }
}

/// What an admin does to an account (`POST /admin/users/<id>/<action>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum UserAction {
    /// Lock the account (`lock`).
    Lock,
    /// Lift an admin lock and a lockout (`unlock`).
    Unlock,
    /// Ban the account (`ban`).
    Ban,
    /// Lift a ban (`unban`).
    Unban,
    /// End every session (`revoke-sessions`).
    RevokeSessions,
    /// Mail a password-reset link (`send-reset`).
    SendReset,
    /// Mark the address confirmed (`confirm-email`).
    ConfirmEmail,
    /// Turn the second factor off (`reset-mfa`).
    ResetMfa,
    /// Schedule the account's deletion (`delete`).
    Delete,
}

impl UserAction {
    /// Every action, in the order the user page shows them.
    pub const ALL: [UserAction; 9] = [
        UserAction::Lock,
        UserAction::Unlock,
        UserAction::Ban,
        UserAction::Unban,
        UserAction::RevokeSessions,
        UserAction::SendReset,
        UserAction::ConfirmEmail,
        UserAction::ResetMfa,
        UserAction::Delete,
    ];

    /// The action's URL segment.
    pub const fn slug(self) -> &'static str {
        match self {
            UserAction::Lock => "lock",
            UserAction::Unlock => "unlock",
            UserAction::Ban => "ban",
            UserAction::Unban => "unban",
            UserAction::RevokeSessions => "revoke-sessions",
            UserAction::SendReset => "send-reset",
            UserAction::ConfirmEmail => "confirm-email",
            UserAction::ResetMfa => "reset-mfa",
            UserAction::Delete => "delete",
        }
    }

    /// The action named by a URL segment.
    pub fn from_slug(slug: &str) -> Option<UserAction> {
        UserAction::ALL.into_iter().find(|a| a.slug() == slug)
    }

    /// Its audit action.
    pub const fn audit_action(self) -> &'static str {
        match self {
            UserAction::Lock => audit::ADMIN_USER_LOCKED,
            UserAction::Unlock => audit::ADMIN_USER_UNLOCKED,
            UserAction::Ban => audit::ADMIN_USER_BANNED,
            UserAction::Unban => audit::ADMIN_USER_UNBANNED,
            UserAction::RevokeSessions => audit::ADMIN_SESSIONS_REVOKED,
            UserAction::SendReset => audit::ADMIN_RESET_SENT,
            UserAction::ConfirmEmail => audit::ADMIN_EMAIL_CONFIRMED,
            UserAction::ResetMfa => audit::ADMIN_MFA_RESET,
            UserAction::Delete => audit::ADMIN_DELETION_SCHEDULED,
        }
    }

    /// What the page says once it is done.
    pub const fn done(self) -> &'static str {
        match self {
            UserAction::Lock => "The account is locked and its sessions ended.",
            UserAction::Unlock => "The account is unlocked.",
            UserAction::Ban => "The account is banned: its sessions and API keys ended.",
            UserAction::Unban => "The ban is lifted.",
            UserAction::RevokeSessions => "Every session of the account ended.",
            UserAction::SendReset => "A password-reset link is on its way to the account.",
            UserAction::ConfirmEmail => "The address is confirmed.",
            UserAction::ResetMfa => "Two-step verification is off; the user was told by mail.",
            UserAction::Delete => "The account's deletion is scheduled.",
        }
    }

    /// Whether an admin may not do it to their own account, nor to another admin.
    const fn guarded(self) -> bool {
        matches!(
            self,
            UserAction::Lock | UserAction::Ban | UserAction::ResetMfa | UserAction::Delete
        )
    }
}

/// A refusal or a value.
pub type Outcome<T> = Result<T, AdminError>;

/// Makes the account whose address was just proven a platform admin when the address is
/// listed in `sigra.admin.emails` (audited `admin.granted`, no actor). Called in the
/// proving change, after the address is marked confirmed.
pub(crate) async fn on_confirmed(
    auth: &Auth,
    change: &Change<'_>,
    user_id: Uuid,
) -> Result<(), FlowError> {
    if auth.config.admin.emails.is_empty() {
        return Ok(());
    }
    let Some(user) = users::find_by_id(change.tx(), user_id).await? else {
        return Ok(());
    };
    if !auth.config.admin.bootstraps(&user.email) {
        return Ok(());
    }
    if users::set_admin(change.tx(), user_id, true, auth.clock.now()).await? == 1 {
        let details = json!({ "via": "sigra.admin.emails" });
        change
            .audit_by(audit::ADMIN_GRANTED, None, Some(user_id), details)
            .await?;
    }
    Ok(())
}

/// Grants or revokes the platform admin right of the live account with `email` (for the
/// CLI), audited `admin.granted` / `admin.revoked` with no actor. Answers the account,
/// or `None` when there is no such account.
pub async fn set_admin(
    auth: &Auth,
    email: &str,
    admin: bool,
    meta: &RequestMeta,
) -> Result<Option<UserView>, FlowError> {
    let change = auth.change(meta).await?;
    let Some(user) = users::find_by_email(change.tx(), email).await? else {
        change.rollback().await?;
        return Ok(None);
    };
    if users::set_admin(change.tx(), user.id, admin, auth.clock.now()).await? == 1 {
        let action = if admin {
            audit::ADMIN_GRANTED
        } else {
            audit::ADMIN_REVOKED
        };
        let details = json!({ "via": "cli" });
        change
            .audit_by(action, None, Some(user.id), details)
            .await?;
    }
    change.commit(Revocation::RefreshCache).await?;
    let mut view = user.view();
    view.is_admin = admin;
    Ok(Some(view))
}

/// What [`grant_or_create`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdminGranted {
    /// The live account with the address is (now) a platform admin.
    Existing(UserView),
    /// No account had the address: one was created, confirmed and without a password, as
    /// a platform admin, and a password-reset link is queued in the outbox for its owner
    /// to set a password.
    Created(UserView),
}

/// Makes the live account with `email` a platform admin ([`set_admin`]); when no account
/// has the address, creates it (for the CLI, `sigra admin create`): confirmed, without a
/// password, admin, with its personal organization when those are on, and mails it a
/// password-reset link through the outbox, all in one change audited `registration`,
/// `admin.granted` and `admin.reset_sent` with no actor and `"via": "cli"`. The caller
/// checks that `email` is an address ([`super::registration::valid_email`]). An address
/// kept by a deleted account answers [`store::StoreError::Conflict`].
pub async fn grant_or_create(
    auth: &Auth,
    email: &str,
    meta: &RequestMeta,
) -> Result<AdminGranted, FlowError> {
    if let Some(view) = set_admin(auth, email, true, meta).await? {
        return Ok(AdminGranted::Existing(view));
    }
    let now = auth.clock.now();
    let mut change = auth.change(meta).await?;
    let id = store::new_id(auth.clock.as_ref());
    let user = match users::insert(change.tx(), id, email, None, now).await {
        Ok(user) => user,
        Err(store::StoreError::Conflict) => {
            // Registered meanwhile (or kept by a deleted account): grant the live one.
            change.rollback().await?;
            return match set_admin(auth, email, true, meta).await? {
                Some(view) => Ok(AdminGranted::Existing(view)),
                None => Err(store::StoreError::Conflict.into()),
            };
        }
        Err(e) => return Err(e.into()),
    };
    users::confirm(change.tx(), user.id, now).await?;
    users::set_admin(change.tx(), user.id, true, now).await?;
    #[cfg(feature = "organizations")]
    super::organizations::create_personal(auth, &change, user.id, &user.email).await?;
    let via = json!({ "via": "cli" });
    for action in [audit::REGISTRATION, audit::ADMIN_GRANTED] {
        change.audit_by(action, None, Some(user.id), &via).await?;
    }
    mail_reset(auth, &mut change, user.id, &user.email).await?;
    change
        .audit_by(audit::ADMIN_RESET_SENT, None, Some(user.id), &via)
        .await?;
    change.commit(Revocation::None).await?;
    let mut view = user.view();
    view.is_admin = true;
    view.confirmed_at = Some(now);
    Ok(AdminGranted::Created(view))
}

/// Queues a password-reset link for account `user_id` at `email` with `change`.
async fn mail_reset(
    auth: &Auth,
    change: &mut super::Change<'_>,
    user_id: Uuid,
    email: &str,
) -> Result<(), FlowError> {
    let ttl = auth.config.tokens.reset_password_secs;
    let kind = TokenKind::ResetPassword;
    let token = auth
        .emailed_token(change.tx(), user_id, kind, email, ttl)
        .await?;
    let path = format!("/reset-password/{}", token.as_str());
    change
        .mail_link("reset_password", email, ttl, &path, json!({}))
        .await
}

/// The dashboard's figures.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Dashboard {
    /// Live accounts.
    pub users: i64,
    /// Of them, with a confirmed address.
    pub confirmed: i64,
    /// With a second factor on.
    pub with_mfa: i64,
    /// With at least one passkey.
    pub with_passkeys: i64,
    /// Sessions not expired.
    pub active_sessions: i64,
    /// Locked now (by an admin or by the lockout).
    pub locked: i64,
    /// Banned.
    pub banned: i64,
    /// Sign-ups per day, oldest first, over [`DASHBOARD_DAYS`] days ending today.
    pub signups: Vec<Day>,
    /// Successful log-ins per day (every method), same days.
    pub login_successes: Vec<Day>,
    /// Failed log-ins per day (every method), same days.
    pub login_failures: Vec<Day>,
}

/// One day of a dashboard series.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Day {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// The count.
    pub count: i64,
}

/// How many days the dashboard's charts cover.
pub const DASHBOARD_DAYS: i64 = 30;

const LOGIN_SUCCESS_ACTIONS: [&str; 4] = [
    audit::LOGIN_SUCCESS,
    audit::LOGIN_MAGIC_LINK,
    audit::LOGIN_PASSKEY,
    audit::LOGIN_OAUTH,
];

const LOGIN_FAILURE_ACTIONS: [&str; 3] = [
    audit::LOGIN_FAILURE,
    audit::LOGIN_PASSKEY_FAILURE,
    audit::LOGIN_OAUTH_FAILURE,
];

/// The dashboard's figures, now.
pub async fn dashboard(auth: &Auth) -> Result<Dashboard, FlowError> {
    use store::audit::count_actions_between;
    use store::users::{UserCount, count as count_users};
    let db = &auth.db;
    let now = auth.clock.now();
    let users = count_users(db, UserCount::Live).await?;
    let confirmed = count_users(db, UserCount::Confirmed).await?;
    let with_mfa = count_users(db, UserCount::Filter(UserFilter::WithMfa)).await?;
    let with_passkeys = count_users(db, UserCount::WithPasskeys).await?;
    let active_sessions = store::sessions::count_unexpired(db, now).await?;
    let locked = count_users(db, UserCount::Filter(UserFilter::Locked(now))).await?;
    let banned = count_users(db, UserCount::Filter(UserFilter::Banned)).await?;

    let today = now.replace_time(time::Time::MIDNIGHT);
    let mut signups = Vec::new();
    let mut login_successes = Vec::new();
    let mut login_failures = Vec::new();
    for back in (0..DASHBOARD_DAYS).rev() {
        let day = today - Duration::days(back);
        let end = day + Duration::days(1);
        let date = day.date().to_string();
        let joined = count_users(db, UserCount::CreatedBetween(day, end)).await?;
        let successes = count_actions_between(db, &LOGIN_SUCCESS_ACTIONS, day, end).await?;
        let failures = count_actions_between(db, &LOGIN_FAILURE_ACTIONS, day, end).await?;
        signups.push(Day {
            date: date.clone(),
            count: joined,
        });
        login_successes.push(Day {
            date: date.clone(),
            count: successes,
        });
        login_failures.push(Day {
            date,
            count: failures,
        });
    }
    Ok(Dashboard {
        users,
        confirmed,
        with_mfa,
        with_passkeys,
        active_sessions,
        locked,
        banned,
        signups,
        login_successes,
        login_failures,
    })
}

/// What the user list asks for.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// An email prefix (normalized before the search); empty for all.
    pub q: String,
    /// One of `locked`, `banned`, `unconfirmed`, `admin`, `mfa`; anything else is none.
    pub filter: Option<String>,
    /// The cursor of the page to show ([`UserPage::next`] of the previous one).
    pub page: Option<String>,
}

/// Accounts per page of the user list.
pub const USERS_PER_PAGE: u64 = 50;

/// One account in the user list.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct UserRow {
    /// The account.
    pub user: UserView,
    /// Locked by an admin or by the lockout now.
    pub locked: bool,
    /// Banned.
    pub banned: bool,
}

impl UserRow {
    fn of(auth: &Auth, user: &User) -> UserRow {
        UserRow {
            user: user.view(),
            locked: user.admin_locked_at.is_some() || super::lockout::is_locked(auth, user),
            banned: user.banned_at.is_some(),
        }
    }
}

/// A page of the user list.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct UserPage {
    /// The accounts, in email order.
    pub users: Vec<UserRow>,
    /// The cursor of the next page, when there is one.
    pub next: Option<String>,
}

/// The filter named by `name`, as the list's `filter` parameter spells it.
pub fn user_filter(auth: &Auth, name: &str) -> Option<UserFilter> {
    Some(match name {
        "locked" => UserFilter::Locked(auth.clock.now()),
        "banned" => UserFilter::Banned,
        "unconfirmed" => UserFilter::Unconfirmed,
        "admin" => UserFilter::Admin,
        "mfa" => UserFilter::WithMfa,
        _ => return None,
    })
}

/// One page of accounts: by email prefix and filter, keyset-paginated. The cursor is the
/// last email of the page, base64url-encoded (an unreadable cursor starts over).
pub async fn search(auth: &Auth, query: &UserQuery) -> Result<UserPage, FlowError> {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let after = query
        .page
        .as_deref()
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let prefix = store::normalize_email(&query.q);
    let search = UserSearch {
        prefix: Some(prefix).filter(|p| !p.is_empty()),
        filter: query.filter.as_deref().and_then(|f| user_filter(auth, f)),
        after,
        limit: USERS_PER_PAGE + 1,
    };
    let mut found = users::search(&auth.db, &search).await?;
    let more = found.len() as u64 > USERS_PER_PAGE;
    found.truncate(USERS_PER_PAGE as usize);
    let next = more
        .then(|| {
            found
                .last()
                .map(|u| URL_SAFE_NO_PAD.encode(u.email.as_bytes()))
        })
        .flatten();
    Ok(UserPage {
        users: found.iter().map(|u| UserRow::of(auth, u)).collect(),
        next,
    })
}

/// Everything the admin's page of one account shows.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct UserDetail {
    /// The account.
    pub user: UserView,
    /// Locked by an admin (since when).
    #[serde(with = "time::serde::rfc3339::option")]
    pub admin_locked_at: Option<OffsetDateTime>,
    /// Locked by the lockout until then.
    #[serde(with = "time::serde::rfc3339::option")]
    pub locked_until: Option<OffsetDateTime>,
    /// Banned (since when).
    #[serde(with = "time::serde::rfc3339::option")]
    pub banned_at: Option<OffsetDateTime>,
    /// Deleted (soft delete or anonymization).
    #[serde(with = "time::serde::rfc3339::option")]
    pub deleted_at: Option<OffsetDateTime>,
    /// Live sessions, newest first.
    pub sessions: Vec<SessionView>,
    /// Whether an authenticator app is on.
    pub totp: bool,
    /// Backup codes left.
    pub backup_codes: i64,
    /// Passkeys.
    #[cfg(feature = "passkeys")]
    pub passkeys: Vec<super::passkeys::PasskeyView>,
    /// Linked provider accounts.
    #[cfg(feature = "oauth")]
    pub connections: Vec<super::oauth::ConnectionView>,
    /// Organizations.
    #[cfg(feature = "organizations")]
    pub organizations: Vec<super::organizations::OrganizationView>,
    /// API keys.
    #[cfg(feature = "api")]
    pub api_keys: Vec<super::api_keys::ApiKeyView>,
    /// The account's audit timeline (by or about it), newest first, at most 100.
    pub audit: Vec<AuditEvent>,
}

/// The admin's page of account `id`; `None` when there is no such account.
pub async fn user(auth: &Auth, id: Uuid) -> Result<Option<UserDetail>, FlowError> {
    let Some(user) = users::find_by_id(&auth.db, id).await? else {
        return Ok(None);
    };
    let mut timeline = audit::AuditFilter::for_user(id);
    timeline.limit = Some(100);
    Ok(Some(UserDetail {
        admin_locked_at: user.admin_locked_at,
        locked_until: user
            .locked_until
            .filter(|_| super::lockout::is_locked(auth, &user)),
        banned_at: user.banned_at,
        deleted_at: user.deleted_at,
        sessions: super::sessions::views(auth, &user, None).await?,
        totp: super::mfa_totp::app_enabled(auth, id).await?,
        backup_codes: super::backup_codes::remaining(auth, id).await?,
        #[cfg(feature = "passkeys")]
        passkeys: super::passkeys::views(auth, id).await?,
        #[cfg(feature = "oauth")]
        connections: super::oauth::connection_views(auth, id).await?,
        #[cfg(feature = "organizations")]
        organizations: super::organizations::list(auth, id).await?,
        #[cfg(feature = "api")]
        api_keys: super::api_keys::list(auth, id).await?,
        audit: audit::list(&auth.db, &timeline).await?,
        user: user.view(),
    }))
}

/// An organization as the admin console lists it.
#[cfg(feature = "organizations")]
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct OrganizationRow {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its slug.
    pub slug: String,
    /// A personal organization.
    pub personal: bool,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[cfg(feature = "organizations")]
impl OrganizationRow {
    fn of(row: store::OrganizationRow) -> OrganizationRow {
        OrganizationRow {
            id: row.id,
            name: row.name,
            slug: row.slug,
            personal: row.personal,
            created_at: row.created_at,
        }
    }
}

/// A page of the admin's organization list.
#[cfg(feature = "organizations")]
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct OrganizationPage {
    /// The organizations, in slug order.
    pub organizations: Vec<OrganizationRow>,
    /// The cursor of the next page, when there is one (the last slug).
    pub next: Option<String>,
}

/// One page of organizations whose slug starts with `q`, after slug `page`.
#[cfg(feature = "organizations")]
pub async fn organizations(
    auth: &Auth,
    q: &str,
    page: Option<&str>,
) -> Result<OrganizationPage, FlowError> {
    let q = q.trim().to_lowercase();
    let mut found = store::organizations::search(&auth.db, &q, page, USERS_PER_PAGE + 1).await?;
    let more = found.len() as u64 > USERS_PER_PAGE;
    found.truncate(USERS_PER_PAGE as usize);
    let next = more.then(|| found.last().map(|o| o.slug.clone())).flatten();
    Ok(OrganizationPage {
        organizations: found.into_iter().map(OrganizationRow::of).collect(),
        next,
    })
}

/// One organization as the admin console shows it.
#[cfg(feature = "organizations")]
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct OrganizationDetail {
    /// The organization.
    pub organization: OrganizationRow,
    /// Its members, oldest first.
    pub members: Vec<super::organizations::MemberView>,
}

/// The organization with `slug`, with its members; `None` when there is none.
#[cfg(feature = "organizations")]
pub async fn organization(
    auth: &Auth,
    slug: &str,
) -> Result<Option<OrganizationDetail>, FlowError> {
    let Some(row) = store::organizations::find_by_slug(&auth.db, slug).await? else {
        return Ok(None);
    };
    let members = super::organizations::members(auth, row.id).await?;
    Ok(Some(OrganizationDetail {
        organization: OrganizationRow::of(row),
        members,
    }))
}

/// Does `action` to account `target` as `admin` (whose guard proved a platform admin
/// with sudo). Answers whether anything changed (`false`: it already was so), or why
/// it was refused.
pub async fn act(
    auth: &Auth,
    admin: &Authenticated,
    target: Uuid,
    action: UserAction,
    meta: &RequestMeta,
) -> Result<Outcome<bool>, FlowError> {
    act_as(auth, Some(admin.user.id), target, action, meta).await
}

/// Does `action` to the live account with `email` from the command line (`sigra users
/// lock|unlock|ban`): the same effects as [`act`] (and the same refusals: not to an
/// admin), audited with no actor and `"via": "cli"`. Answers the account and whether
/// anything changed, or why it was refused ([`AdminError::NotFound`] when no live account
/// has the address). Committed like the console's actions, so a revocation waits until
/// every serving instance dropped the account's cached sessions (a process that does not
/// serve waits `sigra.session.cache_ms`; see [`crate::session_cache::broadcast`]).
pub async fn act_from_cli(
    auth: &Auth,
    email: &str,
    action: UserAction,
    meta: &RequestMeta,
) -> Result<Outcome<(UserView, bool)>, FlowError> {
    let Some(user) = users::find_by_email(&auth.db, email).await? else {
        return Ok(Err(AdminError::NotFound));
    };
    let outcome = act_as(auth, None, user.id, action, meta).await?;
    Ok(outcome.map(|changed| (user.view(), changed)))
}

/// [`act`] by `actor`: an admin's account, or `None` for the command line.
async fn act_as(
    auth: &Auth,
    actor: Option<Uuid>,
    target: Uuid,
    action: UserAction,
    meta: &RequestMeta,
) -> Result<Outcome<bool>, FlowError> {
    let now = auth.clock.now();
    let mut change = auth.change(meta).await?;
    let ex = change.tx();
    if !users::lock_row(ex, target).await? {
        return Ok(Err(AdminError::NotFound));
    }
    let Some(user) = users::find_by_id(ex, target).await? else {
        return Ok(Err(AdminError::NotFound));
    };
    if user.deleted_at.is_some() {
        return Ok(Err(AdminError::NotFound));
    }
    if action.guarded() {
        if Some(user.id) == actor {
            return Ok(Err(AdminError::SelfAction));
        }
        if user.is_admin {
            return Ok(Err(AdminError::TargetIsAdmin));
        }
    }
    let mut revocation = Revocation::None;
    let mut details = json!({});
    let changed = match action {
        UserAction::Lock => {
            let changed = users::set_mark(ex, target, Mark::Locked, Some(now), now).await? == 1;
            if changed {
                end_access(ex, target, false).await?;
                revocation = Revocation::EndSessions;
            }
            changed
        }
        UserAction::Unlock => {
            let lockout = users::unlock(ex, target, true).await? == 1
                && super::lockout::is_locked(auth, &user);
            let mark = users::set_mark(ex, target, Mark::Locked, None, now).await? == 1;
            details = json!({ "lockout": lockout });
            lockout || mark
        }
        UserAction::Ban => {
            let changed = users::set_mark(ex, target, Mark::Banned, Some(now), now).await? == 1;
            if changed {
                let keys = end_access(ex, target, true).await?;
                details = json!({ "api_keys_deleted": keys });
                revocation = Revocation::EndSessions;
            }
            changed
        }
        UserAction::Unban => users::set_mark(ex, target, Mark::Banned, None, now).await? == 1,
        UserAction::RevokeSessions => {
            let ended = end_access(ex, target, false).await?;
            details = json!({ "sessions": ended });
            revocation = Revocation::EndSessions;
            true
        }
        UserAction::SendReset => {
            mail_reset(auth, &mut change, target, &user.email).await?;
            true
        }
        UserAction::ConfirmEmail => {
            let changed = users::confirm(ex, target, now).await? == 1;
            if changed {
                on_confirmed(auth, &change, target).await?;
                revocation = Revocation::RefreshCache;
            }
            changed
        }
        UserAction::ResetMfa => {
            let on = user.mfa_enabled_at.is_some();
            store::mfa::delete_all(ex, target).await?;
            store::passkeys::clear_used_for_mfa(ex, target).await?;
            if on {
                store::mfa::set_enabled(ex, target, None, now).await?;
                let data = json!({ "settings_url": auth.route_url("/settings/mfa") });
                change.mail("mfa_reset", &user.email, data).await?;
                revocation = Revocation::EndSessions;
            }
            on
        }
        UserAction::Delete => {
            let at = now + Duration::days(auth.config.deletion.grace_days);
            let changed = users::schedule_deletion(ex, target, at, now).await? == 1;
            if changed {
                let context = json!({
                    "delete_at": super::human_time(at),
                    "log_in_url": auth.route_url("/log_in"),
                });
                change
                    .mail("deletion_scheduled", &user.email, context)
                    .await?;
                end_access(change.tx(), target, false).await?;
                details = json!({ "delete_at": at.unix_timestamp() });
                revocation = Revocation::EndSessions;
            }
            changed
        }
    };
    if changed {
        if actor.is_none()
            && let Some(fields) = details.as_object_mut()
        {
            fields.insert("via".into(), "cli".into());
        }
        change
            .audit_by(action.audit_action(), actor, Some(target), details)
            .await?;
    }
    change.commit(revocation).await?;
    Ok(Ok(changed))
}

/// Ends every session, refresh family and remember-me cookie of `user_id`; with
/// `everything`, also its emailed links and API keys. Answers how many sessions (or,
/// with `everything`, API keys) went.
async fn end_access(
    ex: &impl store::Executor,
    user_id: Uuid,
    everything: bool,
) -> Result<u64, FlowError> {
    let sessions = store::sessions::delete_for_user(ex, user_id, None).await?;
    let kinds: &[TokenKind] = if everything {
        &[]
    } else {
        &[TokenKind::RememberMe]
    };
    store::tokens::delete_for_user(ex, user_id, kinds).await?;
    if everything {
        return Ok(store::api_keys::delete_for_user(ex, user_id).await?);
    }
    Ok(sessions)
}
