//! Sessions: creation, authentication with idle and absolute expiry, remember-me
//! restoration with token rotation, listing and revocation.
//!
//! A session cookie carries a 32-byte token; the database keeps its SHA-256. A
//! remember-me cookie carries a separate token, stored as a `remember_me` user token
//! "sent to" the session it belongs to, so revoking a session also revokes the cookie
//! that could bring it back.
//!
//! Remember-me families. A log-in with remember-me starts a family: an id and an expiry
//! (`sigra.session.remember_me_secs` from the log-in), shared by every token that
//! rotation issues from it and recorded on every session it restores. A restore marks
//! its token used (a conditional update: one winner) and issues the next one; neither
//! the new token nor the restored session outlives the family, so remember-me never
//! extends itself. Spent tokens are kept, marked used, until the family expires: when
//! one comes back, someone holds a copy of a cookie that was already rotated (the owner
//! or a thief, it cannot be told which), so the whole family and every session it made
//! end, and `session.remember_me_reuse` is audited. Trade-off: a browser that sends its
//! old cookie twice (two tabs restoring at the same instant) is logged out too; it logs
//! in again. Failure mode: a replay racing the owner's next restore on another instance
//! can miss the token that restore is still writing; the next replay catches it.

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{Auth, Change, FlowError, RequestMeta, Revocation, audit};
use crate::crypto::{Token, TokenKind};
use crate::store::{Executor, Session, User, new_id, sessions, tokens};
use crate::user_agent;

/// A valid session and its user.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The session.
    pub session: Session,
    /// Its user.
    pub user: User,
}

impl Authenticated {
    /// Whether this session still owes the second factor: the account has one and the
    /// session has not passed it (see [`super::mfa`]).
    pub fn mfa_pending(&self) -> bool {
        self.user.mfa_enabled_at.is_some() && self.session.mfa_at.is_none()
    }

    /// Whether the user authenticated interactively within the sudo window.
    pub fn sudo_active(&self, auth: &Auth) -> bool {
        let ttl = Duration::seconds(auth.config.sudo.ttl_secs);
        self.session
            .sudo_at
            .is_some_and(|at| auth.clock.now() < at + ttl)
    }
}

/// Fresh credentials to set as cookies.
#[derive(Debug)]
pub struct IssuedSession {
    /// The session cookie value.
    pub token: Token,
    /// The remember-me cookie value, when asked for.
    pub remember_token: Option<Token>,
    /// When the remember-me family ends (fixed at log-in; restores never move it): the
    /// remember-me cookie should not outlive it.
    pub remember_expires_at: Option<OffsetDateTime>,
    /// The stored session.
    pub session: Session,
}

fn remember_recipient(session_id: Uuid) -> String {
    format!("session:{session_id}")
}

/// A remember-me family: every token rotated from one log-in, and its fixed expiry.
#[derive(Debug, Clone, Copy)]
struct Family {
    id: Uuid,
    expires_at: OffsetDateTime,
}

/// Starts a session for `user_id` with `change`. `interactive` marks a fresh
/// authentication (password, magic link …), which opens the sudo window. `remember_me`
/// starts a new remember-me family.
pub(crate) async fn issue(
    auth: &Auth,
    change: &Change<'_>,
    user_id: Uuid,
    remember_me: bool,
    interactive: bool,
    mfa_at: Option<OffsetDateTime>,
) -> Result<IssuedSession, FlowError> {
    let family = remember_me.then(|| Family {
        id: new_id(auth.clock.as_ref()),
        expires_at: auth.clock.now() + Duration::seconds(auth.config.session.remember_me_secs),
    });
    start(auth, change, user_id, family, interactive, mfa_at).await
}

/// Starts a session, in `family` when given (with its next remember-me token); the
/// session ends no later than the family.
async fn start(
    auth: &Auth,
    change: &Change<'_>,
    user_id: Uuid,
    family: Option<Family>,
    interactive: bool,
    mfa_at: Option<OffsetDateTime>,
) -> Result<IssuedSession, FlowError> {
    let (ex, meta) = (change.tx(), change.meta());
    let now = auth.clock.now();
    let token = Token::generate()?;
    let mut expires_at = now + Duration::seconds(auth.config.session.absolute_timeout_secs);
    if let Some(family) = family {
        expires_at = expires_at.min(family.expires_at);
    }
    let session = sessions::insert(
        ex,
        &sessions::NewSession {
            id: new_id(auth.clock.as_ref()),
            user_id,
            hash: &token.hash(),
            created_at: now,
            expires_at,
            remember_me: family.is_some(),
            sudo_at: interactive.then_some(now),
            mfa_at,
            ip: meta.ip.as_deref(),
            user_agent: meta.user_agent.as_deref(),
            impersonator_id: None,
            impersonation_organization_id: None,
            impersonation_reason: None,
        },
    )
    .await?;
    let remember_token = match family {
        Some(family) => {
            sessions::set_remember_family(ex, session.id, family.id).await?;
            Some(issue_remember_token(auth, ex, user_id, session.id, family, now).await?)
        }
        None => None,
    };
    Ok(IssuedSession {
        token,
        remember_token,
        remember_expires_at: family.map(|f| f.expires_at),
        session,
    })
}

