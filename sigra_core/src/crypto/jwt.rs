//! JWT access tokens: compact JWS signed with Ed25519 (`alg` EdDSA, RFC 8037), keys
//! derived from the master secret.
//!
//! Algorithm. The signing key's 32-byte seed is the HKDF subkey of the master secret for
//! [`Purpose::AccessToken`], so every instance that shares the secret signs with the same
//! key and no key store is needed. Each old secret in `old_secret_keys` yields a key that
//! still verifies and is still published in the JWKS, so tokens signed before a rotation
//! stay valid until they expire. A key's `kid` is the first 8 bytes of the SHA-256 of its
//! public key, base64url. Verification is strict and closed: the header must say
//! `alg: EdDSA` and name a known `kid` (so `none`, HS256 with the public key as the HMAC
//! secret, and every other algorithm are refused before any key is touched), the
//! signature must verify under RFC 8032's strict rules, and `iss`, `aud`, `exp`, `iat`,
//! `nbf`, `sub`, `jti`, `sid` and `scope` must all be present, with the issuer and
//! audience equal to the configured ones, `exp` in the future and `nbf` not.
//!
//! Trade-off. A hand-written encoder and decoder of about a hundred lines instead of a
//! general JWT library: Sigra only ever needs one algorithm, and the general libraries
//! link the `rsa` crate (an advisory without a fix) or a C toolchain. Access tokens are
//! verified without the database, so a revoked session's tokens live until `exp`
//! (15 minutes by default) unless `sigra.api_tokens.check_revocation` is on. An Ed25519
//! verification costs tens of microseconds, more than serving a small route: a token
//! whose signature verified is remembered by the SHA-256 of its whole compact form (at
//! most [`MAX_VERIFIED`] of them; a full memory is emptied), so a client that sends the
//! same token again skips the signature check. Only verified tokens enter it, a changed
//! byte changes the digest, and the issuer, audience, `exp` and `nbf` are checked against
//! the clock on every request all the same.
//!
//! Failure mode. Any defect answers a [`JwtError`], never a partially trusted claim set;
//! dropping a secret from `old_secret_keys` ends every token it signed at once.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{Keys, Purpose};

/// The one signature algorithm Sigra issues and accepts.
pub const ALGORITHM: &str = "EdDSA";

/// Longest compact token accepted, in bytes: ours are well under 1 KiB; anything longer
/// is refused before it is decoded.
const MAX_TOKEN_LEN: usize = 4096;

/// Why a token was refused. Every variant answers the client the same way (401
/// `invalid_token`); the reason is for logs and tests.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not three base64url parts of JSON, a claim missing or of the wrong type.
    #[error("the token is malformed")]
    Malformed,
    /// `alg` is not EdDSA (this includes `none` and HS256).
    #[error("the token's algorithm is not accepted")]
    UnsupportedAlgorithm,
    /// No current or old key has this `kid`.
    #[error("the token names an unknown key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the token's signature does not verify")]
    BadSignature,
    /// `exp` has passed.
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    #[error("the token has another issuer")]
    WrongIssuer,
    /// `aud` is not the configured audience.
    #[error("the token is for another audience")]
    WrongAudience,
}

impl JwtError {
    /// Stable machine-readable reason, e.g. `"jwt_expired"`.
    pub fn reason(&self) -> &'static str {
        match self {
            JwtError::Malformed => "jwt_malformed",
            JwtError::UnsupportedAlgorithm => "jwt_unsupported_algorithm",
            JwtError::UnknownKey => "jwt_unknown_key",
            JwtError::BadSignature => "jwt_bad_signature",
            JwtError::Expired => "jwt_expired",
            JwtError::NotYetValid => "jwt_not_yet_valid",
            JwtError::WrongIssuer => "jwt_wrong_issuer",
            JwtError::WrongAudience => "jwt_wrong_audience",
        }
    }
}

/// The claims of a Sigra access token; all are required.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issue time, Unix seconds.
    pub iat: i64,
    /// Not before, Unix seconds.
    pub nbf: i64,
    /// The user id.
    pub sub: Uuid,
    /// Unique token id.
    pub jti: String,
    /// The session (refresh family) the token belongs to.
    pub sid: Uuid,
    /// Space-separated scopes (empty: the user's full rights).
    pub scope: String,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
}

/// Tokens whose signature verified, remembered at most (a full memory is emptied, so a
/// flood of distinct tokens cannot grow it).
pub const MAX_VERIFIED: usize = 50_000;

/// Claims of tokens whose signature verified, by the SHA-256 of the compact token (shared,
/// so a hit copies a pointer, not the claims).
type Verified = Arc<Mutex<HashMap<[u8; 32], Arc<Claims>>>>;

