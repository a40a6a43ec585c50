//! One master secret, per-purpose subkeys, and HMAC signing that survives key rotation.
//!
//! Every use of the master secret goes through a subkey derived for that purpose
//! (HKDF-SHA256, RFC 5869), so a tag made for one purpose (say, a CSRF token) can
//! never be replayed as another (say, a remember-me cookie), and no primitive ever
//! sees the master secret itself.
//!
//! Rotation: put the new secret first and the previous ones in `old`. Everything is
//! signed and encrypted with the current secret; the old ones are only accepted when
//! verifying or decrypting, until they are dropped from the configuration.

use std::fmt;
use std::iter;

use hkdf::Hkdf;
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};
use zeroize::Zeroizing;

/// The shortest master secret accepted, in bytes (256 bits).
pub const MIN_SECRET_LEN: usize = 32;

/// What a subkey is for. Each purpose gets an independent key.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// CSRF tokens.
    Csrf,
    /// Session cookies.
    Session,
    /// AES-256-GCM encryption of database fields (see [`FieldCipher`](super::FieldCipher)).
    FieldEncryption,
    /// General-purpose signed values.
    Signing,
    /// Remember-me cookies.
    RememberMe,
    /// The Ed25519 seed that signs JWT access tokens (see `crypto::jwt`, the `api`
    /// feature's).
    AccessToken,
}

impl Purpose {
    const ALL: [Purpose; 6] = [
        Purpose::Csrf,
        Purpose::Session,
        Purpose::FieldEncryption,
        Purpose::Signing,
        Purpose::RememberMe,
        Purpose::AccessToken,
    ];

    /// The HKDF `info` string. These bytes are part of every derived key: changing
    /// one silently invalidates everything signed or encrypted for that purpose.
    fn info(&self) -> &'static [u8] {
        match self {
            Purpose::Csrf => b"sigra/v1/csrf",
            Purpose::Session => b"sigra/v1/session",
            Purpose::FieldEncryption => b"sigra/v1/field-encryption",
            Purpose::Signing => b"sigra/v1/signing",
            Purpose::RememberMe => b"sigra/v1/remember-me",
            Purpose::AccessToken => b"sigra/v1/access-token-ed25519",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Errors from building [`Keys`] or from [`hkdf_sha256`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeysError {
    /// A master secret is shorter than [`MIN_SECRET_LEN`] bytes.
    #[error("a master secret must be at least {MIN_SECRET_LEN} bytes long")]
    TooShort,
    /// HKDF-SHA256 was asked for more than 8160 bytes of output.
    #[error("HKDF-SHA256 output must be at most 8160 bytes")]
    InvalidOutputLength,
}

impl KeysError {
    /// Stable machine-readable reason, e.g. `"secret_too_short"`.
    pub fn reason(&self) -> &'static str {
        match self {
            KeysError::TooShort => "secret_too_short",
            KeysError::InvalidOutputLength => "invalid_output_length",
        }
    }
}

/// The subkeys of one master secret, one per [`Purpose`], indexed by `Purpose::index`.
type Subkeys = Zeroizing<[[u8; 32]; Purpose::ALL.len()]>;

/// The current master secret and any old ones still accepted during rotation.
///
/// Subkeys for every purpose are derived once, here, so signing on the hot path
/// (a CSRF check per request) costs one HMAC. The master secrets themselves are
/// not kept. `Debug` shows only how many old secrets there are.
///
/// ```
/// use sigra_core::crypto::{Keys, Purpose};
///
/// let old = Keys::new(&[1u8; 32], &[])?;
/// let tag = old.sign(Purpose::Csrf, b"session-id");
///
/// // Rotation: the new secret signs, the old one still verifies.
/// let rotated = Keys::new(&[2u8; 32], &[&[1u8; 32]])?;
/// assert!(rotated.verify(Purpose::Csrf, b"session-id", &tag));
/// assert!(!rotated.verify(Purpose::Session, b"session-id", &tag));
/// assert_ne!(rotated.sign(Purpose::Csrf, b"session-id"), tag);
/// # Ok::<(), sigra_core::crypto::keys::KeysError>(())
/// ```
#[derive(Clone)]
pub struct Keys {
    current: Subkeys,
    old: Vec<Subkeys>,
}

impl Keys {
    /// Derives the subkeys of the current master secret and of each old one.
    ///
    /// Fails with [`KeysError::TooShort`] if any secret has fewer than
    /// [`MIN_SECRET_LEN`] bytes.
    pub fn new(current: &[u8], old: &[&[u8]]) -> Result<Keys, KeysError> {
        Ok(Keys {
            current: derive_subkeys(current)?,
            old: old
                .iter()
                .map(|secret| derive_subkeys(secret))
                .collect::<Result<_, _>>()?,
        })
    }

    /// The current secret's subkey for `purpose`:
    /// HKDF-SHA256(ikm = master secret, no salt, info = `sigra/v1/<purpose>`).
    pub fn subkey(&self, purpose: Purpose) -> [u8; 32] {
        self.current[purpose.index()]
    }

    /// The subkeys for `purpose`, current secret first, then the old ones in order.
    pub(crate) fn subkeys(&self, purpose: Purpose) -> impl Iterator<Item = [u8; 32]> + '_ {
        iter::once(&self.current)
            .chain(&self.old)
            .map(move |subkeys| subkeys[purpose.index()])
    }

    /// HMAC-SHA256 of `message` under the current subkey for `purpose`.
    pub fn sign(&self, purpose: Purpose, message: &[u8]) -> [u8; 32] {
        hmac_sha256(&self.subkey(purpose), message)
    }

    /// Whether `tag` is the HMAC of `message` for `purpose` under the current
    /// secret or any old one.
    ///
    /// Every key is tried and compared in constant time, so the time taken does
    /// not reveal whether, or with which secret, the tag matched.
    pub fn verify(&self, purpose: Purpose, message: &[u8], tag: &[u8]) -> bool {
        self.subkeys(purpose)
            .fold(Choice::from(0), |valid, key| {
                valid | hmac_sha256(&key, message).as_slice().ct_eq(tag)
            })
            .into()
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("current", &format_args!("[redacted]"))
            .field("old", &format_args!("[{} redacted]", self.old.len()))
            .finish()
    }
}

fn derive_subkeys(master: &[u8]) -> Result<Subkeys, KeysError> {
    if master.len() < MIN_SECRET_LEN {
        return Err(KeysError::TooShort);
    }
    let mut subkeys: Subkeys = Zeroizing::new([[0u8; 32]; Purpose::ALL.len()]);
    for purpose in Purpose::ALL {
        hkdf_sha256(master, None, purpose.info(), &mut subkeys[purpose.index()])?;
    }
    Ok(subkeys)
}

/// HMAC-SHA256 (RFC 2104) of `message` under `key`, which may have any length.
///
/// ```
/// use sigra_core::crypto::keys::hmac_sha256;
/// let tag = hmac_sha256(b"key", b"The quick brown fox jumps over the lazy dog");
/// assert_eq!(tag[..4], [0xf7, 0xbc, 0x83, 0xf4]);
/// ```
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HKDF-Extract(salt, ikm) is defined as HMAC-Hash(salt, ikm) (RFC 5869 §2.2);
    // going through it avoids `Hmac::new_from_slice`, whose error case cannot
    // happen for HMAC but would still need an unwrap.
    let (tag, _) = Hkdf::<Sha256>::extract(Some(key), message);
    tag.into()
}

