//! The second factor: an authenticator app (TOTP, RFC 6238), backup codes as the fallback
//! (see [`super::backup_codes`]), and "trust this browser".
//!
//! Partial authentication. When an account has the second factor on, every log-in method
//! (password, magic link, a remember-me cookie) ends in a session that is only partially
//! authenticated: [`Authenticated::mfa_pending`] is true until [`verify`] accepts a code,
//! or the browser holds a valid trusted-browser cookie (see [`super::trusted_browser`]). The web layer's guards refuse
//! such a session everywhere but the challenge page and log-out.
//!
//! Codes: SHA-1, 6 digits, 30-second steps, one step of drift either way. A step is
//! accepted once per account: accepting it is a conditional update of the last accepted
//! step, so a code replayed on another instance is refused too. `sigra.mfa.max_failed`
//! wrong codes (5) refuse codes for `sigra.mfa.lock_secs` (15 minutes) and mail the user.
//! Each code is counted before it is judged (a conditional update that fails while locked
//! or out of tries), so concurrent guesses never get more than the limit.
//!
//! The secret is sealed with the field cipher (AES-256-GCM, bound to the account).

use std::fmt::Write as _;

use serde_json::json;
use time::{Duration, OffsetDateTime};
use totp_rs::{Builder, Totp};

use super::sessions::Authenticated;
use super::{Auth, FlowError, RequestMeta, audit, backup_codes, human_time, trusted_browser};
use crate::crypto::{Token, random_bytes};
use crate::secret::SecretString;
use crate::store::{Executor, User, mfa, sessions};

/// Bytes of a new authenticator secret (160 bits, as RFC 4226 recommends).
const SECRET_BYTES: usize = 20;

/// What the enrollment page shows. `Debug` shows none of it.
pub struct Enrollment {
    /// The secret in base32, to type into an authenticator app.
    pub secret: SecretString,
    /// The `otpauth://totp/…` URI (what the QR code holds).
    pub otpauth_uri: SecretString,
    /// The QR code of the URI as an inline SVG element (no external image, so the page
    /// keeps its strict CSP).
    pub qr_svg: String,
}

impl std::fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrollment { .. }")
    }
}

fn totp(secret: &[u8]) -> Result<Totp, FlowError> {
    Builder::new()
        .with_secret(secret.to_vec())
        .build()
        .map_err(|_| FlowError::TotpSecret)
}

fn aad(user: &User) -> Vec<u8> {
    [b"sigra/mfa_totp\0".as_slice(), user.id.as_bytes()].concat()
}

fn unix(t: OffsetDateTime) -> u64 {
    u64::try_from(t.unix_timestamp()).unwrap_or(0)
}

/// Percent-encodes all but RFC 3986's unreserved characters.
fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The `otpauth://` URI authenticator apps read (Key Uri Format).
fn otpauth_uri(issuer: &str, account: &str, secret_base32: &str) -> String {
    let issuer = encode_component(issuer);
    format!(
        "otpauth://totp/{issuer}:{}?secret={secret_base32}&issuer={issuer}&algorithm=SHA1&digits=6&period=30",
        encode_component(account)
    )
}