/// The Ed25519 keys of the current master secret and of the old ones.
#[derive(Clone)]
pub struct JwtKeys {
    signing: SigningKey,
    /// `kid` and public key, current first.
    verifying: Vec<(String, VerifyingKey)>,
    verified: Verified,
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<&str> = self.verifying.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("JwtKeys")
            .field("signing", &format_args!("[redacted]"))
            .field("kids", &kids)
            .finish()
    }
}

fn kid_of(key: &VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..8])
}

impl JwtKeys {
    /// Derives the signing key from the current secret and a verifying key from each
    /// secret, current and old.
    pub fn new(keys: &Keys) -> JwtKeys {
        let signing = SigningKey::from_bytes(&keys.subkey(Purpose::AccessToken));
        let mut verifying: Vec<(String, VerifyingKey)> = Vec::new();
        for seed in keys.subkeys(Purpose::AccessToken) {
            let public = SigningKey::from_bytes(&seed).verifying_key();
            let kid = kid_of(&public);
            // The same secret listed twice publishes its key once.
            if !verifying.iter().any(|(k, _)| *k == kid) {
                verifying.push((kid, public));
            }
        }
        JwtKeys {
            signing,
            verifying,
            verified: Verified::default(),
        }
    }

    /// The `kid` of the signing key.
    pub fn kid(&self) -> String {
        kid_of(&self.signing.verifying_key())
    }

