//! Impersonation: an admin acting as an account, to see what its owner sees, within
//! guardrails.
//!
//! # Algorithm
//!
//! [`start`] (a platform admin with sudo) or `start_through` (with the `organizations`
//! feature, when `sigra.admin.org_impersonation` is on: an organization admin or owner
//! through their organization) checks the guardrails and creates a separate session for
//! the account, marked with the admin (`impersonator_id`), the reason and the
//! organization, if any. It passed the second factor (the admin did) but never has sudo,
//! never has remember-me, and expires `sigra.admin.impersonation_minutes` (30) after it
//! began, whatever happens. The web layer keeps the admin's own session cookie aside and
//! restores it when the impersonation ends.
//!
//! Guardrails, each refused with a stable reason: a reason is required
//! (`reason_required`); never yourself (`admin_self_action`), never a platform admin
//! (`cannot_impersonate_admin`), never from inside an impersonation
//! (`impersonation_forbidden`); an organization admin only a member of their own
//! organization with a lower role (`organization_role_required`). While impersonating,
//! the web layer refuses credential, email, second-factor, passkey, API-key, connection
//! and deletion changes, sudo and the whole admin area with `impersonation_forbidden`.
//! Every audit event a request of the session causes carries `impersonator_id` (from
//! [`RequestMeta`]).
//!
//! [`finish`] ends it, on the admin's stop or on expiry (noticed by the session lookup
//! or, if the admin never comes back, by [`ImpersonationSweep`]): the session row is
//! deleted by a conditional delete (one finisher wins), `impersonation.ended` is
//! recorded, and the user is mailed who-what-when (`sigra.admin.notify_impersonated`).
//!
//! # Trade-off
//!
//! A separate session rather than a flag on the admin's: the admin's own session is
//! untouched (kept, restored, its sudo window intact), and everything the impersonation
//! did is tied to one session id that ends on its own. The price is a second cookie
//! holding the admin's session token while impersonating (HttpOnly, same attributes as
//! the session cookie), which no guard reads.
//!
//! # Failure mode
//!
//! If the user's mail cannot be queued, the end rolls back and is tried again on the
//! next request or sweep; the session is refused meanwhile (it is past its expiry, or
//! its stop request failed and the admin can stop again).

use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

#[cfg(feature = "organizations")]
use super::organizations::{Membership, Role};
use super::sessions::{Authenticated, IssuedSession};
use super::{Auth, Change, FlowError, RequestMeta, Revocation, audit, human_time};
use crate::crypto::Token;
use crate::store::{Session, User, new_id, sessions, users};

/// The longest reason kept, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Why an impersonation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImpersonationError {
    /// No reason was given.
    #[error("a reason is required")]
    ReasonRequired,
    /// No such live account.
    #[error("no such account")]
    NotFound,
    /// The admin's own account.
    #[error("not your own account")]
    SelfTarget,
    /// The target is a platform admin.
    #[error("admins cannot be impersonated")]
    TargetIsAdmin,
    /// The request comes from an impersonation already.
    #[error("not while impersonating")]
    Nested,
    /// An organization admin's target is not a member of their organization with a lower
    /// role, or organization impersonation is off.
    #[error("not a member you may act as")]
    NotYourMember,
}

impl ImpersonationError {
    /// A stable machine-readable reason.
    pub const fn reason(self) -> &'static str {
        match self {
            ImpersonationError::ReasonRequired => "reason_required",
            ImpersonationError::NotFound => "user_not_found",
            ImpersonationError::SelfTarget => "admin_self_action",
            ImpersonationError::TargetIsAdmin => "cannot_impersonate_admin",
            ImpersonationError::Nested => "impersonation_forbidden",
            ImpersonationError::NotYourMember => "organization_role_required",
        }
    }

    /// The English sentence a page or JSON client shows.
    pub const fn message(self) -> &'static str {
        match self {
            ImpersonationError::ReasonRequired => {
                "Say why you act as this account (a ticket number, a support request)."
            }
            ImpersonationError::NotFound => "There is no such account.",
            ImpersonationError::SelfTarget => "You cannot do that to your own account.",
            ImpersonationError::TargetIsAdmin => "Admins cannot be impersonated.",
            ImpersonationError::Nested => "Stop acting as this account first.",
            ImpersonationError::NotYourMember => {
                "You may act only as a member of your organization with a lower role."
            }
        }
    }
}

/// Who is acting as whom, for banners and the `Impersonation` guard.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Acting {
    /// The admin.
    pub impersonator_id: Uuid,
    /// The account acted as.
    pub user_id: Uuid,
    /// Its email.
    pub email: String,
    /// The reason given.
    pub reason: String,
    /// The organization an organization admin acts through, if any.
    pub organization_id: Option<Uuid>,
    /// When it ends at the latest.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// The impersonation a session is, if it is one.
