//! Password hashing: Argon2id on a bounded pool of worker threads.
//!
//! Argon2id is deliberately slow and memory-hungry (about 15 ms and 19 MiB per hash
//! at the OWASP defaults), so it must not run on the async executor, and running one
//! thread per request lets a burst of logins exhaust memory. Hashes therefore run
//! on a fixed number of threads behind a bounded queue: when the queue is full the
//! caller gets [`PasswordError::Busy`] at once (the web layer answers 503 with
//! `Retry-After`) instead of piling up work. Each worker reuses one Argon2 memory
//! buffer, which keeps resident memory near `workers × memory_kib`.
//!
//! Verification also upgrades: a correct password whose stored hash uses old
//! parameters, an older Argon2 variant or bcrypt comes back with a fresh hash to store.
//!
//! Imported bcrypt hashes can also be upgraded offline, without the passwords:
//! [`PasswordHasher::wrap_bcrypt`] stores Argon2id over the bcrypt hash
//! (`$bcrypt-argon2id$<cost>$<bcrypt salt>$argon2id$…`), so a leaked database no longer
//! holds plain bcrypt. Verifying runs bcrypt with the kept cost and salt, then Argon2id;
//! the first right password replaces it with a plain Argon2id hash. Trade-off: until
//! then a check still costs the bcrypt work on top (wrapping hides no timing).

use std::fmt;
use std::num::NonZeroUsize;
use std::panic::{self, AssertUnwindSafe};
use std::str::FromStr;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine as _;
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;

use super::random_bytes;
use crate::secret::SecretString;

const SALT_LEN: usize = 16;
const OUTPUT_LEN: usize = 32;
/// Jobs that may wait per worker in [`PasswordHasher::with_default_workers`].
const QUEUE_PER_WORKER: usize = 32;
/// The costs the bcrypt crate accepts (it does not export its bounds).
const BCRYPT_COSTS: std::ops::RangeInclusive<u32> = 4..=31;

/// How a bcrypt hash wrapped in Argon2id by [`PasswordHasher::wrap_bcrypt`] begins.
///
/// ```
/// assert_eq!(sigra_core::crypto::password::WRAPPED_BCRYPT_PREFIX, "$bcrypt-argon2id$");
/// ```
pub const WRAPPED_BCRYPT_PREFIX: &str = "$bcrypt-argon2id$";
/// Length of a bcrypt salt in bcrypt's base64.
const BCRYPT_SALT_CHARS: usize = 22;

/// Argon2id cost parameters.
///
/// The default is OWASP's recommendation: 19 MiB of memory, 2 passes, 1 lane.
///
/// ```
/// use sigra_core::crypto::Argon2Params;
/// let p = Argon2Params::default();
/// assert_eq!((p.memory_kib, p.iterations, p.parallelism), (19_456, 2, 1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Argon2Params {
    /// Memory per hash, in KiB (`m`).
    pub memory_kib: u32,
    /// Number of passes over the memory (`t`).
    pub iterations: u32,
    /// Number of lanes (`p`). Lanes run one after another here; the pool's
    /// workers are the parallelism.
    pub parallelism: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Argon2Params {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl Argon2Params {
    fn to_argon2(self) -> Result<Params, PasswordError> {
        Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(OUTPUT_LEN),
        )
        .map_err(|e| PasswordError::InvalidConfig(format!("argon2 parameters: {e}")))
    }
}

/// Errors from [`PasswordHasher`].
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Every worker is busy and the queue is full; retry shortly.
    #[error("too many passwords are being hashed; try again shortly")]
    Busy,
    /// The stored hash is neither a valid Argon2 PHC string nor a valid bcrypt hash.
    #[error("the stored password hash is malformed")]
    MalformedHash,
    /// Hashing itself failed (out of memory, no randomness).
    #[error("password hashing failed: {0}")]
    Hashing(String),
    /// The worker threads have stopped.
    #[error("the password hashing workers have stopped")]
    WorkerGone,
    /// [`PasswordHasher::new`] was given unusable parameters or worker counts.
    #[error("invalid password hasher configuration: {0}")]
    InvalidConfig(String),
}

impl PasswordError {
    /// Stable machine-readable reason, e.g. `"hasher_busy"`.
    pub fn reason(&self) -> &'static str {
        match self {
            PasswordError::Busy => "hasher_busy",
            PasswordError::MalformedHash => "malformed_hash",
            PasswordError::Hashing(_) => "hashing_failed",
            PasswordError::WorkerGone => "hasher_stopped",
            PasswordError::InvalidConfig(_) => "invalid_hasher_config",
        }
    }
}

