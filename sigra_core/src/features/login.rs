//! Log-in with email and password, and the one place every log-in method finishes.
//!
//! Unknown emails are verified against a dummy hash so that they take as long as known
//! ones, and every failure answers the same [`LoginOutcome::InvalidCredentials`].
//! Successful log-ins upgrade old hashes (older Argon2 parameters, bcrypt) in place.
//! Password and magic-link log-ins both end in one internal step, where a second factor
//! will slot in: no method can skip it.

use serde_json::json;

use super::sessions::{self, Authenticated, IssuedSession};
use super::{Auth, Change, FlowError, RequestMeta, Revocation, audit, lockout, new_device};
use crate::secret::SecretString;
use crate::store::{User, normalize_email, users};

/// What the log-in form sent.
#[derive(Debug, Clone)]
pub struct LoginInput {
    /// Email as typed.
    pub email: String,
    /// Password as typed.
    pub password: SecretString,
    /// Keep the user logged in on this device.
    pub remember_me: bool,
    /// The browser's trusted-browser cookie, if any (skips the second factor when valid).
    pub trusted_browser: Option<SecretString>,
}

/// What a log-in carries besides the proof of the first factor.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Browser<'a> {
    /// Keep the user logged in on this device.
    pub remember_me: bool,
    /// The session the browser had before, ended by the log-in.
    pub previous: Option<&'a Authenticated>,
    /// The browser's trusted-browser cookie.
    pub trusted_browser: Option<&'a str>,
}

/// How a log-in attempt ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum LoginOutcome {
    /// Logged in: set these cookies.
    Success(Box<IssuedSession>),
    /// Wrong email or password (indistinguishable on purpose), or a dead magic link.
    InvalidCredentials,
    /// The first factor was proven; the account has a second factor, so the session is
    /// only partial until the challenge at `/users/mfa` is passed (see
    /// [`super::mfa`]). Set these cookies and show the challenge.
    MfaRequired(Box<IssuedSession>),
    /// Logged in to an account whose deletion is pending: the session may only cancel
    /// the deletion or log out (see [`super::deletion`]). Set these cookies and show the
    /// cancel page.
    DeletionScheduled {
        /// The new session.
        issued: Box<IssuedSession>,
        /// When the account will be deleted unless cancelled.
        delete_at: time::OffsetDateTime,
    },
    /// Right password, but `require_confirmation` is on and the email is unconfirmed.
    Unconfirmed {
        /// The address to confirm.
        email: String,
    },
}

/// Checks the credentials and starts a new session. `previous` is the session the
/// browser had before, if any: it is ended, so a log-in always yields a fresh token.
pub async fn log_in(
    auth: &Auth,
    input: &LoginInput,
    previous: Option<&Authenticated>,
    meta: &RequestMeta,
) -> Result<LoginOutcome, FlowError> {
    let email = normalize_email(&input.email);
    let user = users::find_by_email(&auth.db, &email).await?;
    let verification = auth
        .hasher
        .verify(
            &input.password,
            user.as_ref().and_then(|u| u.hashed_password()),
        )
        .await?;
    let now = auth.clock.now();

    // Counted first, then judged (see `lockout`). A locked account answers like a wrong
    // password, after the same work.
    let mut change = auth.change(meta).await?;
    let checked = match &user {
        Some(u) => lockout::check(auth, &mut change, u.id, verification.is_valid()).await?,
        None => lockout::Checked::Wrong,
    };
    let lockout::Checked::Right(user) = checked else {
        let locked = matches!(checked, lockout::Checked::Locked);
        let details = json!({ "email": auth.typed_email_for_audit(&email), "locked": locked });
        let target = user.map(|u| u.id);
        change
            .audit_by(audit::LOGIN_FAILURE, None, target, details)
            .await?;
        change.commit(Revocation::None).await?;
        return Ok(LoginOutcome::InvalidCredentials);
    };

    if let crate::crypto::Verification::Valid {
        rehash: Some(new_hash),
    } = verification
    {
        users::set_password_hash(change.tx(), user.id, Some(new_hash), now).await?;
    }
    let browser = Browser {
        remember_me: input.remember_me,
        previous,
        trusted_browser: input.trusted_browser.as_ref().map(SecretString::expose),
    };
    let action = audit::LOGIN_SUCCESS;
    let proof = Proof::default();
    complete(
        auth,
        change,
        &user,
        browser,
        action,
        Revocation::None,
        proof,
    )
    .await
}