async fn issue_remember_token(
    auth: &Auth,
    ex: &impl Executor,
    user_id: Uuid,
    session_id: Uuid,
    family: Family,
    now: OffsetDateTime,
) -> Result<Token, FlowError> {
    let token = Token::generate()?;
    let recipient = remember_recipient(session_id);
    tokens::insert_remember(
        ex,
        &tokens::NewToken {
            id: new_id(auth.clock.as_ref()),
            user_id,
            hash: &token.hash(),
            kind: TokenKind::RememberMe,
            sent_to: Some(&recipient),
            expires_at: family.expires_at,
            created_at: now,
        },
        family.id,
    )
    .await?;
    Ok(token)
}

/// The session a cookie value stands for, if it is live: not past its absolute expiry,
/// not idle for longer than the idle timeout. Records activity at most once per touch
/// interval. A dead session is deleted on sight.
pub async fn authenticate(auth: &Auth, cookie: &str) -> Result<Option<Authenticated>, FlowError> {
    let Ok(hash) = crate::crypto::TokenHash::of_encoded(cookie) else {
        return Ok(None);
    };
    if let Some(found) = cached(auth, &hash) {
        return Ok(Some(found));
    }
    let now = auth.clock.now();
    let interval = Duration::seconds(auth.config.session.touch_interval_secs);
    let live = |s: &Session| live_at(auth, now, s);
    let touch_due = |s: &Session| touch_due_at(auth, now, s);
    let cache = &auth.session_cache;
    let ticket = cache.ticket();
    let Some((session, user)) = sessions::find_by_hash(&auth.db, &hash).await? else {
        cache.remove(&hash);
        return Ok(None);
    };
    if !live(&session) {
        cache.remove(&hash);
        #[cfg(feature = "admin")]
        if session.impersonator_id.is_some() {
            let meta = RequestMeta::default();
            let how = super::impersonation::Ending::Expired;
            super::impersonation::finish(auth, &session, &user, how, &meta).await?;
            return Ok(None);
        }
        sessions::delete(&auth.db, session.user_id, session.id).await?;
        return Ok(None);
    }
    if user.barred() {
        // Locked or banned by an admin: its sessions were ended then; one that slipped
        // past (created in the same instant) is refused all the same.
        cache.remove(&hash);
        return Ok(None);
    }
    let mut session = session;
    // Most requests fall inside the interval: skip the write (and its lock) entirely.
    // The conditional update still decides when several requests race past the check.
    if touch_due(&session) && sessions::touch(&auth.db, session.id, now, interval).await? == 1 {
        session.last_seen_at = now;
    }
    let found = Authenticated { session, user };
    cache.insert(&hash, &found, ticket);
    Ok(Some(found))
}

/// The cached half of [`authenticate`], without I/O: the session behind `cookie` when the
/// session cache holds it, it is live and its `last_seen_at` is not due for a write.
/// `None` says nothing about the cookie (ask [`authenticate`]). A request guard tries it
/// first so that the common case never builds the database path's future.
pub fn authenticate_cached(auth: &Auth, cookie: &str) -> Option<Authenticated> {
    let hash = crate::crypto::TokenHash::of_encoded(cookie).ok()?;
    cached(auth, &hash)
}

fn cached(auth: &Auth, hash: &crate::crypto::TokenHash) -> Option<Authenticated> {
    let now = auth.clock.now();
    auth.session_cache.get(hash).filter(|found| {
        live_at(auth, now, &found.session) && !touch_due_at(auth, now, &found.session)
    })
}

/// Whether `s` is within its absolute and idle lifetimes at `now`.
fn live_at(auth: &Auth, now: OffsetDateTime, s: &Session) -> bool {
    let idle = Duration::seconds(auth.config.session.idle_timeout_secs);
    now < s.expires_at && now < s.last_seen_at + idle
}

/// Whether `s`'s `last_seen_at` is due for a write at `now`.
fn touch_due_at(auth: &Auth, now: OffsetDateTime, s: &Session) -> bool {
    now >= s.last_seen_at + Duration::seconds(auth.config.session.touch_interval_secs)
}