/// A QR code of `text` as an SVG element: one path of dark modules on a white square
/// with a four-module quiet zone.
fn qr_svg(text: &str) -> String {
    use qrcodegen::{QrCode, QrCodeEcc};
    let Ok(qr) = QrCode::encode_text(text, QrCodeEcc::Medium) else {
        return String::new();
    };
    let border = 4;
    let size = qr.size() + 2 * border;
    let mut path = String::new();
    for y in 0..qr.size() {
        for x in 0..qr.size() {
            if qr.get_module(x, y) {
                let _ = write!(path, "M{},{}h1v1h-1z", x + border, y + border);
            }
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" class=\"qr\" role=\"img\" aria-label=\"QR code for your authenticator app\" shape-rendering=\"crispEdges\"><rect width=\"{size}\" height=\"{size}\" fill=\"#ffffff\"/><path d=\"{path}\" fill=\"#000000\"/></svg>"
    )
}

fn enrollment(auth: &Auth, user: &User, secret: &[u8]) -> Enrollment {
    let base32 = totp_rs::Secret::from(secret.to_vec()).to_base32();
    let issuer = auth
        .config
        .mfa
        .issuer
        .clone()
        .unwrap_or_else(|| auth.config.app_name.clone());
    let uri = otpauth_uri(&issuer, &user.email, &base32);
    Enrollment {
        qr_svg: qr_svg(&uri),
        secret: SecretString::new(base32),
        otpauth_uri: SecretString::new(uri),
    }
}

/// Starts (or restarts) enrollment with a fresh secret, stored sealed and pending until
/// [`confirm_enrollment`]. `None` when the second factor is already on.
///
/// ```no_run
/// # async fn demo(auth: &sigra_core::features::Auth, me: &sigra_core::features::sessions::Authenticated) -> Result<(), sigra_core::features::FlowError> {
/// use sigra_core::features::mfa_totp;
/// if let Some(enrollment) = mfa_totp::start_enrollment(auth, me).await? {
///     println!("scan {}", enrollment.otpauth_uri.expose());
/// }
/// # Ok(()) }
/// ```
pub async fn start_enrollment(
    auth: &Auth,
    current: &Authenticated,
) -> Result<Option<Enrollment>, FlowError> {
    let user = &current.user;
    if user.mfa_enabled_at.is_some() {
        return Ok(None);
    }
    let secret: [u8; SECRET_BYTES] = random_bytes()?;
    let sealed = auth.cipher.encrypt(&secret, &aad(user))?;
    if mfa::put_pending_totp(&auth.db, user.id, &sealed, auth.clock.now()).await? == 0 {
        return Ok(None);
    }
    Ok(Some(enrollment(auth, user, &secret)))
}

/// The enrollment started last and not confirmed yet, if any (to show the same secret
/// again after a wrong code).
pub async fn pending_enrollment(
    auth: &Auth,
    current: &Authenticated,
) -> Result<Option<Enrollment>, FlowError> {
    let user = &current.user;
    let Some(row) = mfa::find_totp(&auth.db, user.id).await? else {
        return Ok(None);
    };
    if row.confirmed_at.is_some() {
        return Ok(None);
    }
    let secret = auth.cipher.decrypt(&row.secret, &aad(user))?;
    Ok(Some(enrollment(auth, user, &secret)))
}

/// How confirming an enrollment ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum EnrollmentOutcome {
    /// The second factor is on. The current session passed it and has a new token;
    /// show the backup codes once.
    Enabled {
        /// The current session's new cookie value.
        session_token: Token,
        /// The backup codes, to show once.
        backup_codes: Vec<SecretString>,
    },
    /// The code does not match the pending secret.
    InvalidCode,
    /// No enrollment is pending (already on, or never started).
    NotPending,
}