pub fn acting(found: &Authenticated) -> Option<Acting> {
    let s = &found.session;
    Some(Acting {
        impersonator_id: s.impersonator_id?,
        user_id: found.user.id,
        email: found.user.email.clone(),
        reason: s.impersonation_reason.clone().unwrap_or_default(),
        organization_id: s.impersonation_organization_id,
        expires_at: s.expires_at,
    })
}

/// Begins acting as account `target` for `admin`, a platform admin's full session with
/// sudo. Answers the impersonation session's credentials.
pub async fn start(
    auth: &Auth,
    admin: &Authenticated,
    target: Uuid,
    reason: &str,
    meta: &RequestMeta,
) -> Result<Result<IssuedSession, ImpersonationError>, FlowError> {
    match checked(auth, admin, target, reason, meta).await? {
        Ok(checked) => begin(auth, admin, checked, None).await.map(Ok),
        Err(e) => Ok(Err(e)),
    }
}

/// Begins acting as account `target` for an organization admin, through `membership`
/// (theirs, of the organization they act through; `sigra.admin.org_impersonation`).
/// Answers the impersonation session's credentials.
#[cfg(feature = "organizations")]
pub async fn start_through(
    auth: &Auth,
    admin: &Authenticated,
    target: Uuid,
    reason: &str,
    membership: &Membership,
    meta: &RequestMeta,
) -> Result<Result<IssuedSession, ImpersonationError>, FlowError> {
    let checked = match checked(auth, admin, target, reason, meta).await? {
        Ok(checked) => checked,
        Err(e) => return Ok(Err(e)),
    };
    let theirs = Membership::of(auth, target, membership.slug()).await?;
    let allowed = auth.config.admin.org_impersonation
        && membership.role() >= Role::Admin
        && theirs.is_some_and(|m| m.role() < membership.role());
    if !allowed {
        return Ok(Err(ImpersonationError::NotYourMember));
    }
    begin(auth, admin, checked, Some(membership.org_id()))
        .await
        .map(Ok)
}

/// An impersonation whose guardrails passed: its change (the account was read in it),
/// the account and the reason.
struct Checked<'a> {
    change: Change<'a>,
    user: User,
    reason: String,
}

/// The guardrails every impersonation passes, in order.
async fn checked<'a>(
    auth: &'a Auth,
    admin: &Authenticated,
    target: Uuid,
    reason: &str,
    meta: &'a RequestMeta,
) -> Result<Result<Checked<'a>, ImpersonationError>, FlowError> {
    let reason = reason.trim();
    if admin.session.impersonator_id.is_some() {
        return Ok(Err(ImpersonationError::Nested));
    }
    if reason.is_empty() {
        return Ok(Err(ImpersonationError::ReasonRequired));
    }
    let reason: String = reason.chars().take(MAX_REASON_CHARS).collect();
    if target == admin.user.id {
        return Ok(Err(ImpersonationError::SelfTarget));
    }
    let change = auth.change(meta).await?;
    let user = match users::find_by_id(change.tx(), target).await? {
        Some(u) if u.deleted_at.is_none() && !u.barred() => u,
        _ => return Ok(Err(ImpersonationError::NotFound)),
    };
    if user.is_admin {
        return Ok(Err(ImpersonationError::TargetIsAdmin));
    }
    Ok(Ok(Checked {
        change,
        user,
        reason,
    }))
}

/// Creates the impersonation session (in `organization_id`, when an organization admin
/// acts) and records it.
async fn begin(
    auth: &Auth,
    admin: &Authenticated,
    checked: Checked<'_>,
    organization_id: Option<Uuid>,
) -> Result<IssuedSession, FlowError> {
    let Checked {
        change,
        user,
        reason,
    } = checked;
    let meta = change.meta();
    let now = auth.clock.now();
    let minutes = auth.config.admin.impersonation_minutes;
    let expires_at = now + Duration::minutes(minutes);
    let token = Token::generate()?;
    let session = sessions::insert(
        change.tx(),
        &sessions::NewSession {
            id: new_id(auth.clock.as_ref()),
            user_id: user.id,
            hash: &token.hash(),
            created_at: now,
            expires_at,
            remember_me: false,
            sudo_at: None,
            mfa_at: Some(now),
            ip: meta.ip.as_deref(),
            user_agent: meta.user_agent.as_deref(),
            impersonator_id: Some(admin.user.id),
            impersonation_organization_id: organization_id,
            impersonation_reason: Some(&reason),
        },
    )
    .await?;
    let details = json!({
        "reason": reason,
        "session_id": session.id,
        "expires_at": expires_at.unix_timestamp(),
    });
    let (actor, target) = (Some(admin.user.id), Some(user.id));
    match organization_id {
        Some(org) => {
            change
                .audit_in(org, audit::IMPERSONATION_STARTED, actor, target, details)
                .await?
        }
        None => {
            change
                .audit_by(audit::IMPERSONATION_STARTED, actor, target, details)
                .await?
        }
    }
    change.commit(Revocation::None).await?;
    Ok(IssuedSession {
        token,
        remember_token: None,
        remember_expires_at: None,
        session,
    })
}

