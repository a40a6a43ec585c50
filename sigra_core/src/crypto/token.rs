//! Random tokens for sessions, remember-me cookies and emailed links, and numeric codes.
//!
//! A token's plaintext goes to exactly one place (a cookie or an emailed link); the
//! database stores only its SHA-256 ([`TokenHash`]), so a leaked table cannot be
//! replayed. The token carries 256 random bits, which is why a fast unsalted hash
//! is enough here, unlike for passwords.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::Duration;
use zeroize::Zeroizing;

use super::{RandomError, random_bytes, to_hex};
use crate::secret::SecretString;

/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;
/// Length of a token's base64url encoding, without padding.
const ENCODED_LEN: usize = 43;
/// The longest numeric code [`numeric_code`] makes.
pub const MAX_CODE_DIGITS: u32 = 32;

/// Errors from parsing tokens and generating random values.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The string is not the base64url encoding (no padding) of exactly 32 bytes.
    #[error("malformed token")]
    Malformed,
    /// A numeric code was asked for with zero or more than [`MAX_CODE_DIGITS`] digits.
    #[error("a numeric code must have between 1 and {MAX_CODE_DIGITS} digits")]
    InvalidCodeLength,
    /// The operating system's random number generator failed.
    #[error(transparent)]
    Random(#[from] RandomError),
}

impl TokenError {
    /// Stable machine-readable reason, e.g. `"malformed_token"`.
    pub fn reason(&self) -> &'static str {
        match self {
            TokenError::Malformed => "malformed_token",
            TokenError::InvalidCodeLength => "invalid_code_length",
            TokenError::Random(e) => e.reason(),
        }
    }
}

/// A plaintext token: 32 random bytes, base64url-encoded without padding (43 characters).
///
/// Hand [`as_str`](Token::as_str) to the user once; store only [`hash`](Token::hash).
/// `Debug` never shows the token.
///
/// ```
/// use sigra_core::crypto::{Token, TokenHash};
///
/// let token = Token::generate()?;
/// assert_eq!(token.as_str().len(), 43);
/// let stored = token.hash();
/// // Later, the token comes back from a cookie or a link:
/// assert_eq!(TokenHash::of_encoded(token.as_str())?, stored);
/// # Ok::<(), sigra_core::crypto::TokenError>(())
/// ```
pub struct Token {
    encoded: SecretString,
    hash: TokenHash,
}

impl Token {
    /// A new token from the operating system's random generator.
    pub fn generate() -> Result<Token, TokenError> {
        let bytes = Zeroizing::new(random_bytes::<TOKEN_BYTES>()?);
        Ok(Token {
            encoded: SecretString::new(URL_SAFE_NO_PAD.encode(*bytes)),
            hash: TokenHash::of_bytes(&bytes),
        })
    }

    /// Parses a token received from a client.
    ///
    /// Only the exact encoding [`generate`](Token::generate) produces is accepted, so
    /// each token has one spelling and a changed character never maps to the same hash.
    pub fn from_encoded(s: &str) -> Result<Token, TokenError> {
        if s.len() != ENCODED_LEN {
            return Err(TokenError::Malformed);
        }
        let bytes = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(s)
                .map_err(|_| TokenError::Malformed)?,
        );
        let bytes: &[u8; TOKEN_BYTES] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| TokenError::Malformed)?;
        Ok(Token {
            encoded: SecretString::new(s),
            hash: TokenHash::of_bytes(bytes),
        })
    }

    /// The encoded token, for the one place it goes: a cookie or an emailed link.
    pub fn as_str(&self) -> &str {
        self.encoded.expose()
    }

    /// The SHA-256 of the token's 32 raw bytes: the only form that is stored.
    pub fn hash(&self) -> TokenHash {
        self.hash
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

/// The SHA-256 of a token's raw bytes, as stored in the database.
///
/// Equality is constant-time. `Debug` shows only the first 4 bytes, enough to
/// correlate log lines without making the stored value searchable.
#[derive(Clone, Copy, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The hash of an encoded token; [`TokenError::Malformed`] if it is not one.
    pub fn of_encoded(s: &str) -> Result<TokenHash, TokenError> {
        Ok(Token::from_encoded(s)?.hash())
    }

    /// Wraps a hash read back from the database.
    pub fn from_bytes(bytes: [u8; 32]) -> TokenHash {
        TokenHash(bytes)
    }

    /// The hash, for storing.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Constant-time comparison (the same as `==`).
    pub fn ct_eq(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }

    fn of_bytes(bytes: &[u8; TOKEN_BYTES]) -> TokenHash {
        TokenHash(Sha256::digest(bytes).into())
    }
}

impl PartialEq for TokenHash {
    fn eq(&self, other: &TokenHash) -> bool {
        self.ct_eq(other)
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, ..] = self.0;
        write!(f, "TokenHash({}…)", to_hex(&[a, b, c, d]))
    }
}