/// Turns the second factor on once the user proves their app works by entering a valid
/// code. Other sessions of the account must pass the second factor before they count
/// again. Mails the user.
pub async fn confirm_enrollment(
    auth: &Auth,
    current: &Authenticated,
    code: &str,
    meta: &RequestMeta,
) -> Result<EnrollmentOutcome, FlowError> {
    let user = &current.user;
    let Some(row) = mfa::find_totp(&auth.db, user.id).await? else {
        return Ok(EnrollmentOutcome::NotPending);
    };
    if row.confirmed_at.is_some() {
        return Ok(EnrollmentOutcome::NotPending);
    }
    let now = auth.clock.now();
    let secret = auth.cipher.decrypt(&row.secret, &aad(user))?;
    let code = backup_codes::normalize(code);
    let Some(step) = totp(&secret)?.check(&code, unix(now)) else {
        return Ok(EnrollmentOutcome::InvalidCode);
    };
    let tx = auth.db.begin().await?;
    if mfa::confirm_totp(&tx, user.id, i64::try_from(step).unwrap_or(i64::MAX), now).await? != 1 {
        tx.rollback().await?;
        return Ok(EnrollmentOutcome::NotPending);
    }
    mfa::set_enabled(&tx, user.id, Some(now), now).await?;
    let backup_codes = backup_codes::replace(auth, &tx, user.id).await?;
    let session_token = Token::generate()?;
    sessions::rotate(
        &tx,
        current.session.id,
        &session_token.hash(),
        None,
        Some(now),
    )
    .await?;
    auth.queue_mail(&tx, "mfa_enabled", &user.email, json!({}))
        .await?;
    auth.audit(
        &tx,
        audit::MFA_ENABLED,
        Some(user.id),
        Some(user.id),
        json!({}),
        meta,
    )
    .await?;
    tx.commit().await?;
    auth.wake_worker();
    // Other sessions now owe the second factor: no instance may keep accepting them.
    auth.sessions_revoked().await;
    Ok(EnrollmentOutcome::Enabled {
        session_token,
        backup_codes,
    })
}

