//! "Trust this browser": after a second-factor challenge the user may ask not to be
//! asked again on this browser for `sigra.mfa.trust_browser_days` (30). The browser
//! then holds a cookie that lets a new session of the same account start fully
//! authenticated (`passed_at_start`) and spares log-ins from it the new-device alert.
//!
//! # Algorithm
//!
//! The cookie is `<account id>.<expiry>.<tag>`, where the tag is an HMAC-SHA-256 under
//! the signing subkey over a domain-separated message of the account id, the expiry
//! (unix seconds), the account's `mfa_epoch` and the SHA-256 of its password hash. It
//! is stateless: nothing is stored server-side, so checking it costs no query and the
//! tag is compared in constant time.
//!
//! # What voids it
//!
//! The expiry passing; any change of the second factor (enabling, disabling, new backup
//! codes bump `mfa_epoch`); any change of the password (a new hash, including a rehash
//! on upgrade, and setting or removing it); rotating the signing key. Deleting the
//! cookie in the browser of course. The trade-off of being stateless: one trusted
//! browser cannot be revoked alone, only all of an account's at once (by changing one
//! of the bound values).
//!
//! # Failure mode
//!
//! Anything that does not verify (malformed, another account's, expired, stale epoch or
//! password, forged) is simply not trusted: the session starts partial and the user
//! answers the challenge. A stolen cookie alone does not log anyone in; it only skips
//! the second factor for someone who also has the password (or another first factor)
//! of that account, until it expires or a bound value changes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use super::Auth;
use crate::crypto::Purpose;
use crate::secret::SecretString;
use crate::store::User;

fn trust_message(user: &User, expires: i64) -> Vec<u8> {
    let password = Sha256::digest(user.hashed_password().unwrap_or_default().as_bytes());
    let mut message = format!(
        "sigra/trusted-browser\0{}\0{expires}\0{}\0",
        user.id, user.mfa_epoch
    )
    .into_bytes();
    message.extend_from_slice(&password);
    message
}

/// A trusted-browser cookie value for `user`: `<account id>.<expiry>.<HMAC>`, bound to
/// the account, its second-factor settings (epoch) and its password, so it dies when any
/// of them changes.
pub fn trust_cookie(auth: &Auth, user: &User) -> SecretString {
    let days = auth.config.mfa.trust_browser_days;
    let expires = (auth.clock.now() + Duration::days(days)).unix_timestamp();
    let tag = auth
        .keys
        .sign(Purpose::Signing, &trust_message(user, expires));
    SecretString::new(format!(
        "{}.{expires}.{}",
        user.id.simple(),
        URL_SAFE_NO_PAD.encode(tag)
    ))
}

/// Whether `cookie` is a live trusted-browser cookie of `user` (constant-time check).
///
/// Only the spelling [`trust_cookie`] writes is accepted: the account id in lower-case
/// simple hex and the expiry in plain decimal. Parsing them would also accept an
/// upper-case id (or a `+` before the expiry), other spellings of the same cookie that
/// the tag, computed over the values, cannot tell apart; so a cookie has one spelling
/// and no changed byte is accepted (tests/properties.rs).
pub fn is_trusted(auth: &Auth, user: &User, cookie: &str) -> bool {
    let mut parts = cookie.splitn(3, '.');
    let (Some(id), Some(expires_text), Some(tag)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Ok(expires), Ok(tag)) = (expires_text.parse::<i64>(), URL_SAFE_NO_PAD.decode(tag)) else {
        return false;
    };
    id == user.id.simple().to_string()
        && expires_text == expires.to_string()
        && auth.clock.now().unix_timestamp() < expires
        && auth
            .keys
            .verify(Purpose::Signing, &trust_message(user, expires), &tag)
}

/// The `mfa_at` a new session of `user` starts with: now when the account has no second
/// factor to owe or the browser is trusted, else `None` (the session starts partial).
pub(crate) fn passed_at_start(
    auth: &Auth,
    user: &User,
    trusted_browser: Option<&str>,
) -> Option<OffsetDateTime> {
    user.mfa_enabled_at?;
    trusted_browser
        .filter(|cookie| is_trusted(auth, user, cookie))
        .map(|_| auth.clock.now())
}