/// How an impersonation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ending {
    /// The admin stopped it.
    Stopped,
    /// Its time ran out.
    Expired,
}

impl Ending {
    const fn as_str(self) -> &'static str {
        match self {
            Ending::Stopped => "stopped",
            Ending::Expired => "expired",
        }
    }
}

/// Ends the impersonation `current` is (the admin's stop). Answers whether it was one.
pub async fn stop(
    auth: &Auth,
    current: &Authenticated,
    meta: &RequestMeta,
) -> Result<bool, FlowError> {
    if current.session.impersonator_id.is_none() {
        return Ok(false);
    }
    finish(auth, &current.session, &current.user, Ending::Stopped, meta).await?;
    Ok(true)
}

/// Ends impersonation session `session` of `user`: deletes it (of concurrent finishers
/// one does the rest), records `impersonation.ended` and mails the user.
pub async fn finish(
    auth: &Auth,
    session: &Session,
    user: &User,
    how: Ending,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    let Some(impersonator) = session.impersonator_id else {
        return Ok(());
    };
    let meta = RequestMeta {
        impersonator_id: Some(impersonator),
        ..meta.clone()
    };
    let now = auth.clock.now();
    let mut change = auth.change(&meta).await?;
    if sessions::delete(change.tx(), user.id, session.id).await? != 1 {
        change.rollback().await?;
        return Ok(());
    }
    let ended = match how {
        Ending::Stopped => now.min(session.expires_at),
        Ending::Expired => session.expires_at,
    };
    let details = json!({ "how": how.as_str(), "session_id": session.id });
    let (actor, target) = (Some(impersonator), Some(user.id));
    match session.impersonation_organization_id {
        Some(org) => {
            change
                .audit_in(org, audit::IMPERSONATION_ENDED, actor, target, details)
                .await?
        }
        None => {
            change
                .audit_by(audit::IMPERSONATION_ENDED, actor, target, details)
                .await?
        }
    }
    if auth.config.admin.notify_impersonated && user.deleted_at.is_none() {
        let data = json!({
            "reason": session.impersonation_reason.clone().unwrap_or_default(),
            "started": human_time(session.created_at),
            "ended": human_time(ended),
        });
        change
            .mail("impersonation_ended", &user.email, data)
            .await?;
    }
    change.commit(Revocation::EndSessions).await
}

/// The admin's own session back after an impersonation: `admin_cookie` (the session
/// cookie kept aside when it began) gets a new token, when it is still a live session
/// that is not an impersonation. Answers the new cookie value.
pub async fn resume(
    auth: &Auth,
    admin_cookie: &str,
    meta: &RequestMeta,
) -> Result<Option<Token>, FlowError> {
    let Some(found) = super::sessions::authenticate(auth, admin_cookie).await? else {
        return Ok(None);
    };
    if found.session.impersonator_id.is_some() {
        return Ok(None);
    }
    let change = auth.change(meta).await?;
    let token = super::sessions::rotate_token(
        change.tx(),
        &found.session,
        found.session.sudo_at,
        found.session.mfa_at,
    )
    .await?;
    change.commit(Revocation::RefreshCache).await?;
    Ok(Some(token))
}

/// How many expired impersonations one sweep ends at most.
const SWEEP_BATCH: u64 = 100;

/// Ends every impersonation past its expiry (for admins who never came back to stop).
/// Answers how many.
pub async fn end_expired(auth: &Auth) -> Result<usize, FlowError> {
    let now = auth.clock.now();
    let expired = sessions::expired_impersonations(&auth.db, now, SWEEP_BATCH).await?;
    let meta = RequestMeta::default();
    for (session, user) in &expired {
        finish(auth, session, user, Ending::Expired, &meta).await?;
    }
    Ok(expired.len())
}

/// Ends expired impersonations on every run of the background worker.
#[derive(Debug)]
pub struct ImpersonationSweep(pub Auth);

impl crate::jobs::Sweep for ImpersonationSweep {
    fn name(&self) -> &'static str {
        "impersonation_expiry"
    }

    fn run(&self) -> crate::jobs::SweepFuture<'_> {
        Box::pin(async move { end_expired(&self.0).await.map_err(|e| e.to_string()) })
    }

    fn counted(&self) -> bool {
        false
    }
}