/// The outcome of [`PasswordHasher::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verification {
    /// Wrong password, or no stored hash.
    Invalid,
    /// Right password.
    Valid {
        /// A new hash to store in place of the old one, when the old one used
        /// outdated parameters or algorithm.
        rehash: Option<String>,
    },
}

impl Verification {
    /// Whether the password was right.
    pub fn is_valid(&self) -> bool {
        matches!(self, Verification::Valid { .. })
    }
}

/// Hashes and verifies passwords on a bounded pool of worker threads.
///
/// Cloning is cheap and shares the pool; the threads stop when the last clone is dropped.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use sigra_core::crypto::{Argon2Params, PasswordHasher, Verification};
/// use sigra_core::secret::SecretString;
///
/// let hasher = PasswordHasher::new(Argon2Params::default(), 1, 8)?;
/// let password = SecretString::new("correct horse battery staple");
/// let stored = hasher.hash(&password).await?;
/// assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
///
/// let outcome = hasher.verify(&password, Some(&stored)).await?;
/// assert_eq!(outcome, Verification::Valid { rehash: None });
/// // An unknown account costs the same time and is simply invalid.
/// assert_eq!(hasher.verify(&password, None).await?, Verification::Invalid);
/// # Ok::<(), sigra_core::crypto::PasswordError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Argon2Params,
    argon2_params: Params,
    queue: SyncSender<Job>,
    workers: usize,
    queue_len: usize,
    /// Stands in for the stored hash of an unknown account, so that looking one up
    /// costs a full Argon2 run just like a real account.
    dummy: StoredHash,
}

type Job = Box<dyn FnOnce(&mut Memory) + Send>;

impl PasswordHasher {
    /// Starts `workers` threads (named `sigra-hash-N`) with room for `queue`
    /// waiting jobs. With `queue == 0`, a job is accepted only when a worker is idle.
    pub fn new(
        params: Argon2Params,
        workers: usize,
        queue: usize,
    ) -> Result<PasswordHasher, PasswordError> {
        if workers == 0 {
            return Err(PasswordError::InvalidConfig(
                "at least one hashing worker is needed".to_owned(),
            ));
        }
        let argon2_params = params.to_argon2()?;
        let dummy = StoredHash::Argon2(Argon2Hash {
            algorithm: Algorithm::Argon2id,
            version: Version::V0x13,
            params: argon2_params.clone(),
            salt: random_bytes::<SALT_LEN>().map_err(hashing)?.to_vec(),
            // Random rather than the hash of some password: verifying against it
            // costs the same, and no password is known to match.
            output: random_bytes::<OUTPUT_LEN>().map_err(hashing)?.to_vec(),
        });

        let (sender, receiver) = mpsc::sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        let baseline = argon2_params.block_count();
        for n in 1..=workers {
            let receiver = Arc::clone(&receiver);
            thread::Builder::new()
                .name(format!("sigra-hash-{n}"))
                .spawn(move || work(&receiver, baseline))
                .map_err(|e| hashing(format!("cannot start a hashing thread: {e}")))?;
        }

        Ok(PasswordHasher {
            inner: Arc::new(Inner {
                params,
                argon2_params,
                queue: sender,
                workers,
                queue_len: queue,
                dummy,
            }),
        })
    }