    /// Signs `claims` as a compact JWS with the current key.
    pub fn sign(&self, claims: &Claims) -> String {
        let header = Header {
            alg: ALGORITHM.into(),
            kid: Some(self.kid()),
            typ: Some("JWT".into()),
        };
        // Serializing these plain structs cannot fail; an empty part would fail to verify.
        let header = serde_json::to_vec(&header).unwrap_or_default();
        let claims = serde_json::to_vec(claims).unwrap_or_default();
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let signature = self.signing.sign(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    }

    /// Verifies `token` and answers its claims when it is signed by a current or old key,
    /// names `issuer` and `audience`, has not expired and is already valid at `now`
    /// (Unix seconds).
    pub fn verify(
        &self,
        token: &str,
        issuer: &str,
        audience: &str,
        now: i64,
    ) -> Result<Arc<Claims>, JwtError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwtError::Malformed);
        }
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let known = self
            .verified
            .lock()
            .ok()
            .and_then(|verified| verified.get(&digest).cloned());
        let claims = match known {
            Some(claims) => claims,
            None => {
                let claims = Arc::new(self.verify_signature(token)?);
                if now < claims.exp
                    && let Ok(mut verified) = self.verified.lock()
                {
                    if verified.len() >= MAX_VERIFIED {
                        verified.clear();
                    }
                    verified.insert(digest, Arc::clone(&claims));
                }
                claims
            }
        };
        if claims.iss != issuer {
            return Err(JwtError::WrongIssuer);
        }
        if claims.aud != audience {
            return Err(JwtError::WrongAudience);
        }
        if now >= claims.exp {
            return Err(JwtError::Expired);
        }
        if now < claims.nbf {
            return Err(JwtError::NotYetValid);
        }
        Ok(claims)
    }

    /// The claims of `token` if its header names EdDSA and a known key and its signature
    /// verifies under that key (the claims themselves are not judged here).
    fn verify_signature(&self, token: &str) -> Result<Claims, JwtError> {
        let mut parts = token.split('.');
        let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        let header: Header = decode_json(header_b64)?;
        if header.alg != ALGORITHM {
            return Err(JwtError::UnsupportedAlgorithm);
        }
        let kid = header.kid.ok_or(JwtError::UnknownKey)?;
        let (_, key) = self
            .verifying
            .iter()
            .find(|(k, _)| *k == kid)
            .ok_or(JwtError::UnknownKey)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature_b64)
            .map_err(|_| JwtError::Malformed)?;
        let signature = Signature::from_slice(&signature).map_err(|_| JwtError::Malformed)?;
        let signing_input = &token[..header_b64.len() + 1 + claims_b64.len()];
        key.verify_strict(signing_input.as_bytes(), &signature)
            .map_err(|_| JwtError::BadSignature)?;
        decode_json(claims_b64)
    }

    /// The JSON Web Key Set (RFC 7517, OKP keys per RFC 8037) of every key that verifies:
    /// the current one first, then those of `old_secret_keys`.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .verifying
            .iter()
            .map(|(kid, key)| {
                serde_json::json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "alg": ALGORITHM,
                    "use": "sig",
                    "kid": kid,
                    "x": URL_SAFE_NO_PAD.encode(key.as_bytes()),
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "https://app.example";
    const AUD: &str = "https://app.example";

    fn claims(now: i64) -> Claims {
        Claims {
            iss: ISS.into(),
            aud: AUD.into(),
            exp: now + 900,
            iat: now,
            nbf: now,
            sub: Uuid::nil(),
            jti: "j".into(),
            sid: Uuid::max(),
            scope: String::new(),
        }
    }

    fn keys(secret: u8, old: &[u8]) -> JwtKeys {
        let old: Vec<[u8; 32]> = old.iter().map(|b| [*b; 32]).collect();
        let old: Vec<&[u8]> = old.iter().map(|o| o.as_slice()).collect();
        JwtKeys::new(&Keys::new(&[secret; 32], &old).unwrap())
    }

    fn forge(header: &str, claims: &Claims, signature: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap()),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    #[test]
    fn round_trip_and_claim_checks() {
        let k = keys(1, &[]);
        let token = k.sign(&claims(1000));
        assert_eq!(*k.verify(&token, ISS, AUD, 1000).unwrap(), claims(1000));
        assert_eq!(k.verify(&token, ISS, AUD, 1900), Err(JwtError::Expired));
        assert_eq!(k.verify(&token, ISS, AUD, 999), Err(JwtError::NotYetValid));
        assert_eq!(k.verify(&token, "x", AUD, 1000), Err(JwtError::WrongIssuer));
        assert_eq!(
            k.verify(&token, ISS, "x", 1000),
            Err(JwtError::WrongAudience)
        );
        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert!(k.verify(&tampered, ISS, AUD, 1000).is_err());
    }

    #[test]
    fn other_algorithms_and_keys_are_refused() {
        let k = keys(1, &[]);
        let c = claims(1000);
        let none = forge(r#"{"alg":"none","kid":"x"}"#, &c, b"");
        assert_eq!(
            k.verify(&none, ISS, AUD, 1000),
            Err(JwtError::UnsupportedAlgorithm)
        );
        let other = keys(2, &[]).sign(&c);
        assert_eq!(k.verify(&other, ISS, AUD, 1000), Err(JwtError::UnknownKey));
        let header = format!(r#"{{"alg":"EdDSA","kid":"{}"}}"#, k.kid());
        let bad = forge(&header, &c, &[0u8; 64]);
        assert_eq!(k.verify(&bad, ISS, AUD, 1000), Err(JwtError::BadSignature));
    }

    #[test]
    fn old_secrets_verify_and_are_published() {
        let before = keys(1, &[]);
        let token = before.sign(&claims(1000));
        let after = keys(2, &[1]);
        assert!(after.verify(&token, ISS, AUD, 1000).is_ok());
        assert_ne!(after.kid(), before.kid());
        let jwks = after.jwks();
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert_eq!(kids, [after.kid(), before.kid()]);
        assert_eq!(
            keys(2, &[]).verify(&token, ISS, AUD, 1000),
            Err(JwtError::UnknownKey)
        );
    }

    #[test]
    fn a_remembered_token_is_still_judged_by_the_clock_and_a_changed_byte_is_not_remembered() {
        let k = keys(1, &[]);
        let token = k.sign(&claims(1000));
        assert!(k.verify(&token, ISS, AUD, 1000).is_ok());
        assert_eq!(k.verified.lock().unwrap().len(), 1, "remembered");
        // Same token again: from memory, and still bound to iss, aud, exp and nbf.
        assert!(k.verify(&token, ISS, AUD, 1001).is_ok());
        assert_eq!(k.verify(&token, ISS, AUD, 1900), Err(JwtError::Expired));
        assert_eq!(k.verify(&token, ISS, AUD, 999), Err(JwtError::NotYetValid));
        assert_eq!(
            k.verify(&token, "other", AUD, 1000),
            Err(JwtError::WrongIssuer)
        );
        assert_eq!(
            k.verify(&token, ISS, "other", 1000),
            Err(JwtError::WrongAudience)
        );
        // A forged signature on the same header and claims is a new digest: checked, refused.
        let (head, sig) = token.rsplit_once('.').unwrap();
        let flipped = if sig.starts_with('A') { "B" } else { "A" };
        let forged = format!("{head}.{flipped}{}", &sig[1..]);
        assert_eq!(
            k.verify(&forged, ISS, AUD, 1000),
            Err(JwtError::BadSignature)
        );
        assert_eq!(
            k.verified.lock().unwrap().len(),
            1,
            "refused tokens are not remembered"
        );
        // Another key set (another secret) shares nothing.
        assert_eq!(
            keys(2, &[]).verify(&token, ISS, AUD, 1000),
            Err(JwtError::UnknownKey)
        );
    }
}