/// How the first factor was proven, beyond the password or link itself.
#[derive(Debug, Default)]
pub(crate) struct Proof {
    /// The method that proved the second factor too (`"passkey"`: a passkey with user
    /// verification), if one did; the audit event's `mfa` names it.
    pub second_factor: Option<&'static str>,
    /// More facts for the audit event (a passkey's id).
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// Finishes a log-in whose first factor was proven (in `change`): checks confirmation,
/// ends the previous session, starts a new one (partial when a second factor is owed and
/// neither `proof` nor a trusted browser passed it), records `action`, commits with at
/// least `revocation` (with [`Revocation::EndSessions`] when a previous session ended).
pub(crate) async fn complete(
    auth: &Auth,
    mut change: Change<'_>,
    user: &User,
    browser: Browser<'_>,
    action: &str,
    revocation: Revocation,
    proof: Proof,
) -> Result<LoginOutcome, FlowError> {
    let Browser {
        remember_me,
        previous,
        trusted_browser,
    } = browser;
    if user.barred() {
        // Locked or banned by an admin: answered like a wrong password, whatever proved
        // the first factor.
        let details = json!({ "email": user.email, "barred": true, "via": action });
        change
            .audit_by(audit::LOGIN_FAILURE, None, Some(user.id), details)
            .await?;
        change.commit(revocation).await?;
        return Ok(LoginOutcome::InvalidCredentials);
    }
    if auth.config.require_confirmation && user.confirmed_at.is_none() {
        change.commit(revocation).await?;
        return Ok(LoginOutcome::Unconfirmed {
            email: user.email.clone(),
        });
    }
    users::unlock(change.tx(), user.id, true).await?;
    // An unconfirmed account may be a squatter's (pre-hijacking): no long-lived cookie.
    let remember_me = remember_me && user.confirmed_at.is_some();
    new_device::on_sign_in(auth, &mut change, user, trusted_browser).await?;
    let mut revocation = revocation;
    if let Some(previous) = previous {
        sessions::end(change.tx(), previous).await?;
        revocation = revocation.max(Revocation::EndSessions);
    }
    let mfa_at = match proof.second_factor {
        Some(_) => Some(auth.clock.now()),
        None => super::trusted_browser::passed_at_start(auth, user, trusted_browser),
    };
    let issued = sessions::issue(auth, &change, user.id, remember_me, true, mfa_at).await?;
    let mfa = match (user.mfa_enabled_at, mfa_at) {
        (None, _) => "none",
        (Some(_), None) => "pending",
        (Some(_), Some(_)) => proof.second_factor.unwrap_or("trusted_browser"),
    };
    let mut details = proof.details;
    details.insert("remember_me".into(), remember_me.into());
    details.insert("session_id".into(), json!(issued.session.id));
    details.insert("mfa".into(), mfa.into());
    change.audit(action, user.id, details).await?;
    change.commit(revocation).await?;
    if user.mfa_enabled_at.is_some() && mfa_at.is_none() {
        return Ok(LoginOutcome::MfaRequired(Box::new(issued)));
    }
    if let Some(delete_at) = user.deletion_scheduled_at {
        return Ok(LoginOutcome::DeletionScheduled {
            issued: Box::new(issued),
            delete_at,
        });
    }
    Ok(LoginOutcome::Success(Box::new(issued)))
}