    /// One worker per available core, with 32 waiting jobs per worker.
    pub fn with_default_workers(params: Argon2Params) -> Result<PasswordHasher, PasswordError> {
        let workers = thread::available_parallelism().map_or(1, NonZeroUsize::get);
        PasswordHasher::new(params, workers, workers * QUEUE_PER_WORKER)
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> Argon2Params {
        self.inner.params
    }

    /// Hashes `password` as an Argon2id v19 PHC string with a random 16-byte salt
    /// and a 32-byte output.
    pub async fn hash(&self, password: &SecretString) -> Result<String, PasswordError> {
        let password = password.clone();
        let params = self.inner.argon2_params.clone();
        self.run(move |memory| new_phc(password.expose().as_bytes(), &params, memory))
            .await
    }

    /// Checks `password` against a stored hash.
    ///
    /// `stored` is `None` for an unknown account or one without a password: the
    /// password is then checked against a dummy hash, so the answer
    /// ([`Verification::Invalid`]) takes as long as for a real account.
    ///
    /// Argon2 (any variant), bcrypt (`$2a$`, `$2b$`, `$2y$`) and wrapped bcrypt
    /// ([`WRAPPED_BCRYPT_PREFIX`]) hashes are accepted;
    /// a right password whose hash is not Argon2id v19 with the current parameters
    /// comes back with `rehash: Some(new_hash)`. A stored hash that is neither is
    /// [`PasswordError::MalformedHash`].
    pub async fn verify(
        &self,
        password: &SecretString,
        stored: Option<&str>,
    ) -> Result<Verification, PasswordError> {
        let (stored, known) = match stored {
            Some(stored) => (StoredHash::parse(stored)?, true),
            None => (self.inner.dummy.clone(), false),
        };
        let password = password.clone();
        let params = self.inner.argon2_params.clone();
        self.run(move |memory| {
            let password = password.expose().as_bytes();
            let valid = stored.matches(password, memory)? && known;
            if !valid {
                return Ok(Verification::Invalid);
            }
            let rehash = if stored.is_current(&params) {
                None
            } else {
                Some(new_phc(password, &params, memory)?)
            };
            Ok(Verification::Valid { rehash })
        })
        .await
    }

    /// Wraps a stored bcrypt hash in Argon2id with the current parameters, without the
    /// password: the result (starting with [`WRAPPED_BCRYPT_PREFIX`]) verifies exactly
    /// the passwords the bcrypt hash did, and is replaced by a plain Argon2id hash on the
    /// next right password. Answers `None` when `stored` is not a bcrypt hash.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use sigra_core::crypto::{Argon2Params, PasswordHasher};
    /// use sigra_core::secret::SecretString;
    /// let hasher = PasswordHasher::new(Argon2Params::default(), 1, 8)?;
    /// let imported = "$2b$04$/reKLURyvk36vzV2a/TSeecQeKv5R8hQvtw5GGaySLg7xVbCZs4Wm";
    /// let wrapped = hasher.wrap_bcrypt(imported).await?.unwrap();
    /// assert!(wrapped.starts_with("$bcrypt-argon2id$04$/reKLURyvk36vzV2a/TSee$argon2id$"));
    /// assert!(!wrapped.contains("cQeKv5R8hQvtw5GGaySLg7xVbCZs4Wm"), "no bcrypt output kept");
    /// assert!(hasher.verify(&SecretString::new("correctbatteryhorsestapler"), Some(&wrapped)).await?.is_valid());
    /// assert!(hasher.wrap_bcrypt(&wrapped).await?.is_none());
    /// # Ok::<(), sigra_core::crypto::PasswordError>(())
    /// # }).unwrap();
    /// ```
    pub async fn wrap_bcrypt(&self, stored: &str) -> Result<Option<String>, PasswordError> {
        let StoredHash::Bcrypt(bcrypt_hash) = StoredHash::parse(stored)? else {
            return Ok(None);
        };
        let parts =
            bcrypt::HashParts::from_str(&bcrypt_hash).map_err(|_| PasswordError::MalformedHash)?;
        let canonical = parts.format_for_version(bcrypt::Version::TwoB);
        let salt = canonical
            .get(7..7 + BCRYPT_SALT_CHARS)
            .ok_or(PasswordError::MalformedHash)?
            .to_owned();
        let cost = parts.get_cost();
        let params = self.inner.argon2_params.clone();
        self.run(move |memory| {
            let outer = new_phc(canonical.as_bytes(), &params, memory)?;
            Ok(Some(format!(
                "{WRAPPED_BCRYPT_PREFIX}{cost:02}${salt}{outer}"
            )))
        })
        .await
    }

    /// Whether a stored hash should be replaced: it is bcrypt, another Argon2 variant
    /// or version, uses other parameters than the current ones, or is malformed.
    pub fn needs_rehash(&self, phc: &str) -> bool {
        !StoredHash::parse(phc).is_ok_and(|stored| stored.is_current(&self.inner.argon2_params))
    }

    /// Queues `work` for a worker and waits for its answer.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> Result<T, PasswordError> + Send + 'static,
    ) -> Result<T, PasswordError> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            // The caller may have given up (request cancelled or timed out) while the
            // job waited; skipping it frees the worker for someone still waiting.
            if reply.is_closed() {
                return;
            }
            // Ignored for the same reason: nobody is left to tell.
            let _ = reply.send(work(memory));
        });
        self.inner.queue.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => PasswordError::Busy,
            TrySendError::Disconnected(_) => PasswordError::WorkerGone,
        })?;
        answer.await.map_err(|_| PasswordError::WorkerGone)?
    }
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.inner.params)
            .field("workers", &self.inner.workers)
            .field("queue", &self.inner.queue_len)
            .finish_non_exhaustive()
    }
}