/// What a token is for. Stored beside each token hash so one kind can never
/// be redeemed as another.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A logged-in session (cookie).
    Session,
    /// A long-lived remember-me cookie, rotated on use.
    RememberMe,
    /// An emailed link confirming an address.
    Confirmation,
    /// An emailed link that logs the user in.
    MagicLink,
    /// An emailed link to set a new password.
    ResetPassword,
    /// An emailed link confirming a new email address.
    ChangeEmail,
    /// An emailed link unlocking a locked account.
    Unlock,
    /// The 6-digit code mailed with a confirmation link (stored as a keyed hash of the
    /// user id and code, since six digits alone hash to guessable values).
    ConfirmationCode,
    /// An API refresh token, rotated on use, in the family of its session.
    ApiRefresh,
    /// The short-lived proof of a password that an API log-in trades, with a second
    /// factor code, for tokens.
    ApiMfa,
}

impl TokenKind {
    /// Every kind, in declaration order.
    pub const ALL: [TokenKind; 10] = [
        TokenKind::Session,
        TokenKind::RememberMe,
        TokenKind::Confirmation,
        TokenKind::MagicLink,
        TokenKind::ResetPassword,
        TokenKind::ChangeEmail,
        TokenKind::Unlock,
        TokenKind::ConfirmationCode,
        TokenKind::ApiRefresh,
        TokenKind::ApiMfa,
    ];

    /// The stable name stored in the database, e.g. `"reset_password"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::RememberMe => "remember_me",
            TokenKind::Confirmation => "confirmation",
            TokenKind::MagicLink => "magic_link",
            TokenKind::ResetPassword => "reset_password",
            TokenKind::ChangeEmail => "change_email",
            TokenKind::Unlock => "unlock",
            TokenKind::ConfirmationCode => "confirmation_code",
            TokenKind::ApiRefresh => "api_refresh",
            TokenKind::ApiMfa => "api_mfa",
        }
    }

    /// The kind named by [`as_str`](TokenKind::as_str), if any.
    ///
    /// ```
    /// use sigra_core::crypto::TokenKind;
    /// assert_eq!(TokenKind::parse("magic_link"), Some(TokenKind::MagicLink));
    /// assert_eq!(TokenKind::parse("MagicLink"), None);
    /// ```
    pub fn parse(s: &str) -> Option<TokenKind> {
        TokenKind::ALL.into_iter().find(|kind| kind.as_str() == s)
    }

    /// How long a token of this kind lives by default (DESIGN §5).
    ///
    /// For [`Session`](TokenKind::Session) this is the idle timeout (24 hours);
    /// the absolute limit of 14 days from login is enforced separately.
    /// Remember-me: 30 days. Emailed links: magic link 15 minutes, reset password
    /// 60 minutes, confirmation, email change and unlock 24 hours. API refresh tokens 30
    /// days, the API log-in's second-factor step 5 minutes.
    pub fn default_ttl(&self) -> Duration {
        match self {
            TokenKind::Session => Duration::hours(24),
            TokenKind::RememberMe => Duration::days(30),
            TokenKind::Confirmation => Duration::hours(24),
            TokenKind::MagicLink => Duration::minutes(15),
            TokenKind::ResetPassword => Duration::minutes(60),
            TokenKind::ChangeEmail => Duration::hours(24),
            TokenKind::Unlock => Duration::hours(24),
            TokenKind::ConfirmationCode => Duration::hours(24),
            TokenKind::ApiRefresh => Duration::days(30),
            TokenKind::ApiMfa => Duration::minutes(5),
        }
    }
}

