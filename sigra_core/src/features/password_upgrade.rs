//! Password upgrade: wraps every imported bcrypt hash in Argon2id, offline, without the
//! passwords (see [`crate::crypto::PasswordHasher::wrap_bcrypt`]).
//!
//! Algorithm: accounts whose hash is plain bcrypt are read in id order, a batch at a
//! time; each hash is wrapped on the hashing pool and written back only if it is still
//! the one read (a log-in that rehashed it meanwhile wins). Trade-off: a wrapped hash
//! protects the stored value (Argon2id on top of bcrypt) but a check still runs bcrypt
//! first, so wrong passwords on such accounts stay slower until their next log-in
//! replaces the hash with plain Argon2id. Failure mode: a malformed bcrypt hash is left
//! as it is and counted as skipped; an interrupted run can simply be started again.

use super::{Auth, FlowError};
use crate::crypto::PasswordError;
use crate::store::users;

/// What a run of [`wrap_bcrypt_hashes`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WrapReport {
    /// Hashes wrapped and stored.
    pub wrapped: u64,
    /// Hashes left alone: malformed, or changed while the run was working on them.
    pub skipped: u64,
}

/// Wraps every plain bcrypt password hash in Argon2id, `batch` accounts at a time.
/// Safe to run while the app serves requests, and to run again.
///
/// ```no_run
/// # async fn demo(auth: &sigra_core::features::Auth) -> Result<(), sigra_core::features::FlowError> {
/// let report = sigra_core::features::password_upgrade::wrap_bcrypt_hashes(auth, 500).await?;
/// println!("wrapped {} bcrypt hashes", report.wrapped);
/// # Ok(()) }
/// ```
pub async fn wrap_bcrypt_hashes(auth: &Auth, batch: u64) -> Result<WrapReport, FlowError> {
    let batch = batch.max(1);
    let mut report = WrapReport::default();
    let mut after = None;
    loop {
        let accounts = users::bcrypt_hashed(&auth.db, after, batch).await?;
        let Some((last, _)) = accounts.last() else {
            return Ok(report);
        };
        after = Some(*last);
        for (id, old) in &accounts {
            let new = match auth.hasher.wrap_bcrypt(old).await {
                Ok(Some(new)) => new,
                Ok(None) | Err(PasswordError::MalformedHash) => {
                    report.skipped += 1;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let now = auth.clock.now();
            if users::replace_password_hash(&auth.db, *id, old, &new, now).await? == 1 {
                report.wrapped += 1;
            } else {
                report.skipped += 1;
            }
        }
        if u64::try_from(accounts.len()).unwrap_or(u64::MAX) < batch {
            return Ok(report);
        }
    }
}