/// A worker: takes jobs until every [`PasswordHasher`] clone (and so the sender) is gone.
fn work(receiver: &Mutex<Receiver<Job>>, baseline_blocks: usize) {
    let mut memory = Memory {
        blocks: Vec::new(),
        baseline: baseline_blocks,
    };
    loop {
        // The lock is held only while waiting, never while hashing; the guard is a
        // temporary of this statement.
        let next = receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv();
        let Ok(job) = next else { return };
        // A panicking job drops its reply sender (its caller sees `WorkerGone`);
        // catching it keeps the pool at full size.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory)));
    }
}

/// A worker's Argon2 memory, reused from one hash to the next.
struct Memory {
    blocks: Vec<Block>,
    /// Blocks needed at the current parameters; the buffer is trimmed back to
    /// this after verifying an old hash that needed more.
    baseline: usize,
}

impl Memory {
    fn hash_into(
        &mut self,
        argon2: &Argon2<'_>,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), PasswordError> {
        let needed = argon2.params().block_count();
        if let Some(missing) = needed.checked_sub(self.blocks.len()) {
            // Fallible so that an absurd `m` in a stored hash is an error, not an abort.
            self.blocks
                .try_reserve_exact(missing)
                .map_err(|_| hashing("not enough memory for the argon2 parameters"))?;
            self.blocks.resize(needed, Block::default());
        }
        let result = argon2
            .hash_password_into_with_memory(password, salt, out, self.blocks.as_mut_slice())
            .map_err(hashing);
        if self.blocks.len() > self.baseline {
            self.blocks.truncate(self.baseline);
            self.blocks.shrink_to_fit();
        }
        result
    }
}

/// A stored hash, parsed before it is queued so malformed ones fail fast.
#[derive(Clone)]
enum StoredHash {
    Argon2(Argon2Hash),
    Bcrypt(String),
    /// Argon2id over the `$2b$` form of a bcrypt hash with this cost and salt.
    WrappedBcrypt {
        cost: u32,
        salt: [u8; 16],
        outer: Argon2Hash,
    },
}

#[derive(Clone)]
struct Argon2Hash {
    algorithm: Algorithm,
    version: Version,
    params: Params,
    salt: Vec<u8>,
    output: Vec<u8>,
}

impl StoredHash {
    fn parse(stored: &str) -> Result<StoredHash, PasswordError> {
        if ["$2a$", "$2b$", "$2y$"]
            .iter()
            .any(|p| stored.starts_with(p))
        {
            let parts =
                bcrypt::HashParts::from_str(stored).map_err(|_| PasswordError::MalformedHash)?;
            if !BCRYPT_COSTS.contains(&parts.get_cost()) {
                return Err(PasswordError::MalformedHash);
            }
            return Ok(StoredHash::Bcrypt(stored.to_owned()));
        }
        if let Some(rest) = stored.strip_prefix(WRAPPED_BCRYPT_PREFIX) {
            let (cost, rest) = rest.split_once('$').ok_or(PasswordError::MalformedHash)?;
            let cost: u32 = cost.parse().map_err(|_| PasswordError::MalformedHash)?;
            let (Some(salt_b64), Some(phc)) =
                (rest.get(..BCRYPT_SALT_CHARS), rest.get(BCRYPT_SALT_CHARS..))
            else {
                return Err(PasswordError::MalformedHash);
            };
            let mut salt = [0u8; 16];
            let decoded = bcrypt_base64()
                .decode_slice(salt_b64, &mut salt)
                .map_err(|_| PasswordError::MalformedHash)?;
            let StoredHash::Argon2(outer) = StoredHash::parse(phc)? else {
                return Err(PasswordError::MalformedHash);
            };
            if !BCRYPT_COSTS.contains(&cost) || decoded != salt.len() {
                return Err(PasswordError::MalformedHash);
            }
            return Ok(StoredHash::WrappedBcrypt { cost, salt, outer });
        }

        let malformed = |_| PasswordError::MalformedHash;
        let phc = PasswordHash::new(stored).map_err(malformed)?;
        let algorithm = Algorithm::try_from(phc.algorithm).map_err(malformed)?;
        // The reference implementation writes no `v=` for version 1.0 (0x10).
        let version = phc
            .version
            .map_or(Ok(Version::V0x10), Version::try_from)
            .map_err(|_| PasswordError::MalformedHash)?;
        let params = Params::try_from(&phc).map_err(malformed)?;
        let mut salt = [0u8; 64];
        let salt = phc
            .salt
            .ok_or(PasswordError::MalformedHash)?
            .decode_b64(&mut salt)
            .map_err(malformed)?
            .to_vec();
        let output = phc
            .hash
            .ok_or(PasswordError::MalformedHash)?
            .as_bytes()
            .to_vec();
        Ok(StoredHash::Argon2(Argon2Hash {
            algorithm,
            version,
            params,
            salt,
            output,
        }))
    }