/// Turns the second factor off (the web layer asks for sudo first): the authenticator
/// secret and backup codes are deleted and trusted browsers forgotten. Mails the user.
/// Answers whether it was on.
///
/// ```no_run
/// # async fn demo(auth: &sigra_core::features::Auth, me: &sigra_core::features::sessions::Authenticated) -> Result<(), sigra_core::features::FlowError> {
/// use sigra_core::features::{RequestMeta, mfa_totp};
/// let was_on = mfa_totp::disable(auth, me, &RequestMeta::default()).await?;
/// # Ok(()) }
/// ```
pub async fn disable(
    auth: &Auth,
    current: &Authenticated,
    meta: &RequestMeta,
) -> Result<bool, FlowError> {
    let user = &current.user;
    if user.mfa_enabled_at.is_none() {
        return Ok(false);
    }
    let now = auth.clock.now();
    let tx = auth.db.begin().await?;
    mfa::delete_all(&tx, user.id).await?;
    mfa::set_enabled(&tx, user.id, None, now).await?;
    auth.queue_mail(&tx, "mfa_disabled", &user.email, json!({}))
        .await?;
    auth.audit(
        &tx,
        audit::MFA_DISABLED,
        Some(user.id),
        Some(user.id),
        json!({}),
        meta,
    )
    .await?;
    tx.commit().await?;
    auth.wake_worker();
    auth.sessions_revoked().await;
    Ok(true)
}

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
/// use sigra_core::features::{RequestMeta, mfa_totp};
/// match mfa_totp::verify(auth, partial, "123456", false, &RequestMeta::default()).await? {
///     mfa_totp::ChallengeOutcome::Verified(v) => { /* set v.session_token as the cookie */ }
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
    let tx = auth.db.begin().await?;
    // Counted first, then judged: the conditional count admits at most `max_failed`
    // codes per lock, however many arrive at once on however many instances.
    let Some(row) = mfa::count_attempt(&tx, user.id, max, now).await? else {
        let row = mfa::find_totp(&tx, user.id).await?;
        let outcome = match row.as_ref().map(|r| (r.locked_until, r.failed_count)) {
            None => ChallengeOutcome::NotRequired,
            Some((Some(until), _)) if now < until => ChallengeOutcome::Locked { until },
            // Out of tries but unlocked (the limit was lowered since): lock now, once.
            Some(_) => match lock_codes(auth, &tx, user, meta).await? {
                Some(until) => ChallengeOutcome::Locked { until },
                None => ChallengeOutcome::Invalid,
            },
        };
        tx.commit().await?;
        auth.wake_worker();
        return Ok(outcome);
    };
    let code = backup_codes::normalize(code);
    let method = if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        let secret = auth.cipher.decrypt(&row.secret, &aad(user))?;
        match totp(&secret)?.check(&code, unix(now)) {
            Some(step) => {
                let step = i64::try_from(step).unwrap_or(i64::MAX);
                (mfa::accept_step(&tx, user.id, step, now).await? == 1).then_some("totp")
            }
            None => None,
        }
    } else if backup_codes::looks_like_code(&code) {
        backup_codes::consume(auth, &tx, user.id, &code)
            .await?
            .then_some("backup_code")
    } else {
        None
    };

    let Some(method) = method else {
        // This attempt's count stays; reaching the limit locks.
        let locked = if row.failed_count >= max {
            lock_codes(auth, &tx, user, meta).await?
        } else {
            None
        };
        let outcome = match locked {
            Some(until) => ChallengeOutcome::Locked { until },
            None => ChallengeOutcome::Invalid,
        };
        auth.audit(
            &tx,
            audit::MFA_FAILURE,
            None,
            Some(user.id),
            json!({}),
            meta,
        )
        .await?;
        tx.commit().await?;
        auth.wake_worker();
        return Ok(outcome);
    };

    mfa::reset_failures(&tx, user.id).await?;
    let session_token = Token::generate()?;
    sessions::rotate(
        &tx,
        current.session.id,
        &session_token.hash(),
        None,
        Some(now),
    )
    .await?;
    let backup_codes_left = if method == "backup_code" {
        let left = mfa::unused_backup_codes(&tx, user.id).await?;
        let context = json!({ "remaining": left });
        auth.queue_mail(&tx, "backup_code_used", &user.email, context)
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
    auth.audit(
        &tx,
        audit::MFA_SUCCESS,
        Some(user.id),
        Some(user.id),
        details,
        meta,
    )
    .await?;
    tx.commit().await?;
    auth.wake_worker();
    auth.session_cache.clear();
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
    tx: &impl Executor,
    user: &User,
    meta: &RequestMeta,
) -> Result<Option<OffsetDateTime>, FlowError> {
    let now = auth.clock.now();
    let until = now + Duration::seconds(auth.config.mfa.lock_secs);
    if mfa::lock(tx, user.id, until, auth.config.mfa.max_failed, now).await? != 1 {
        return Ok(None);
    }
    let context = json!({ "until": human_time(until) });
    auth.queue_mail(tx, "mfa_locked", &user.email, context)
        .await?;
    auth.audit(tx, audit::MFA_LOCKED, None, Some(user.id), json!({}), meta)
        .await?;
    Ok(Some(until))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows, with 8 digits as there; Sigra's codes are the
    /// last 6 digits of the same values.
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        let eight = Builder::new()
            .with_secret(secret.to_vec())
            .with_digits(8)
            .build()
            .unwrap();
        let six = totp(secret).unwrap();
        for (time, expected) in [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(eight.generate(time).to_string(), expected, "t = {time}");
            assert_eq!(six.generate(time).to_string(), expected[2..], "t = {time}");
        }
    }

    #[test]
    fn one_step_of_drift_either_way_and_no_more() {
        let six = totp(b"12345678901234567890").unwrap();
        let now = 1_234_567_890u64;
        let step = now / 30;
        for (offset, accepted) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
            let at = (step as i64 + offset) as u64 * 30;
            let code = six.generate(at).to_string();
            assert_eq!(six.check(&code, now).is_some(), accepted, "offset {offset}");
            if accepted {
                assert_eq!(six.check(&code, now), Some((step as i64 + offset) as u64));
            }
        }
    }

    #[test]
    fn otpauth_uri_and_qr() {
        let uri = otpauth_uri("Acme Inc", "ada@example.com", "JBSWY3DPEHPK3PXP");
        assert_eq!(
            uri,
            "otpauth://totp/Acme%20Inc:ada%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Acme%20Inc&algorithm=SHA1&digits=6&period=30"
        );
        let svg = qr_svg(&uri);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(!svg.contains("style=") && !svg.contains("<script") && !svg.contains("href"));
    }
}
