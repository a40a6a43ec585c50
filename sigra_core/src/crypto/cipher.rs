//! AES-256-GCM encryption of individual database fields (TOTP secrets, OAuth tokens …).
//!
//! A value is stored as `<key id>:<base64url(nonce || ciphertext || tag)>`. The key
//! id (8 hex characters, derived from the key but revealing nothing about it) says
//! which master secret encrypted the value, so after a rotation old values still
//! decrypt while new ones use the new key. Nonces are 96 random bits: with one key,
//! that stays safe well past any realistic number of writes (NIST SP 800-38D §8.3).

use std::fmt;
use std::iter;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use super::keys::{Keys, Purpose, hmac_sha256};
use super::{RandomError, random_bytes, to_hex};

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const KEY_ID_LEN: usize = 8;

/// Errors from [`FieldCipher`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    /// The stored value is not `<8 hex characters>:<base64url payload>` of a plausible length.
    #[error("malformed encrypted value")]
    Malformed,
    /// The value was encrypted with a key that is no longer configured.
    #[error("encrypted with an unknown key")]
    UnknownKey,
    /// Authentication failed: the value, its key or its associated data was changed.
    #[error("decryption failed")]
    Decrypt,
    /// The plaintext is too long for AES-GCM.
    #[error("encryption failed")]
    Encrypt,
    /// The operating system's random number generator failed.
    #[error(transparent)]
    Random(#[from] RandomError),
}

impl CipherError {
    /// Stable machine-readable reason, e.g. `"decryption_failed"`.
    pub fn reason(&self) -> &'static str {
        match self {
            CipherError::Malformed => "malformed_ciphertext",
            CipherError::UnknownKey => "unknown_key",
            CipherError::Decrypt => "decryption_failed",
            CipherError::Encrypt => "encryption_failed",
            CipherError::Random(e) => e.reason(),
        }
    }
}

/// Encrypts and decrypts database fields with keys derived from [`Keys`].
///
/// `aad` (associated data) is authenticated but not stored: pass something that
/// binds the value to its place, such as `"sigra_users.totp_secret:<user id>"`,
/// so a value copied into another row or column fails to decrypt.
///
/// ```
/// use sigra_core::crypto::{FieldCipher, Keys};
///
/// let cipher = FieldCipher::new(&Keys::new(&[1u8; 32], &[])?);
/// let stored = cipher.encrypt(b"JBSWY3DPEHPK3PXP", b"sigra_users.totp_secret:42")?;
/// assert!(stored.starts_with(cipher.current_key_id()));
/// assert_eq!(cipher.decrypt(&stored, b"sigra_users.totp_secret:42")?, b"JBSWY3DPEHPK3PXP");
/// assert!(cipher.decrypt(&stored, b"sigra_users.totp_secret:43").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FieldCipher {
    current: FieldKey,
    old: Vec<FieldKey>,
}

struct FieldKey {
    id: String,
    aead: Aes256Gcm,
}

impl FieldKey {
    fn new(subkey: [u8; 32]) -> FieldKey {
        let subkey = Zeroizing::new(subkey);
        let [a, b, c, d, ..] = hmac_sha256(&*subkey, b"sigra/v1/key-id");
        FieldKey {
            id: to_hex(&[a, b, c, d]),
            aead: Aes256Gcm::new(&(*subkey).into()),
        }
    }
}

impl FieldCipher {
    /// One AES-256-GCM key per master secret (its [`Purpose::FieldEncryption`] subkey):
    /// the current one encrypts, all of them decrypt.
    pub fn new(keys: &Keys) -> FieldCipher {
        FieldCipher {
            current: FieldKey::new(keys.subkey(Purpose::FieldEncryption)),
            old: keys
                .subkeys(Purpose::FieldEncryption)
                .skip(1)
                .map(FieldKey::new)
                .collect(),
        }
    }

    /// The id that values encrypted now carry. A stored value with another id was
    /// written under an old secret and can be re-encrypted.
    pub fn current_key_id(&self) -> &str {
        &self.current.id
    }

    /// Encrypts `plaintext` with the current key and a fresh random nonce.
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Result<String, CipherError> {
        let nonce = random_bytes::<NONCE_LEN>()?;
        let sealed = self
            .current
            .aead
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| CipherError::Encrypt)?;
        let mut payload = Vec::with_capacity(NONCE_LEN + sealed.len());
        payload.extend_from_slice(&nonce);
        payload.extend_from_slice(&sealed);
        Ok(format!(
            "{}:{}",
            self.current.id,
            URL_SAFE_NO_PAD.encode(payload)
        ))
    }

    /// Decrypts a value made by [`encrypt`](FieldCipher::encrypt) with the same `aad`,
    /// under the current key or any old one.
    pub fn decrypt(&self, value: &str, aad: &[u8]) -> Result<Vec<u8>, CipherError> {
        let (id, encoded) = value.split_once(':').ok_or(CipherError::Malformed)?;
        let id_is_hex = id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if id.len() != KEY_ID_LEN || !id_is_hex {
            return Err(CipherError::Malformed);
        }
        let payload = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| CipherError::Malformed)?;
        let (nonce, sealed) = payload
            .split_first_chunk::<NONCE_LEN>()
            .filter(|(_, sealed)| sealed.len() >= TAG_LEN)
            .ok_or(CipherError::Malformed)?;

        // Two secrets can share a 32-bit id by chance, so every key with the id is tried.
        let mut candidates = iter::once(&self.current)
            .chain(&self.old)
            .filter(|key| key.id == id)
            .peekable();
        if candidates.peek().is_none() {
            return Err(CipherError::UnknownKey);
        }
        candidates
            .find_map(|key| {
                key.aead
                    .decrypt(&(*nonce).into(), Payload { msg: sealed, aad })
                    .ok()
            })
            .ok_or(CipherError::Decrypt)
    }
}