    /// Whether `password` matches, comparing outputs in constant time.
    fn matches(&self, password: &[u8], memory: &mut Memory) -> Result<bool, PasswordError> {
        match self {
            StoredHash::Argon2(stored) => stored.matches(password, memory),
            StoredHash::WrappedBcrypt { cost, salt, outer } => {
                let inner = bcrypt::hash_with_salt(password, *cost, *salt)
                    .map_err(|_| PasswordError::MalformedHash)?
                    .format_for_version(bcrypt::Version::TwoB);
                outer.matches(inner.as_bytes(), memory)
            }
            // bcrypt's own check compares in constant time; its truncation to 72 bytes
            // is kept so hashes made elsewhere still verify.
            StoredHash::Bcrypt(stored) => {
                bcrypt::verify(password, stored).map_err(|_| PasswordError::MalformedHash)
            }
        }
    }

    /// Whether this is exactly what [`new_phc`] would produce with `params`.
    fn is_current(&self, params: &Params) -> bool {
        match self {
            StoredHash::Argon2(stored) => {
                stored.algorithm == Algorithm::Argon2id
                    && stored.version == Version::V0x13
                    && stored.params == *params
            }
            StoredHash::Bcrypt(_) | StoredHash::WrappedBcrypt { .. } => false,
        }
    }
}

impl Argon2Hash {
    /// Whether `input` hashes to the stored output, compared in constant time.
    fn matches(&self, input: &[u8], memory: &mut Memory) -> Result<bool, PasswordError> {
        let argon2 = Argon2::new(self.algorithm, self.version, self.params.clone());
        let mut output = vec![0u8; self.output.len()];
        memory.hash_into(&argon2, input, &self.salt, &mut output)?;
        Ok(output.ct_eq(&self.output).into())
    }
}

/// bcrypt's own base64 (its alphabet, no padding), for the salt of a wrapped hash.
fn bcrypt_base64() -> base64::engine::GeneralPurpose {
    base64::engine::GeneralPurpose::new(
        &base64::alphabet::BCRYPT,
        base64::engine::general_purpose::NO_PAD,
    )
}

/// A fresh Argon2id v19 PHC string for `password`.
fn new_phc(password: &[u8], params: &Params, memory: &mut Memory) -> Result<String, PasswordError> {
    let salt = random_bytes::<SALT_LEN>().map_err(hashing)?;
    let mut output = [0u8; OUTPUT_LEN];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    memory.hash_into(&argon2, password, &salt, &mut output)?;
    let salt = SaltString::encode_b64(&salt).map_err(hashing)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(hashing)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&output).map_err(hashing)?),
    };
    Ok(phc.to_string())
}

