//! Account lockout: after `max_failed` wrong passwords (5) the account is locked for
//! `lock_secs` (15 minutes), twice as long on each repeat, and an unlock link is mailed.
//!
//! The state lives in the users table, so every app instance sees it. While locked, a
//! log-in answers exactly like a wrong password (same page, same work), so a lock tells
//! an attempt nothing about the account. Password reset and magic links still work.
//!
//! Every password check of a known account counts: log-in, sudo, change password and
//! change email all go through `check`. Algorithm: the attempt is counted first, by a
//! conditional update (`failed_login_count + 1` only while unlocked and below the
//! limit), and only an attempt that got counted is judged; its transaction then holds
//! the row, so the lock decision reads this attempt's own count. Concurrent attempts on
//! any number of instances therefore judge at most `max_failed` passwords per lock.
//! Trade-off: a right password briefly counts until the same transaction clears it, and
//! a check that fails after counting (the database goes away) stays counted. Failure
//! mode: the limit errs towards refusing, never towards an extra guess.

use serde_json::json;
use time::Duration;

use super::{Auth, Change, FlowError, RequestMeta, Revocation, audit};
use crate::crypto::TokenKind;
use crate::store::{User, users};

/// Locks never grow past this many doublings (15 min · 2⁶ = 16 h with the defaults).
const MAX_DOUBLINGS: i32 = 6;

/// Whether the account is locked now.
pub fn is_locked(auth: &Auth, user: &User) -> bool {
    user.locked_until
        .is_some_and(|until| auth.clock.now() < until)
}

/// How long the next lock of `user` lasts.
pub fn next_lock_duration(auth: &Auth, user: &User) -> Duration {
    let doublings = user.lock_count.clamp(0, MAX_DOUBLINGS);
    Duration::seconds(auth.config.lockout.lock_secs) * (1_i32 << doublings)
}

/// How a counted password check ended.
#[derive(Debug)]
pub(crate) enum Checked {
    /// The right password, counted and cleared: go on with this (fresh) row.
    Right(Box<User>),
    /// A wrong password, counted (and the account locked if it reached the limit).
    Wrong,
    /// Not judged: the account is locked or out of attempts. Answer like `Wrong`.
    Locked,
}

/// Counts a password check on `user_id` first, with `change`, then judges it by `valid`
/// (the verification, done before and outside the transaction): a wrong password that
/// reaches the limit locks the account and queues the unlock mail.
pub(crate) async fn check(
    auth: &Auth,
    change: &mut Change<'_>,
    user_id: uuid::Uuid,
    valid: bool,
) -> Result<Checked, FlowError> {
    let now = auth.clock.now();
    let max = auth.config.lockout.max_failed;
    let Some(user) = users::count_password_attempt(change.tx(), user_id, max, now).await? else {
        // Out of tries but unlocked (the limit was lowered since): lock now, once.
        if let Some(user) = users::find_by_id(change.tx(), user_id).await?
            && user.failed_login_count >= max
            && !is_locked(auth, &user)
        {
            lock(auth, change, &user).await?;
        }
        return Ok(Checked::Locked);
    };
    if valid {
        users::reset_failed_logins(change.tx(), user.id).await?;
        return Ok(Checked::Right(Box::new(user)));
    }
    if user.failed_login_count >= max {
        lock(auth, change, &user).await?;
    }
    Ok(Checked::Wrong)
}

/// Locks `user` (its row as counted in `change`'s transaction) if it is out of tries and
/// unlocked, and then queues the unlock mail.
async fn lock(auth: &Auth, change: &mut Change<'_>, user: &User) -> Result<(), FlowError> {
    let now = auth.clock.now();
    let until = now + next_lock_duration(auth, user);
    let max = auth.config.lockout.max_failed;
    if users::lock(change.tx(), user.id, until, max, now).await? != 1 {
        return Ok(());
    }
    // API keys of a locked account are refused: caches must forget them.
    change.require(Revocation::RefreshCache);
    let ttl = TokenKind::Unlock.default_ttl().whole_seconds();
    let token = auth
        .emailed_token(change.tx(), user.id, TokenKind::Unlock, &user.email, ttl)
        .await?;
    let path = format!("/unlock/{}", token.as_str());
    change
        .mail_link("unlock", &user.email, ttl, &path, json!({}))
        .await?;
    let details = json!({ "until": until.unix_timestamp(), "lock_count": user.lock_count + 1 });
    change
        .audit_by(audit::LOCKOUT, None, Some(user.id), details)
        .await
}

/// How following an unlock link ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnlockOutcome {
    /// The account is unlocked and its failed attempts forgotten.
    Unlocked,
    /// The link is unknown, used or expired.
    InvalidLink,
}

impl UnlockOutcome {
    /// A stable machine-readable reason for a failure; `None` for success.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            UnlockOutcome::Unlocked => None,
            UnlockOutcome::InvalidLink => Some("invalid_link"),
        }
    }
}

/// Unlocks the account an unlock link was mailed for.
pub async fn unlock(
    auth: &Auth,
    token: &str,
    meta: &RequestMeta,
) -> Result<UnlockOutcome, FlowError> {
    let change = auth.change(meta).await?;
    let Some(used) = change.use_link(TokenKind::Unlock, token).await? else {
        return Ok(UnlockOutcome::InvalidLink);
    };
    users::unlock(change.tx(), used.user_id, false).await?;
    change.audit(audit::UNLOCK, used.user_id, json!({})).await?;
    change.commit(Revocation::None).await?;
    Ok(UnlockOutcome::Unlocked)
}