impl fmt::Debug for FieldCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let old: Vec<&str> = self.old.iter().map(|key| key.id.as_str()).collect();
        f.debug_struct("FieldCipher")
            .field("current", &self.current.id)
            .field("old", &old)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const AAD: &[u8] = b"sigra_users.totp_secret:1";

    fn cipher(current: u8, old: &[u8]) -> FieldCipher {
        let old: Vec<[u8; 32]> = old.iter().map(|b| [*b; 32]).collect();
        let old: Vec<&[u8]> = old.iter().map(|k| k.as_slice()).collect();
        FieldCipher::new(&Keys::new(&[current; 32], &old).unwrap())
    }

    #[test]
    fn roundtrip() {
        let c = cipher(1, &[]);
        for plaintext in [&b""[..], b"x", b"JBSWY3DPEHPK3PXP", &[0xff; 1000]] {
            let value = c.encrypt(plaintext, AAD).unwrap();
            let (id, _) = value.split_once(':').unwrap();
            assert_eq!(id, c.current_key_id());
            assert_eq!(id.len(), 8);
            assert_eq!(c.decrypt(&value, AAD).unwrap(), plaintext);
        }
    }

    #[test]
    fn nonces_are_fresh() {
        let c = cipher(1, &[]);
        assert_ne!(
            c.encrypt(b"same", AAD).unwrap(),
            c.encrypt(b"same", AAD).unwrap()
        );
    }

    #[test]
    fn rotation_keeps_old_values_readable() {
        let before = cipher(1, &[]);
        let old_value = before.encrypt(b"secret", AAD).unwrap();

        let after = cipher(2, &[1]);
        assert_ne!(after.current_key_id(), before.current_key_id());
        assert_eq!(after.decrypt(&old_value, AAD).unwrap(), b"secret");
        let new_value = after.encrypt(b"secret", AAD).unwrap();
        assert!(new_value.starts_with(&format!("{}:", after.current_key_id())));
        assert_eq!(
            before.decrypt(&new_value, AAD),
            Err(CipherError::UnknownKey)
        );

        let retired = cipher(2, &[]);
        assert_eq!(
            retired.decrypt(&old_value, AAD),
            Err(CipherError::UnknownKey)
        );
        assert_eq!(CipherError::UnknownKey.reason(), "unknown_key");
    }

    #[test]
    fn wrong_aad_fails() {
        let c = cipher(1, &[]);
        let value = c.encrypt(b"secret", AAD).unwrap();
        let err = c.decrypt(&value, b"sigra_users.totp_secret:2").unwrap_err();
        assert_eq!(err, CipherError::Decrypt);
        assert_eq!(err.reason(), "decryption_failed");
    }

    #[test]
    fn malformed_values() {
        let c = cipher(1, &[]);
        let id = c.current_key_id().to_owned();
        let short = URL_SAFE_NO_PAD.encode([0u8; NONCE_LEN + TAG_LEN - 1]);
        for bad in [
            String::new(),
            "no colon".to_owned(),
            id.clone(),
            format!("{id}:"),
            format!("{id}:{short}"),
            format!("{id}:not base64!"),
            format!(
                "{}:{}",
                id.to_uppercase(),
                URL_SAFE_NO_PAD.encode([0u8; 40])
            ),
            format!("{}:{}", &id[..7], URL_SAFE_NO_PAD.encode([0u8; 40])),
        ] {
            assert_eq!(c.decrypt(&bad, AAD), Err(CipherError::Malformed), "{bad:?}");
        }
        assert_eq!(CipherError::Malformed.reason(), "malformed_ciphertext");
    }

    #[test]
    fn debug_shows_ids_only() {
        let c = cipher(2, &[1]);
        let old = cipher(1, &[]);
        assert_eq!(
            format!("{c:?}"),
            format!(
                "FieldCipher {{ current: {:?}, old: [{:?}], .. }}",
                c.current_key_id(),
                old.current_key_id()
            )
        );
    }

    proptest! {
        #[test]
        fn changed_character_is_rejected(
            plaintext in proptest::collection::vec(any::<u8>(), 0..48),
            position in any::<prop::sample::Index>(),
            replacement in any::<char>(),
        ) {
            let c = cipher(3, &[4]);
            let value = c.encrypt(&plaintext, AAD).unwrap();
            let mut chars: Vec<char> = value.chars().collect();
            let i = position.index(chars.len());
            prop_assume!(chars[i] != replacement);
            chars[i] = replacement;
            let changed: String = chars.into_iter().collect();
            prop_assert!(c.decrypt(&changed, AAD).is_err());
        }

        #[test]
        fn changed_payload_byte_is_rejected(
            plaintext in proptest::collection::vec(any::<u8>(), 0..48),
            position in any::<prop::sample::Index>(),
            mask in 1u8..=255,
        ) {
            let c = cipher(3, &[]);
            let value = c.encrypt(&plaintext, AAD).unwrap();
            let (id, encoded) = value.split_once(':').unwrap();
            let mut payload = URL_SAFE_NO_PAD.decode(encoded).unwrap();
            let i = position.index(payload.len());
            payload[i] ^= mask;
            let changed = format!("{id}:{}", URL_SAFE_NO_PAD.encode(payload));
            prop_assert_eq!(c.decrypt(&changed, AAD), Err(CipherError::Decrypt));
        }
    }
}
