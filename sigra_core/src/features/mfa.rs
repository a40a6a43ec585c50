//! The second-factor challenge: after the first factor (password, magic link, a
//! remember-me cookie), an account with a second factor proves it with an authenticator
//! code (see [`super::mfa_totp`]) or a backup code (see [`super::backup_codes`]); config
//! section `sigra.mfa`.
//!
//! Partial authentication. When an account has the second factor on, every log-in method
//! ends in a session that is only partially authenticated:
//! [`Authenticated::mfa_pending`] is true until [`verify`] accepts a code, or the browser
//! holds a valid trusted-browser cookie (see [`super::trusted_browser`]). The web layer's
//! guards refuse such a session everywhere but the challenge page and log-out.
//!
//! Algorithm. A TOTP step is accepted once per account: accepting it is a conditional
//! update of the last accepted step, so a code replayed on another instance is refused
//! too. Each code is counted before it is judged (a conditional update that fails while
//! locked or out of tries), so concurrent guesses never get more than
//! `sigra.mfa.max_failed` (5); reaching it refuses codes for `sigra.mfa.lock_secs` (15
//! minutes) and mails the user. Trade-off: the lock also stops the account's owner, who
//! can still use a trusted browser or wait. Failure mode: a count that cannot be written
//! fails the challenge; it never judges an uncounted code.

use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::mfa_totp::{aad, totp, unix};
use super::sessions::{Authenticated, rotate_token};
use super::trusted_browser;
use super::{Auth, Change, FlowError, RequestMeta, Revocation, audit, backup_codes, human_time};
use crate::crypto::Token;
use crate::secret::SecretString;
use crate::store::{User, mfa};

/// A session that passed the second factor.
#[derive(Debug)]
pub struct Verified {
    /// The session's new cookie value.
    pub session_token: Token,
    /// A trusted-browser cookie value, when asked for.
    pub trusted_browser: Option<SecretString>,
    /// Whether a backup code was used (and how many are left).
    pub backup_codes_left: Option<i64>,
}

/// How a second-factor challenge ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum ChallengeOutcome {
    /// Passed: set the new session cookie (and the trusted-browser cookie).
    Verified(Box<Verified>),
    /// Wrong, replayed or used-up code.
    Invalid,
    /// Too many wrong codes: none is accepted until then.
    Locked {
        /// When codes are accepted again.
        until: OffsetDateTime,
    },
    /// This session owes no second factor.
    NotRequired,
}

/// Checks a code from the challenge page: an authenticator code (6 digits) or a backup
/// code. `trust_browser` asks for a cookie that skips the step on this browser for
/// `sigra.mfa.trust_browser_days`.
///
/// ```no_run
/// # async fn demo(auth: &sigra_core::features::Auth, partial: &sigra_core::features::sessions::Authenticated) -> Result<(), sigra_core::features::FlowError> {
/// use sigra_core::features::{RequestMeta, mfa};
/// match mfa::verify(auth, partial, "123456", false, &RequestMeta::default()).await? {
///     mfa::ChallengeOutcome::Verified(v) => { /* set v.session_token as the cookie */ }
///     _ => { /* show the form again */ }
/// }
/// # Ok(()) }
/// ```
pub async fn verify(
    auth: &Auth,
    current: &Authenticated,
    code: &str,
    trust_browser: bool,
    meta: &RequestMeta,
) -> Result<ChallengeOutcome, FlowError> {
    let user = &current.user;
    if !current.mfa_pending() {
        return Ok(ChallengeOutcome::NotRequired);
    }
    let now = auth.clock.now();
    let max = auth.config.mfa.max_failed;
    let mut change = auth.change(meta).await?;
    let tx = change.tx();
    // Counted first, then judged: the conditional count admits at most `max_failed`
    // codes per lock, however many arrive at once on however many instances.
    let Some(row) = mfa::count_attempt(tx, user.id, max, now).await? else {
        let row = mfa::find_totp(tx, user.id).await?;
        let outcome = match row.as_ref().map(|r| (r.locked_until, r.failed_count)) {
            None => ChallengeOutcome::NotRequired,
            Some((Some(until), _)) if now < until => ChallengeOutcome::Locked { until },
            // Out of tries but unlocked (the limit was lowered since): lock now, once.
            Some(_) => match lock_codes(auth, &mut change, user).await? {
                Some(until) => ChallengeOutcome::Locked { until },
                None => ChallengeOutcome::Invalid,
            },
        };
        change.commit(Revocation::None).await?;
        return Ok(outcome);
    };
    let code = backup_codes::normalize(code);
    let method = if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        let secret = auth.cipher.decrypt(&row.secret, &aad(user))?;
        match totp(&secret)?.check(&code, unix(now)) {
            Some(step) => {
                let step = i64::try_from(step).unwrap_or(i64::MAX);
                (mfa::accept_step(tx, user.id, step, now).await? == 1).then_some("totp")
            }
            None => None,
        }
    } else if backup_codes::looks_like_code(&code) {
        backup_codes::consume(auth, tx, user.id, &code)
            .await?
            .then_some("backup_code")
    } else {
        None
    };

    let Some(method) = method else {
        // This attempt's count stays; reaching the limit locks.
        let locked = if row.failed_count >= max {
            lock_codes(auth, &mut change, user).await?
        } else {
            None
        };
        let outcome = match locked {
            Some(until) => ChallengeOutcome::Locked { until },
            None => ChallengeOutcome::Invalid,
        };
        change
            .audit_by(audit::MFA_FAILURE, None, Some(user.id), json!({}))
            .await?;
        change.commit(Revocation::None).await?;
        return Ok(outcome);
    };

    mfa::reset_failures(tx, user.id).await?;
    let session_token = rotate_token(tx, &current.session, None, Some(now)).await?;
    let backup_codes_left = if method == "backup_code" {
        let left = mfa::unused_backup_codes(tx, user.id).await?;
        let context = json!({ "remaining": left });
        change
            .mail("backup_code_used", &user.email, context)
            .await?;
        Some(left)
    } else {
        None
    };
    let trusted_browser = if trust_browser && auth.config.mfa.trust_browser_days > 0 {
        Some(trusted_browser::trust_cookie(auth, user))
    } else {
        None
    };
    let details = json!({ "method": method, "trusted_browser": trusted_browser.is_some() });
    change.audit(audit::MFA_SUCCESS, user.id, details).await?;
    change.commit(Revocation::RefreshCache).await?;
    Ok(ChallengeOutcome::Verified(Box::new(Verified {
        session_token,
        trusted_browser,
        backup_codes_left,
    })))
}

/// Refuses codes for `sigra.mfa.lock_secs` if the account is out of tries and not
/// locked yet (a conditional update: of racing callers one locks), mails the user.
/// Answers until when, if this call locked.
async fn lock_codes(
    auth: &Auth,
    change: &mut Change<'_>,
    user: &User,
) -> Result<Option<OffsetDateTime>, FlowError> {
    let now = auth.clock.now();
    let until = now + Duration::seconds(auth.config.mfa.lock_secs);
    let max = auth.config.mfa.max_failed;
    if mfa::lock(change.tx(), user.id, until, max, now).await? != 1 {
        return Ok(None);
    }
    let context = json!({ "until": human_time(until) });
    change.mail("mfa_locked", &user.email, context).await?;
    change
        .audit_by(audit::MFA_LOCKED, None, Some(user.id), json!({}))
        .await?;
    Ok(Some(until))
}
