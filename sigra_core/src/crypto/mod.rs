//! Cryptography: password hashing, random tokens, per-purpose keys and field encryption.
//!
//! Everything here is built from audited RustCrypto primitives; this module only
//! chooses parameters and wires them together so the rest of the crate never has to.
//!
//! - [`password`]: Argon2id hashing on a bounded worker pool, bcrypt upgrade, dummy verify.
//! - [`token`]: random tokens (stored as SHA-256), token kinds and lifetimes, numeric codes.
//! - [`keys`]: one master secret, per-purpose HKDF subkeys, HMAC signing with rotation.
//! - [`cipher`]: AES-256-GCM encryption of individual database fields.
//! - `jwt`: Ed25519-signed JWT access tokens, keys derived from the master secret (the
//!   `api` feature).

#[cfg(feature = "oauth")]
pub mod apple;
pub mod cipher;
#[cfg(feature = "api")]
pub mod jwt;
pub mod keys;
pub mod password;
pub mod token;

#[cfg(feature = "oauth")]
pub use apple::{AppleKey, apple_client_secret, apple_signing_key};
pub use cipher::{CipherError, FieldCipher};
#[cfg(feature = "api")]
pub use jwt::{JwtError, JwtKeys};
pub use keys::{Keys, KeysError, Purpose};
pub use password::{Argon2Params, PasswordError, PasswordHasher, Verification};
pub use token::{Token, TokenError, TokenHash, TokenKind};

use subtle::ConstantTimeEq;

/// The operating system's random number generator failed.
///
/// This is rare and not recoverable by retrying in a loop: the process should
/// answer with a server error rather than fall back to weaker randomness.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct RandomError(getrandom::Error);

impl RandomError {
    /// Stable machine-readable reason: `"random_failed"`.
    pub fn reason(&self) -> &'static str {
        "random_failed"
    }
}

/// `N` bytes from the operating system's cryptographically secure generator.
///
/// ```
/// let salt: [u8; 16] = sigra_core::crypto::random_bytes()?;
/// assert_ne!(salt, [0u8; 16]);
/// # Ok::<(), sigra_core::crypto::RandomError>(())
/// ```
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(RandomError)?;
    Ok(bytes)
}

/// A fresh master secret (`sigra.secret_key`) for a process that has none configured
/// (development): 32 random bytes as 64 hex characters.
pub fn random_secret_key() -> Result<crate::secret::SecretString, RandomError> {
    let bytes: [u8; 32] = random_bytes()?;
    Ok(crate::secret::SecretString::new(to_hex(&bytes)))
}

/// Compares two byte strings in time that depends only on their lengths.
///
/// Use it whenever one side is a secret (a tag, a hash, a code), so the time
/// taken does not reveal how many leading bytes matched.
///
/// ```
/// use sigra_core::crypto::constant_time_eq;
/// assert!(constant_time_eq(b"abc", b"abc"));
/// assert!(!constant_time_eq(b"abc", b"abd"));
/// assert!(!constant_time_eq(b"abc", b"ab"));
/// ```
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Lower-case hex, for short non-secret identifiers (key ids, hash prefixes in `Debug`).
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0x0f)]])
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_bytes_differ() {
        let a: [u8; 32] = random_bytes().unwrap();
        let b: [u8; 32] = random_bytes().unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn constant_time_eq_matches_eq() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secrets"));
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(to_hex(&[0x00, 0x9f, 0xa0, 0xff]), "009fa0ff");
        assert_eq!(to_hex(&[]), "");
    }
}