/// A random code of `digits` decimal digits (1 to [`MAX_CODE_DIGITS`]), each uniform.
///
/// ```
/// let code = sigra_core::crypto::token::numeric_code(6)?;
/// assert_eq!(code.expose().len(), 6);
/// assert!(code.expose().bytes().all(|b| b.is_ascii_digit()));
/// # Ok::<(), sigra_core::crypto::TokenError>(())
/// ```
pub fn numeric_code(digits: u32) -> Result<SecretString, TokenError> {
    // Values at or above the largest multiple of 10 that fits in a u32 would make
    // low digits slightly more likely, so they are drawn again.
    const LIMIT: u32 = u32::MAX - u32::MAX % 10;
    if !(1..=MAX_CODE_DIGITS).contains(&digits) {
        return Err(TokenError::InvalidCodeLength);
    }
    // Sized up front so the buffer never reallocates and leaves a copy behind.
    let mut code = String::with_capacity(digits as usize);
    for _ in 0..digits {
        let digit = loop {
            let value = u32::from_le_bytes(random_bytes()?);
            if value < LIMIT {
                break value % 10;
            }
        };
        code.push(char::from(b'0' + digit as u8));
    }
    Ok(SecretString::new(code))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn generated_token_shape() {
        let token = Token::generate().unwrap();
        assert_eq!(token.as_str().len(), 43);
        let raw = URL_SAFE_NO_PAD.decode(token.as_str()).unwrap();
        assert_eq!(raw.len(), 32);
        let expected: [u8; 32] = Sha256::digest(&raw).into();
        assert_eq!(token.hash().as_bytes(), &expected);
    }

    #[test]
    fn hash_is_stable_and_tokens_differ() {
        let a = Token::generate().unwrap();
        let b = Token::generate().unwrap();
        assert_ne!(a.as_str(), b.as_str());
        assert_ne!(a.hash(), b.hash());
        let again = Token::from_encoded(a.as_str()).unwrap();
        assert_eq!(again.hash(), a.hash());
        assert_eq!(TokenHash::of_encoded(a.as_str()).unwrap(), a.hash());
        assert_eq!(TokenHash::from_bytes(*a.hash().as_bytes()), a.hash());
        assert!(a.hash().ct_eq(&again.hash()));
    }

    #[test]
    fn known_hash() {
        let token = Token::from_encoded(&URL_SAFE_NO_PAD.encode([0u8; 32])).unwrap();
        // SHA-256 of 32 zero bytes.
        assert_eq!(
            to_hex(token.hash().as_bytes()),
            "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
        );
    }

    #[test]
    fn from_encoded_rejects_bad_input() {
        let good = Token::generate().unwrap();
        let s = good.as_str();
        for bad in [
            "",
            &s[..42],
            &format!("{s}A"),
            &format!("{s}="),
            &URL_SAFE_NO_PAD.encode([0u8; 31]),
            &URL_SAFE_NO_PAD.encode([0u8; 33]),
            &format!("{}+", &s[..42]),
            &format!("{}/", &s[..42]),
            &format!("{}!", &s[..42]),
            &format!("{}é", &s[..41]),
            // 43 characters whose last one sets bits beyond the 32 bytes.
            &format!("{}B", &URL_SAFE_NO_PAD.encode([0u8; 32])[..42]),
        ] {
            assert_eq!(
                Token::from_encoded(bad).unwrap_err(),
                TokenError::Malformed,
                "{bad:?}"
            );
            assert_eq!(
                TokenHash::of_encoded(bad).unwrap_err().reason(),
                "malformed_token"
            );
        }
    }

    #[test]
    fn debug_is_redacted() {
        let token = Token::from_encoded(&URL_SAFE_NO_PAD.encode([0u8; 32])).unwrap();
        assert_eq!(format!("{token:?}"), "Token([redacted])");
        assert_eq!(format!("{:?}", token.hash()), "TokenHash(66687aad…)");
    }

    #[test]
    fn kinds_roundtrip_and_ttls() {
        for kind in TokenKind::ALL {
            assert_eq!(TokenKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(TokenKind::parse("nope"), None);
        assert_eq!(TokenKind::Session.default_ttl(), Duration::hours(24));
        assert_eq!(TokenKind::RememberMe.default_ttl(), Duration::days(30));
        assert_eq!(TokenKind::Confirmation.default_ttl(), Duration::hours(24));
        assert_eq!(TokenKind::MagicLink.default_ttl(), Duration::minutes(15));
        assert_eq!(
            TokenKind::ResetPassword.default_ttl(),
            Duration::minutes(60)
        );
        assert_eq!(TokenKind::ChangeEmail.default_ttl(), Duration::hours(24));
        assert_eq!(TokenKind::Unlock.default_ttl(), Duration::hours(24));
    }

    #[test]
    fn numeric_codes() {
        for digits in [1, 6, 8, MAX_CODE_DIGITS] {
            let code = numeric_code(digits).unwrap();
            assert_eq!(code.expose().len(), digits as usize);
            assert!(code.expose().bytes().all(|b| b.is_ascii_digit()));
        }
        assert_eq!(numeric_code(0).unwrap_err(), TokenError::InvalidCodeLength);
        assert_eq!(
            numeric_code(MAX_CODE_DIGITS + 1).unwrap_err().reason(),
            "invalid_code_length"
        );
    }

    #[test]
    fn numeric_codes_use_every_digit() {
        let mut seen = [false; 10];
        for _ in 0..200 {
            for b in numeric_code(MAX_CODE_DIGITS).unwrap().expose().bytes() {
                seen[usize::from(b - b'0')] = true;
            }
        }
        assert_eq!(seen, [true; 10]);
    }

    proptest! {
        #[test]
        fn changed_character_never_keeps_the_hash(
            raw in any::<[u8; 32]>(),
            position in 0usize..43,
            replacement in any::<char>(),
        ) {
            let encoded = URL_SAFE_NO_PAD.encode(raw);
            let original = TokenHash::of_encoded(&encoded).unwrap();
            let mut chars: Vec<char> = encoded.chars().collect();
            prop_assume!(chars[position] != replacement);
            chars[position] = replacement;
            let changed: String = chars.into_iter().collect();
            match TokenHash::of_encoded(&changed) {
                Ok(hash) => prop_assert_ne!(hash, original),
                Err(e) => prop_assert_eq!(e, TokenError::Malformed),
            }
        }

        #[test]
        fn changed_byte_changes_the_hash(
            raw in any::<[u8; 32]>(),
            position in 0usize..32,
            mask in 1u8..=255,
        ) {
            let mut changed = raw;
            changed[position] ^= mask;
            prop_assert_ne!(
                TokenHash::of_encoded(&URL_SAFE_NO_PAD.encode(raw)).unwrap(),
                TokenHash::of_encoded(&URL_SAFE_NO_PAD.encode(changed)).unwrap()
            );
        }
    }
}