fn hashing(e: impl fmt::Display) -> PasswordError {
    PasswordError::Hashing(e.to_string())
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
    use tokio::task::JoinSet;

    use super::*;

    const SMALL: Argon2Params = Argon2Params {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    fn small() -> PasswordHasher {
        PasswordHasher::new(SMALL, 1, 8).unwrap()
    }

    fn secret(s: &str) -> SecretString {
        SecretString::new(s)
    }

    #[tokio::test]
    async fn hash_verify_roundtrip() {
        let hasher = small();
        let phc = hasher.hash(&secret("correct horse")).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        let parsed = PasswordHash::new(&phc).unwrap();
        assert_eq!(parsed.salt.unwrap().as_str().len(), 22); // 16 bytes
        assert_eq!(parsed.hash.unwrap().len(), 32);
        assert!(!hasher.needs_rehash(&phc));

        let outcome = hasher
            .verify(&secret("correct horse"), Some(&phc))
            .await
            .unwrap();
        assert_eq!(outcome, Verification::Valid { rehash: None });
        assert!(outcome.is_valid());

        let again = hasher.hash(&secret("correct horse")).await.unwrap();
        assert_ne!(phc, again, "salts must differ");
    }

    #[tokio::test]
    async fn wrong_password_is_invalid() {
        let hasher = small();
        let phc = hasher.hash(&secret("correct horse")).await.unwrap();
        for wrong in ["correct hors", "correct horsE", "", "correct horse "] {
            let outcome = hasher.verify(&secret(wrong), Some(&phc)).await.unwrap();
            assert_eq!(outcome, Verification::Invalid, "{wrong:?}");
            assert!(!outcome.is_valid());
        }
    }

    #[tokio::test]
    async fn missing_hash_is_invalid() {
        let hasher = small();
        assert_eq!(
            hasher.verify(&secret("x"), None).await.unwrap(),
            Verification::Invalid
        );
        assert_eq!(
            hasher.verify(&secret(""), None).await.unwrap(),
            Verification::Invalid
        );
    }

    #[tokio::test]
    async fn old_params_are_rehashed() {
        let old = small();
        let current = PasswordHasher::new(
            Argon2Params {
                memory_kib: 128,
                iterations: 2,
                parallelism: 1,
            },
            1,
            8,
        )
        .unwrap();
        let password = secret("correct horse");
        let old_phc = old.hash(&password).await.unwrap();
        assert!(current.needs_rehash(&old_phc));

        let Verification::Valid {
            rehash: Some(new_phc),
        } = current.verify(&password, Some(&old_phc)).await.unwrap()
        else {
            panic!("expected a rehash");
        };
        assert!(
            new_phc.starts_with("$argon2id$v=19$m=128,t=2,p=1$"),
            "{new_phc}"
        );
        assert!(!current.needs_rehash(&new_phc));
        assert_eq!(
            current.verify(&password, Some(&new_phc)).await.unwrap(),
            Verification::Valid { rehash: None }
        );
        // A wrong password never yields a rehash.
        assert_eq!(
            current
                .verify(&secret("nope"), Some(&old_phc))
                .await
                .unwrap(),
            Verification::Invalid
        );
    }

    #[tokio::test]
    async fn other_argon2_variants_verify_and_upgrade() {
        let hasher = small();
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        for (algorithm, version) in [
            (Algorithm::Argon2i, Version::V0x13),
            (Algorithm::Argon2d, Version::V0x13),
            (Algorithm::Argon2id, Version::V0x10),
        ] {
            let argon2 = Argon2::new(algorithm, version, SMALL.to_argon2().unwrap());
            let phc = argon2.hash_password(b"pw", &salt).unwrap().to_string();
            assert!(hasher.needs_rehash(&phc), "{phc}");
            let outcome = hasher.verify(&secret("pw"), Some(&phc)).await.unwrap();
            let Verification::Valid {
                rehash: Some(new_phc),
            } = outcome
            else {
                panic!("{phc}: {outcome:?}");
            };
            assert!(!hasher.needs_rehash(&new_phc));
        }
    }

    #[tokio::test]
    async fn interoperates_with_the_argon2_crate() {
        let hasher = small();
        let params = SMALL.to_argon2().unwrap();
        let reference = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);

        let ours = hasher.hash(&secret("pw")).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(reference.verify_password(b"pw", &parsed).is_ok());
        assert!(reference.verify_password(b"pW", &parsed).is_err());

        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = reference.hash_password(b"pw", &salt).unwrap().to_string();
        assert_eq!(
            hasher.verify(&secret("pw"), Some(&theirs)).await.unwrap(),
            Verification::Valid { rehash: None }
        );
    }

    #[tokio::test]
    async fn bcrypt_verifies_and_upgrades() {
        let hasher = small();
        let bcrypt_hash = bcrypt::hash("correct horse", 4).unwrap();
        let y_variant = bcrypt_hash.replacen("$2b$", "$2y$", 1);
        let a_variant = bcrypt_hash.replacen("$2b$", "$2a$", 1);
        for stored in [bcrypt_hash, y_variant, a_variant] {
            assert!(hasher.needs_rehash(&stored));
            let outcome = hasher
                .verify(&secret("correct horse"), Some(&stored))
                .await
                .unwrap();
            let Verification::Valid {
                rehash: Some(new_phc),
            } = outcome
            else {
                panic!("{outcome:?}");
            };
            assert!(new_phc.starts_with("$argon2id$v=19$"));
            assert_eq!(
                hasher
                    .verify(&secret("correct horse"), Some(&new_phc))
                    .await
                    .unwrap(),
                Verification::Valid { rehash: None }
            );
            assert_eq!(
                hasher
                    .verify(&secret("wrong horse"), Some(&stored))
                    .await
                    .unwrap(),
                Verification::Invalid
            );
        }
    }

    #[tokio::test]
    async fn bcrypt_wrapped_in_argon2id_verifies_through_both_and_upgrades() {
        let hasher = small();
        let bcrypt_hash = bcrypt::hash("correct horse", 4).unwrap();
        let y_variant = bcrypt_hash.replacen("$2b$", "$2y$", 1);
        let a_variant = bcrypt_hash.replacen("$2b$", "$2a$", 1);
        for stored in [bcrypt_hash, y_variant, a_variant] {
            let wrapped = hasher.wrap_bcrypt(&stored).await.unwrap().unwrap();
            let start = format!(
                "{WRAPPED_BCRYPT_PREFIX}04${}$argon2id$v=19$m=64,t=1,p=1$",
                &stored[7..29]
            );
            assert!(wrapped.starts_with(&start), "{wrapped}");
            assert!(
                !wrapped.contains(&stored[29..]),
                "the bcrypt output is not kept"
            );
            assert!(hasher.needs_rehash(&wrapped));
            assert!(hasher.wrap_bcrypt(&wrapped).await.unwrap().is_none());
            let Verification::Valid {
                rehash: Some(new_phc),
            } = hasher
                .verify(&secret("correct horse"), Some(&wrapped))
                .await
                .unwrap()
            else {
                panic!("expected a rehash");
            };
            assert!(!hasher.needs_rehash(&new_phc));
            assert_eq!(
                hasher
                    .verify(&secret("wrong horse"), Some(&wrapped))
                    .await
                    .unwrap(),
                Verification::Invalid
            );
            for bad in [
                wrapped.replacen("$04$", "$03$", 1),
                wrapped.replacen("$04$", "$xx$", 1),
                wrapped.replacen(&stored[7..29], &stored[7..28], 1),
                wrapped.replacen("$argon2id$", "$scrypt$", 1),
                format!("{wrapped}!"),
            ] {
                let err = hasher
                    .verify(&secret("x"), Some(&bad))
                    .await
                    .expect_err(&bad);
                assert_eq!(err, PasswordError::MalformedHash, "{bad:?}");
            }
        }
        let argon2 = hasher.hash(&secret("pw")).await.unwrap();
        assert!(hasher.wrap_bcrypt(&argon2).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn malformed_hashes_are_errors() {
        let hasher = small();
        let good = hasher.hash(&secret("pw")).await.unwrap();
        let bcrypt_hash = bcrypt::hash("pw", 4).unwrap();
        let no_output = good.rsplit_once('$').unwrap().0.to_owned();
        for bad in [
            "".to_owned(),
            "plaintext".to_owned(),
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ".to_owned(),
            no_output,
            good.replace("$v=19$", "$v=18$"),
            good.replace("m=64", "m=1"),
            good.replace("$argon2id$", "$scrypt$"),
            bcrypt_hash[..59].to_owned(),
            bcrypt_hash.replacen("$04$", "$03$", 1),
            bcrypt_hash.replacen("$04$", "$xx$", 1),
            "$1$saltsalt$hash".to_owned(),
        ] {
            let err = hasher.verify(&secret("pw"), Some(&bad)).await.unwrap_err();
            assert_eq!(err, PasswordError::MalformedHash, "{bad:?}");
            assert_eq!(err.reason(), "malformed_hash");
            assert!(hasher.needs_rehash(&bad));
        }
    }

    #[tokio::test]
    async fn full_queue_answers_busy() {
        let params = Argon2Params {
            memory_kib: 8 * 1024,
            iterations: 2,
            parallelism: 1,
        };
        let hasher = PasswordHasher::new(params, 1, 1).unwrap();
        let mut tasks = JoinSet::new();
        for i in 0..32 {
            let hasher = hasher.clone();
            tasks.spawn(async move {
                let password = secret(&format!("password {i}"));
                let result = hasher.hash(&password).await;
                (password, result)
            });
        }
        let (mut busy, mut done) = (0, Vec::new());
        while let Some(joined) = tasks.join_next().await {
            match joined.unwrap() {
                (_, Err(PasswordError::Busy)) => busy += 1,
                (password, Ok(phc)) => done.push((password, phc)),
                (_, Err(e)) => panic!("unexpected error: {e}"),
            }
        }
        assert!(busy >= 1, "no submission was refused");
        assert!(!done.is_empty(), "every submission was refused");
        for (password, phc) in done {
            assert!(
                hasher
                    .verify(&password, Some(&phc))
                    .await
                    .unwrap()
                    .is_valid()
            );
        }
        assert_eq!(PasswordError::Busy.reason(), "hasher_busy");
    }

    #[tokio::test]
    async fn parallel_lanes_roundtrip() {
        let params = Argon2Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 2,
        };
        let hasher = PasswordHasher::new(params, 2, 4).unwrap();
        let phc = hasher.hash(&secret("pw")).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=2$"));
        assert!(
            hasher
                .verify(&secret("pw"), Some(&phc))
                .await
                .unwrap()
                .is_valid()
        );
    }

    #[tokio::test]
    async fn default_params_roundtrip() {
        let hasher = PasswordHasher::with_default_workers(Argon2Params::default()).unwrap();
        let password = secret("correct horse battery staple");
        let phc = hasher.hash(&password).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert_eq!(
            hasher.verify(&password, Some(&phc)).await.unwrap(),
            Verification::Valid { rehash: None }
        );
        assert_eq!(
            hasher
                .verify(&secret("Correct horse battery staple"), Some(&phc))
                .await
                .unwrap(),
            Verification::Invalid
        );
    }

    #[test]
    fn memory_grows_for_old_hashes_then_shrinks_back() {
        let current = SMALL.to_argon2().unwrap();
        let mut memory = Memory {
            blocks: Vec::new(),
            baseline: current.block_count(),
        };
        let mut out = [0u8; 32];
        let small = Argon2::new(Algorithm::Argon2id, Version::V0x13, current.clone());
        memory
            .hash_into(&small, b"pw", b"saltsalt", &mut out)
            .unwrap();
        assert_eq!(memory.blocks.len(), current.block_count());

        let bigger = Params::new(1024, 1, 1, Some(32)).unwrap();
        let big = Argon2::new(Algorithm::Argon2id, Version::V0x13, bigger);
        let mut big_out = [0u8; 32];
        memory
            .hash_into(&big, b"pw", b"saltsalt", &mut big_out)
            .unwrap();
        assert_eq!(memory.blocks.len(), current.block_count());
        assert!(memory.blocks.capacity() < 1024);

        // Reused memory gives the same answer as fresh memory.
        let mut fresh = [0u8; 32];
        small
            .hash_password_into(b"pw", b"saltsalt", &mut fresh)
            .unwrap();
        assert_eq!(out, fresh);
        memory
            .hash_into(&small, b"pw", b"saltsalt", &mut out)
            .unwrap();
        assert_eq!(out, fresh);
    }

    #[test]
    fn usable_from_async_handlers() {
        fn send_sync<T: Send + Sync + 'static>(_: &T) {}
        fn send<T: Send>(_: &T) {}
        let hasher = small();
        let password = secret("pw");
        send_sync(&hasher);
        send(&hasher.hash(&password));
        send(&hasher.verify(&password, None));
    }

    #[test]
    fn rejects_bad_configuration() {
        let err = PasswordHasher::new(SMALL, 0, 1).unwrap_err();
        assert_eq!(err.reason(), "invalid_hasher_config");
        let tiny = Argon2Params {
            memory_kib: 1,
            ..SMALL
        };
        assert_eq!(
            PasswordHasher::new(tiny, 1, 1).unwrap_err().reason(),
            "invalid_hasher_config"
        );
    }

    #[test]
    fn debug_shows_configuration_only() {
        let hasher = PasswordHasher::new(SMALL, 1, 8).unwrap();
        assert_eq!(
            format!("{hasher:?}"),
            "PasswordHasher { params: Argon2Params { memory_kib: 64, iterations: 1, \
             parallelism: 1 }, workers: 1, queue: 8, .. }"
        );
    }
}