/// Trades a remember-me cookie for a new session and a new remember-me cookie (the old
/// one is single-use), both ending no later than the family the log-in started. The
/// restored session does not open the sudo window. A spent cookie coming back ends its
/// whole family (see the module header) and answers `None`.
///
/// On an account with a second factor, the restored session owes it again unless
/// `trusted_browser` is a valid trusted-browser cookie of the account.
pub async fn restore(
    auth: &Auth,
    remember_cookie: &str,
    trusted_browser: Option<&str>,
    meta: &RequestMeta,
) -> Result<Option<IssuedSession>, FlowError> {
    let Ok(hash) = crate::crypto::TokenHash::of_encoded(remember_cookie) else {
        return Ok(None);
    };
    let now = auth.clock.now();
    let change = auth.change(meta).await?;
    let ex = change.tx();
    let Some(used) = tokens::find_remember(ex, &hash).await? else {
        change.rollback().await?;
        return Ok(None);
    };
    if now >= used.expires_at {
        change.rollback().await?;
        return Ok(None);
    }
    let family = Family {
        id: used.family_id.unwrap_or(used.id),
        expires_at: used.expires_at,
    };
    if used.used_at.is_some() || tokens::mark_remember_used(ex, used.id, now).await? != 1 {
        end_family(change, used.user_id, family.id).await?;
        return Ok(None);
    }
    // The session this cookie belonged to is replaced by the new one.
    let old_session = used
        .sent_to
        .as_deref()
        .and_then(|s| s.strip_prefix("session:"))
        .and_then(|id| Uuid::parse_str(id).ok());
    if let Some(old_id) = old_session {
        sessions::delete(ex, used.user_id, old_id).await?;
    }
    let Some(user) = crate::store::users::find_by_id(ex, used.user_id).await? else {
        change.rollback().await?;
        return Ok(None);
    };
    let mfa_at = super::trusted_browser::passed_at_start(auth, &user, trusted_browser);
    let issued = start(auth, &change, used.user_id, Some(family), false, mfa_at).await?;
    let action = audit::SESSION_RESTORED;
    change
        .audit(action, used.user_id, serde_json::json!({}))
        .await?;
    change.commit(Revocation::EndSessions).await?;
    Ok(Some(issued))
}

/// A spent remember-me token came back: ends every session and token of its family.
async fn end_family(change: Change<'_>, user_id: Uuid, family: Uuid) -> Result<(), FlowError> {
    let ended = sessions::delete_remember_family(change.tx(), user_id, family).await?;
    tokens::delete_remember_family(change.tx(), user_id, family).await?;
    let details = serde_json::json!({ "family": family, "sessions_ended": ended });
    change
        .audit_by(
            audit::SESSION_REMEMBER_ME_REUSE,
            None,
            Some(user_id),
            details,
        )
        .await?;
    change.commit(Revocation::EndSessions).await?;
    log::warn!("a spent remember-me token of account {user_id} was replayed; its family ended");
    Ok(())
}

/// A session as shown to its owner.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionView {
    /// Session id (for the revoke button).
    pub id: Uuid,
    /// Browser name.
    pub browser: &'static str,
    /// OS name.
    pub os: &'static str,
    /// IP at creation.
    pub ip: Option<String>,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last activity.
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    /// Whether this is the session making the request.
    pub current: bool,
    /// Whether it was made with remember-me.
    pub remember_me: bool,
    /// The name an API client gave it (`device_name` at `POST /users/api/token`), if any.
    pub device_name: Option<String>,
    /// Whether it is an admin's impersonation session.
    pub impersonated: bool,
}

/// The user's live sessions, newest first, the current one marked. A log-in still owing
/// the account's second factor is not a session yet and is not listed.
pub async fn list(auth: &Auth, current: &Authenticated) -> Result<Vec<SessionView>, FlowError> {
    views(auth, &current.user, Some(current.session.id)).await
}

/// `user`'s live sessions as [`list`] shows them, `current` marked (for the admin's view
/// of an account, none is).
pub(crate) async fn views(
    auth: &Auth,
    user: &User,
    current: Option<Uuid>,
) -> Result<Vec<SessionView>, FlowError> {
    let now = auth.clock.now();
    let idle = Duration::seconds(auth.config.session.idle_timeout_secs);
    let has_mfa = user.mfa_enabled_at.is_some();
    let all = sessions::list_for_user(&auth.db, user.id, now).await?;
    Ok(all
        .into_iter()
        .filter(|s| !(has_mfa && s.mfa_at.is_none()))
        .filter(|s| s.refresh_family || now < s.last_seen_at + idle)
        .map(|s| {
            let device = user_agent::parse(s.user_agent.as_deref());
            SessionView {
                id: s.id,
                browser: device.browser,
                os: device.os,
                ip: s.ip,
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                current: Some(s.id) == current,
                remember_me: s.remember_me,
                device_name: s.device_name,
                impersonated: s.impersonator_id.is_some(),
            }
        })
        .collect())
}

