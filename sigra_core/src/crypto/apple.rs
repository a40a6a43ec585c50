//! Sign in with Apple's client secret: not a fixed string but a JWT the client signs
//! with its `.p8` key (ES256, P-256), valid for at most six months. Sigra makes a fresh
//! one valid for five minutes for every token request, so a leaked one is soon useless.
//!
//! Header `{"alg":"ES256","kid":<key id>,"typ":"JWT"}`; claims `{"iss":<team id>,
//! "iat", "exp", "aud":"https://appleid.apple.com", "sub":<client id>}`; the signature is
//! the raw `r || s` (64 bytes), base64url, as JWS requires (not DER).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey as _;
use time::OffsetDateTime;

/// Apple's audience for client secrets.
pub const APPLE_AUDIENCE: &str = "https://appleid.apple.com";
/// How long a client secret Sigra makes is valid, in seconds.
pub const CLIENT_SECRET_SECS: i64 = 300;

/// An Apple `.p8` key: the PKCS#8 PEM of a P-256 private key. `Debug` shows nothing of it.
#[derive(Clone)]
pub struct AppleKey(SigningKey);

impl std::fmt::Debug for AppleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppleKey([redacted])")
    }
}

/// Parses an Apple `.p8` key; `Err(())` when it is not a PKCS#8 PEM P-256 private key
/// (the caller names the config key; the value is never echoed).
#[allow(clippy::result_unit_err)]
pub fn apple_signing_key(pem: &str) -> Result<AppleKey, ()> {
    SigningKey::from_pkcs8_pem(pem.trim())
        .map(AppleKey)
        .map_err(|_| ())
}

/// The client secret for `client_id` (the Services ID) of team `team_id`, signed with
/// `key` (id `key_id`), issued at `now`.
pub fn apple_client_secret(
    key: &AppleKey,
    key_id: &str,
    team_id: &str,
    client_id: &str,
    now: OffsetDateTime,
) -> String {
    let iat = now.unix_timestamp();
    let header = serde_json::json!({ "alg": "ES256", "kid": key_id, "typ": "JWT" });
    let claims = serde_json::json!({
        "iss": team_id,
        "iat": iat,
        "exp": iat + CLIENT_SECRET_SECS,
        "aud": APPLE_AUDIENCE,
        "sub": client_id,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature: Signature = key.0.sign(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier as _;

    /// A P-256 key in Apple's `.p8` format (made for these tests only).
    pub(crate) const TEST_P8: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgfT6X3MBnD/YyH560
eu2Q5NMXbk4/kE70VR3V6zevKmehRANCAATD2wg1YngH/1lFXGl6WY1uOXLTZFwP
vx9zYP42bk9BB+UXB2b1SdTujZazFC7/nDYwUFyrGvLLdTQAyMa37ZIH
-----END PRIVATE KEY-----";

    fn part(jwt: &str, i: usize) -> serde_json::Value {
        let seg = jwt.split('.').nth(i).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(seg).unwrap()).unwrap()
    }

    #[test]
    fn the_client_secret_is_an_es256_jwt_apple_can_verify() {
        let key = apple_signing_key(TEST_P8).unwrap();
        let now = time::macros::datetime!(2026-06-01 09:00 UTC);
        let jwt = apple_client_secret(&key, "KEY123", "TEAM456", "com.example.web", now);
        let header = part(&jwt, 0);
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], "KEY123");
        let claims = part(&jwt, 1);
        assert_eq!(claims["iss"], "TEAM456");
        assert_eq!(claims["sub"], "com.example.web");
        assert_eq!(claims["aud"], "https://appleid.apple.com");
        assert_eq!(claims["iat"], now.unix_timestamp());
        assert_eq!(claims["exp"], now.unix_timestamp() + 300);
        // The signature is raw r||s over "header.claims", under the key's public half.
        let (input, sig) = jwt.rsplit_once('.').unwrap();
        let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        assert_eq!(sig.len(), 64);
        let sig = Signature::from_slice(&sig).unwrap();
        let public = VerifyingKey::from(&key.0);
        public.verify(input.as_bytes(), &sig).unwrap();
        // …and not over anything else.
        assert!(public.verify(b"other", &sig).is_err());
    }

    #[test]
    fn a_key_that_is_not_a_p256_pkcs8_pem_is_refused_and_never_printed() {
        assert!(apple_signing_key("not a key").is_err());
        assert!(
            apple_signing_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .is_err()
        );
        let key = apple_signing_key(TEST_P8).unwrap();
        assert_eq!(format!("{key:?}"), "AppleKey([redacted])");
    }
}