/// HKDF-SHA256 (RFC 5869): fills `out` with key material derived from `ikm`.
///
/// A missing `salt` means a string of zeros, as in the RFC. Fails with
/// [`KeysError::InvalidOutputLength`] if `out` is longer than 8160 bytes.
pub fn hkdf_sha256(
    ikm: &[u8],
    salt: Option<&[u8]>,
    info: &[u8],
    out: &mut [u8],
) -> Result<(), KeysError> {
    Hkdf::<Sha256>::new(salt, ikm)
        .expand(info, out)
        .map_err(|_| KeysError::InvalidOutputLength)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        assert_eq!(s.len() % 2, 0);
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn range(from: u8, to_inclusive: u8) -> Vec<u8> {
        (from..=to_inclusive).collect()
    }

    #[test]
    fn rfc4231_hmac_sha256() {
        let long_key = [0xaa; 131];
        let cases: [(&[u8], &[u8], &str); 6] = [
            (
                &[0x0b; 20],
                b"Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                &[0xaa; 20],
                &[0xdd; 50],
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            ),
            (
                &range(0x01, 0x19),
                &[0xcd; 50],
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            ),
            (
                &long_key,
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                &long_key,
                b"This is a test using a larger than block-size key and a larger \
                  than block-size data. The key needs to be hashed before being \
                  used by the HMAC algorithm.",
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        for (i, (key, data, expected)) in cases.iter().enumerate() {
            assert_eq!(hmac_sha256(key, data).to_vec(), hex(expected), "case {i}");
        }
        // Case 5 publishes only the first 128 bits.
        assert_eq!(
            hmac_sha256(&[0x0c; 20], b"Test With Truncation")[..16].to_vec(),
            hex("a3b6167473100ee06e0c796c2955552b")
        );
    }

    #[test]
    fn rfc5869_hkdf_sha256() {
        let cases = [
            (
                vec![0x0b; 22],
                range(0x00, 0x0c),
                range(0xf0, 0xf9),
                "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf\
                 34007208d5b887185865",
            ),
            (
                range(0x00, 0x4f),
                range(0x60, 0xaf),
                range(0xb0, 0xff),
                "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c\
                 59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71\
                 cc30c58179ec3e87c14c01d5c1f3434f1d87",
            ),
            (
                vec![0x0b; 22],
                vec![],
                vec![],
                "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d\
                 9d201395faa4b61a96c8",
            ),
        ];
        for (i, (ikm, salt, info, expected)) in cases.iter().enumerate() {
            let expected = hex(expected);
            let mut okm = vec![0u8; expected.len()];
            hkdf_sha256(ikm, Some(salt), info, &mut okm).unwrap();
            assert_eq!(okm, expected, "case {}", i + 1);
        }
        // An absent salt is the same as an empty one (both become HashLen zeros).
        let mut with_none = [0u8; 42];
        hkdf_sha256(&[0x0b; 22], None, &[], &mut with_none).unwrap();
        assert_eq!(with_none.to_vec(), hex(cases[2].3));
    }

    #[test]
    fn hkdf_rejects_oversized_output() {
        let mut out = vec![0u8; 255 * 32 + 1];
        let err = hkdf_sha256(&[1; 32], None, b"", &mut out).unwrap_err();
        assert_eq!(err.reason(), "invalid_output_length");
    }

    #[test]
    fn subkey_is_hkdf_of_master_with_purpose_info() {
        let master = [7u8; 32];
        let keys = Keys::new(&master, &[]).unwrap();
        let infos: [(Purpose, &[u8]); 6] = [
            (Purpose::Csrf, b"sigra/v1/csrf"),
            (Purpose::Session, b"sigra/v1/session"),
            (Purpose::FieldEncryption, b"sigra/v1/field-encryption"),
            (Purpose::Signing, b"sigra/v1/signing"),
            (Purpose::RememberMe, b"sigra/v1/remember-me"),
            (Purpose::AccessToken, b"sigra/v1/access-token-ed25519"),
        ];
        for (purpose, info) in infos {
            let mut expected = [0u8; 32];
            hkdf_sha256(&master, None, info, &mut expected).unwrap();
            assert_eq!(keys.subkey(purpose), expected, "{purpose:?}");
        }
        let distinct: std::collections::HashSet<_> =
            Purpose::ALL.iter().map(|p| keys.subkey(*p)).collect();
        assert_eq!(distinct.len(), Purpose::ALL.len());
    }

    #[test]
    fn rejects_short_secrets() {
        assert_eq!(Keys::new(&[1; 31], &[]).unwrap_err(), KeysError::TooShort);
        assert_eq!(
            Keys::new(&[1; 32], &[&[2; 32], &[3; 31]]).unwrap_err(),
            KeysError::TooShort
        );
        assert_eq!(KeysError::TooShort.reason(), "secret_too_short");
    }

    #[test]
    fn sign_verify_roundtrip() {
        let keys = Keys::new(&[1; 32], &[]).unwrap();
        let tag = keys.sign(Purpose::Signing, b"hello");
        assert!(keys.verify(Purpose::Signing, b"hello", &tag));
        assert!(!keys.verify(Purpose::Signing, b"hellO", &tag));
        assert!(!keys.verify(Purpose::Signing, b"hello", &tag[..31]));
        assert!(!keys.verify(Purpose::Signing, b"hello", b""));
    }

    #[test]
    fn old_secret_verifies_after_rotation() {
        let before = Keys::new(&[1; 32], &[]).unwrap();
        let tag = before.sign(Purpose::RememberMe, b"user 42");
        let after = Keys::new(&[2; 40], &[&[9; 32], &[1; 32]]).unwrap();
        assert!(after.verify(Purpose::RememberMe, b"user 42", &tag));
        let dropped = Keys::new(&[2; 40], &[&[9; 32]]).unwrap();
        assert!(!dropped.verify(Purpose::RememberMe, b"user 42", &tag));
        assert_eq!(after.subkeys(Purpose::Csrf).count(), 3);
        assert_eq!(
            after.subkeys(Purpose::Csrf).next(),
            Some(after.subkey(Purpose::Csrf))
        );
    }

    #[test]
    fn tag_is_bound_to_its_purpose() {
        let keys = Keys::new(&[1; 32], &[]).unwrap();
        let tag = keys.sign(Purpose::Csrf, b"abc");
        for purpose in Purpose::ALL {
            assert_eq!(keys.verify(purpose, b"abc", &tag), purpose == Purpose::Csrf);
        }
    }

    #[test]
    fn debug_is_redacted() {
        let keys = Keys::new(&[0x41; 32], &[&[0x42; 32]]).unwrap();
        let debug = format!("{keys:?}");
        assert_eq!(debug, "Keys { current: [redacted], old: [1 redacted] }");
    }

    proptest! {
        #[test]
        fn any_bit_flip_fails_verification(
            message in proptest::collection::vec(any::<u8>(), 1..64),
            bit in 0usize..256,
            flip_message in any::<bool>(),
        ) {
            let keys = Keys::new(&[5; 32], &[&[6; 32]]).unwrap();
            let mut tag = keys.sign(Purpose::Session, &message);
            let mut message = message;
            if flip_message {
                let bit = bit % (message.len() * 8);
                message[bit / 8] ^= 1 << (bit % 8);
            } else {
                tag[bit / 8] ^= 1 << (bit % 8);
            }
            prop_assert!(!keys.verify(Purpose::Session, &message, &tag));
        }
    }
}