/// How revoking one session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevokeOutcome {
    /// The session ended, with its remember-me cookie.
    Revoked,
    /// The account has no such live session.
    NotFound,
}

impl RevokeOutcome {
    /// A stable machine-readable reason for a failure; `None` for success.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            RevokeOutcome::Revoked => None,
            RevokeOutcome::NotFound => Some("session_not_found"),
        }
    }
}

/// Revokes one of the user's sessions (and its remember-me cookie).
pub async fn revoke(
    auth: &Auth,
    current: &Authenticated,
    session_id: Uuid,
    meta: &RequestMeta,
) -> Result<RevokeOutcome, FlowError> {
    let user_id = current.user.id;
    revoke_by(auth, user_id, user_id, session_id, meta).await
}

/// Revokes session `session_id` of `user_id` (and its remember-me cookie), done by
/// `actor` (the user, or an admin), audited `session.revoked`.
pub async fn revoke_by(
    auth: &Auth,
    user_id: Uuid,
    actor: Uuid,
    session_id: Uuid,
    meta: &RequestMeta,
) -> Result<RevokeOutcome, FlowError> {
    let change = auth.change(meta).await?;
    let removed = sessions::delete(change.tx(), user_id, session_id).await?;
    let recipient = remember_recipient(session_id);
    let kind = TokenKind::RememberMe;
    tokens::delete_by_recipient(change.tx(), user_id, kind, &recipient, true).await?;
    let outcome = if removed == 1 {
        let details = serde_json::json!({ "session_id": session_id });
        change
            .audit_by(audit::SESSION_REVOKED, Some(actor), Some(user_id), details)
            .await?;
        RevokeOutcome::Revoked
    } else {
        RevokeOutcome::NotFound
    };
    change.commit(Revocation::EndSessions).await?;
    Ok(outcome)
}

/// Revokes every session of the user but the current one, with their remember-me
/// cookies. Answers how many sessions ended.
pub async fn revoke_others(
    auth: &Auth,
    current: &Authenticated,
    meta: &RequestMeta,
) -> Result<u64, FlowError> {
    let user_id = current.user.id;
    let keep = current.session.id;
    let change = auth.change(meta).await?;
    let removed = end_others(change.tx(), user_id, Some(keep)).await?;
    let details = serde_json::json!({ "count": removed });
    change
        .audit(audit::SESSIONS_REVOKED_OTHERS, user_id, details)
        .await?;
    change.commit(Revocation::EndSessions).await?;
    Ok(removed)
}

/// Ends every session of the account but `keep`, with every remember-me token that could
/// bring one back (the kept session's own excepted), in `ex`'s transaction. Answers how
/// many sessions ended. The caller commits with [`Revocation::EndSessions`].
pub(crate) async fn end_others(
    ex: &impl Executor,
    user_id: Uuid,
    keep: Option<Uuid>,
) -> Result<u64, FlowError> {
    let removed = sessions::delete_for_user(ex, user_id, keep).await?;
    match keep {
        Some(keep) => {
            let recipient = remember_recipient(keep);
            tokens::delete_by_recipient(ex, user_id, TokenKind::RememberMe, &recipient, false)
                .await?;
        }
        None => {
            tokens::delete_for_user(ex, user_id, &[TokenKind::RememberMe]).await?;
        }
    }
    Ok(removed)
}

/// Gives `session` a new token in `ex`'s transaction (every privilege change does, so a
/// token seen before the change is worth nothing after it), optionally opening the sudo
/// window (`sudo_at`) or recording a passed second factor (`mfa_at`). Answers the new
/// cookie value.
pub(crate) async fn rotate_token(
    ex: &impl Executor,
    session: &Session,
    sudo_at: Option<OffsetDateTime>,
    mfa_at: Option<OffsetDateTime>,
) -> Result<Token, FlowError> {
    let token = Token::generate()?;
    sessions::rotate(ex, session.id, &token.hash(), sudo_at, mfa_at).await?;
    Ok(token)
}

/// Ends the session and its remember-me cookie (used by log-out).
pub(crate) async fn end(ex: &impl Executor, current: &Authenticated) -> Result<(), FlowError> {
    let user_id = current.user.id;
    sessions::delete(ex, user_id, current.session.id).await?;
    tokens::delete_by_recipient(
        ex,
        user_id,
        TokenKind::RememberMe,
        &remember_recipient(current.session.id),
        true,
    )
    .await?;
    Ok(())
}
