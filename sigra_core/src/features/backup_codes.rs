//! Backup codes: ten single-use codes of 80 random bits each, shown once when the second
//! factor is turned on (and when regenerated, behind sudo), stored as SHA-256 hashes.
//! Each one passes the second-factor step once, in place of an authenticator code, and
//! its use is mailed to the account.

use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::sessions::Authenticated;
use super::{Auth, FlowError, RequestMeta, Revocation, audit};
use crate::crypto::random_bytes;
use crate::secret::SecretString;
use crate::store::{Executor, mfa, new_id};

/// Codes per set.
pub const COUNT: usize = 10;

/// A code as stored and compared: no spaces or dashes, lower case.
pub(crate) fn normalize(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether a (normalized) entry has the shape of a backup code: 16 base32 letters.
pub(crate) fn looks_like_code(normalized: &str) -> bool {
    normalized.len() == 16
        && normalized
            .chars()
            .all(|c| c.is_ascii_lowercase() || ('2'..='7').contains(&c))
}

fn code_hash(user_id: Uuid, normalized: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"sigra/backup-code\0");
    hasher.update(user_id.as_bytes());
    hasher.update(normalized.as_bytes());
    hasher.finalize().into()
}

/// Replaces the account's codes with a fresh set, in `ex`'s transaction; answers them
/// (`xxxx-xxxx-xxxx-xxxx`) to be shown once.
pub(crate) async fn replace(
    auth: &Auth,
    ex: &impl Executor,
    user_id: Uuid,
) -> Result<Vec<SecretString>, FlowError> {
    let now = auth.clock.now();
    mfa::delete_backup_codes(ex, user_id).await?;
    let mut codes = Vec::with_capacity(COUNT);
    for _ in 0..COUNT {
        let raw: [u8; 10] = random_bytes()?;
        let encoded = totp_rs::Secret::from(raw.to_vec())
            .to_base32()
            .to_lowercase();
        mfa::insert_backup_code(
            ex,
            new_id(auth.clock.as_ref()),
            user_id,
            &code_hash(user_id, &encoded),
            now,
        )
        .await?;
        let grouped: Vec<&str> = (0..4)
            .filter_map(|i| encoded.get(i * 4..i * 4 + 4))
            .collect();
        codes.push(SecretString::new(grouped.join("-")));
    }
    Ok(codes)
}

/// Uses a code (already [`normalize`]d) if it is one of the account's unused codes.
/// Of several concurrent uses of one code, exactly one succeeds.
pub(crate) async fn consume(
    auth: &Auth,
    ex: &impl Executor,
    user_id: Uuid,
    normalized: &str,
) -> Result<bool, FlowError> {
    let hash = code_hash(user_id, normalized);
    Ok(mfa::use_backup_code(ex, user_id, &hash, auth.clock.now()).await? == 1)
}

/// How many unused codes the account has left.
pub async fn remaining(auth: &Auth, user_id: Uuid) -> Result<i64, FlowError> {
    Ok(mfa::unused_backup_codes(&auth.db, user_id).await?)
}

/// Replaces the current user's backup codes with a new set (the web layer asks for sudo
/// first) and answers them, to be shown once; `None` when the second factor is off.
/// Browsers trusted to skip the second factor must pass it again.
///
/// ```no_run
/// # async fn demo(auth: &sigra_core::features::Auth, me: &sigra_core::features::sessions::Authenticated) -> Result<(), sigra_core::features::FlowError> {
/// use sigra_core::features::{RequestMeta, backup_codes};
/// if let Some(codes) = backup_codes::regenerate(auth, me, &RequestMeta::default()).await? {
///     for code in &codes {
///         println!("{}", code.expose());
///     }
/// }
/// # Ok(()) }
/// ```
pub async fn regenerate(
    auth: &Auth,
    current: &Authenticated,
    meta: &RequestMeta,
) -> Result<Option<Vec<SecretString>>, FlowError> {
    let user = &current.user;
    if user.mfa_enabled_at.is_none() {
        return Ok(None);
    }
    let mut change = auth.change(meta).await?;
    let codes = replace(auth, change.tx(), user.id).await?;
    mfa::bump_epoch(change.tx(), user.id).await?;
    change
        .mail("backup_codes_regenerated", &user.email, json!({}))
        .await?;
    let action = audit::MFA_BACKUP_CODES_REGENERATED;
    change.audit(action, user.id, json!({})).await?;
    change.commit(Revocation::None).await?;
    Ok(Some(codes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_normalize_and_are_recognized() {
        assert_eq!(normalize(" ABCD-efgh 2345-6723 "), "abcdefgh23456723");
        assert!(looks_like_code("abcdefgh23456723"));
        assert!(!looks_like_code("123456"));
        assert!(!looks_like_code("abcdefgh2345672!"));
        assert!(
            !looks_like_code("abcdefgh23456789"),
            "8 and 9 are not base32"
        );
    }

    #[test]
    fn hashes_are_bound_to_the_account() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_ne!(
            code_hash(a, "abcdefgh23456723"),
            code_hash(b, "abcdefgh23456723")
        );
        assert_ne!(
            code_hash(a, "abcdefgh23456723"),
            code_hash(a, "abcdefgh23456722")
        );
    }
}
