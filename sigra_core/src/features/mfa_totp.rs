//! The authenticator app (TOTP, RFC 6238) as a second factor: enrollment, and turning it
//! off. The challenge after the password, which accepts these codes, is [`super::mfa`].
//!
//! Algorithm: SHA-1, 6 digits, 30-second steps, one step of drift either way. Enrollment
//! stores a fresh 160-bit secret, sealed with the field cipher (AES-256-GCM, bound to the
//! account), pending until the user enters a valid code from it; then the second factor
//! is on, backup codes are issued (see [`super::backup_codes`]) and every other session
//! owes the challenge again. Trade-off: the secret must be readable by the server to
//! check codes, so it is sealed rather than hashed; losing the master secret (and its
//! `old_secret_keys`) makes it unusable. Failure mode: a secret that cannot be opened or
//! built fails the flow ([`FlowError::Cipher`], [`FlowError::TotpSecret`]) rather than
//! accepting any code.

use std::fmt::Write as _;

use serde_json::json;
use time::OffsetDateTime;
use totp_rs::{Builder, Totp};

use super::sessions::{Authenticated, rotate_token};
use super::{Auth, FlowError, RequestMeta, Revocation, audit, backup_codes};
use crate::crypto::{Token, random_bytes};
use crate::secret::SecretString;
use crate::store::{User, mfa};

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

pub(super) fn totp(secret: &[u8]) -> Result<Totp, FlowError> {
    Builder::new()
        .with_secret(secret.to_vec())
        .build()
        .map_err(|_| FlowError::TotpSecret)
}

pub(super) fn aad(user: &User) -> Vec<u8> {
    [b"sigra/mfa_totp\0".as_slice(), user.id.as_bytes()].concat()
}

pub(super) fn unix(t: OffsetDateTime) -> u64 {
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
/// [`confirm_enrollment`]. `None` when an authenticator app is already on.
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
    // An account whose second factor is a passkey may add an app (and so get backup
    // codes); one whose app is confirmed already gets `None` (the insert conflicts).
    let secret: [u8; SECRET_BYTES] = random_bytes()?;
    let sealed = auth.cipher.encrypt(&secret, &aad(user))?;
    if mfa::put_pending_totp(&auth.db, user.id, &sealed, auth.clock.now()).await? == 0 {
        return Ok(None);
    }
    Ok(Some(enrollment(auth, user, &secret)))
}

/// Whether the account has a confirmed authenticator app (its second factor may also or
/// instead be a passkey: see `sigra_users.mfa_enabled_at`).
pub async fn app_enabled(auth: &Auth, user_id: uuid::Uuid) -> Result<bool, FlowError> {
    let row = mfa::find_totp(&auth.db, user_id).await?;
    Ok(row.is_some_and(|r| r.confirmed_at.is_some()))
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
    let mut change = auth.change(meta).await?;
    let tx = change.tx();
    if mfa::confirm_totp(tx, user.id, i64::try_from(step).unwrap_or(i64::MAX), now).await? != 1 {
        change.rollback().await?;
        return Ok(EnrollmentOutcome::NotPending);
    }
    mfa::set_enabled(tx, user.id, Some(now), now).await?;
    let backup_codes = backup_codes::replace(auth, tx, user.id).await?;
    let session_token = rotate_token(tx, &current.session, None, Some(now)).await?;
    change.mail("mfa_enabled", &user.email, json!({})).await?;
    change.audit(audit::MFA_ENABLED, user.id, json!({})).await?;
    // Other sessions now owe the second factor: no instance may keep accepting them.
    change.commit(Revocation::EndSessions).await?;
    Ok(EnrollmentOutcome::Enabled {
        session_token,
        backup_codes,
    })
}

/// Turns the second factor off (the web layer asks for sudo first): the authenticator
/// secret and backup codes are deleted, passkeys stop being a second factor (they still
/// sign in) and trusted browsers are forgotten. Mails the user.
///
/// ```no_run
/// # async fn demo(auth: &sigra_core::features::Auth, me: &sigra_core::features::sessions::Authenticated) -> Result<(), sigra_core::features::FlowError> {
/// use sigra_core::features::{RequestMeta, mfa_totp};
/// let outcome = mfa_totp::disable(auth, me, &RequestMeta::default()).await?;
/// let was_on = outcome == mfa_totp::DisableOutcome::Disabled;
/// # Ok(()) }
/// ```
pub async fn disable(
    auth: &Auth,
    current: &Authenticated,
    meta: &RequestMeta,
) -> Result<DisableOutcome, FlowError> {
    let user = &current.user;
    if user.mfa_enabled_at.is_none() {
        return Ok(DisableOutcome::NotEnabled);
    }
    let now = auth.clock.now();
    let mut change = auth.change(meta).await?;
    mfa::delete_all(change.tx(), user.id).await?;
    // Off for every method: passkeys used as the second factor stop being one too (they
    // still sign in), so no flag is left claiming a second factor the account lacks.
    crate::store::passkeys::clear_used_for_mfa(change.tx(), user.id).await?;
    mfa::set_enabled(change.tx(), user.id, None, now).await?;
    change.mail("mfa_disabled", &user.email, json!({})).await?;
    change
        .audit(audit::MFA_DISABLED, user.id, json!({}))
        .await?;
    change.commit(Revocation::EndSessions).await?;
    Ok(DisableOutcome::Disabled)
}

/// How turning the second factor off ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisableOutcome {
    /// It was on and is off now.
    Disabled,
    /// It was not on: nothing changed.
    NotEnabled,
}

impl DisableOutcome {
    /// A stable machine-readable reason for a failure; `None` for success.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            DisableOutcome::Disabled => None,
            DisableOutcome::NotEnabled => Some("mfa_not_enabled"),
        }
    }
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
