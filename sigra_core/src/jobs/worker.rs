//! The outbox worker.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::clock::SharedClock;
use crate::crypto::FieldCipher;
use crate::mail::{self, MAIL_JOB_KIND, MailError, Mailer};
use crate::store::{Db, OutboxJob, StoreError, outbox};

/// The first retry waits this long; each further one doubles it.
const BACKOFF_BASE_SECS: i64 = 30;
/// No retry waits longer than this.
const BACKOFF_CAP_SECS: i64 = 3600;
/// Longest one send may take. A send still running when its lease ends could be claimed
/// and sent again by another worker, so sends are also cut to half the lease.
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// How the [`Worker`] paces itself.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Wait between runs when not woken. Default 2 s.
    pub poll_interval: std::time::Duration,
    /// How long a claimed job is reserved for this worker. Default 5 min.
    pub lease: time::Duration,
    /// Jobs claimed per run. Default 20.
    pub batch: u64,
    /// Attempts before a job is given up. Default 8 (`sigra.mail.max_attempts`).
    pub max_attempts: i32,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            poll_interval: std::time::Duration::from_secs(2),
            lease: time::Duration::minutes(5),
            batch: 20,
            max_attempts: 8,
        }
    }
}

/// The future a [`Sweep`] answers with: how many items it handled, or why it failed.
pub type SweepFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<usize, String>> + Send + 'a>>;

/// Periodic work the [`Worker`] runs at the start of every run, before the outbox (so
/// mail a sweep queues goes out in the same run). A sweep must be safe to run on several
/// workers at once: each item it handles is claimed by a conditional write.
pub trait Sweep: Send + Sync + std::fmt::Debug + 'static {
    /// A name for logs.
    fn name(&self) -> &'static str;
    /// Handles whatever is due now.
    fn run(&self) -> SweepFuture<'_>;
    /// Whether what it handles counts in [`RunReport::swept`] (work items such as
    /// deletions); bookkeeping such as sealing the audit log does not.
    fn counted(&self) -> bool {
        true
    }
}

/// What one [`Worker::run_once`] did.
#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
pub struct RunReport {
    /// Items handled by the sweeps (for example, deletions carried out).
    pub swept: usize,
    /// Jobs done.
    pub sent: usize,
    /// Jobs that failed and will run again.
    pub retried: usize,
    /// Jobs that failed for good (too many attempts, unknown kind, unreadable payload).
    pub given_up: usize,
}

/// The wait before retrying a job that has failed after `attempts` earlier attempts:
/// 30 s · 2^attempts, at most 1 h.
///
/// ```
/// use sigra_core::jobs::backoff;
/// use time::Duration;
/// assert_eq!(backoff(0), Duration::seconds(30));
/// assert_eq!(backoff(3), Duration::minutes(4));
/// assert_eq!(backoff(20), Duration::hours(1));
/// ```
pub fn backoff(attempts: i32) -> time::Duration {
    let exponent = u32::try_from(attempts.max(0)).unwrap_or(0).min(16);
    let secs = BACKOFF_BASE_SECS.saturating_mul(1 << exponent);
    time::Duration::seconds(secs.min(BACKOFF_CAP_SECS))
}

/// Runs outbox jobs: claims the due ones, sends their mail and records the outcome.
///
/// Several workers (in one process or many) can share a database: each job is claimed by
/// one of them at a time.
#[derive(Debug)]
pub struct Worker {
    db: Db,
    mailer: Arc<dyn Mailer>,
    cipher: Arc<FieldCipher>,
    clock: SharedClock,
    config: WorkerConfig,
    sweeps: Vec<Arc<dyn Sweep>>,
}

enum Outcome {
    Sent,
    Retry(String),
    GiveUp(String),
}

impl Worker {
    /// A worker on `db` that delivers mail through `mailer`, opening payloads with `cipher`.
    pub fn new(
        db: Db,
        mailer: Arc<dyn Mailer>,
        cipher: Arc<FieldCipher>,
        clock: SharedClock,
        config: WorkerConfig,
    ) -> Worker {
        Worker {
            db,
            mailer,
            cipher,
            clock,
            config,
            sweeps: Vec::new(),
        }
    }

    /// Adds a [`Sweep`] to every run.
    #[must_use]
    pub fn with_sweep(mut self, sweep: Arc<dyn Sweep>) -> Worker {
        self.sweeps.push(sweep);
        self
    }

    /// Runs every job due now (up to the batch size) once.
    ///
    /// A store error while recording one job's outcome does not stop the others; the
    /// first such error is returned after the batch (the job then runs again when its
    /// lease ends, so its mail may be sent twice; never lost).
    /// Sweeps run first; a failing sweep is logged and does not stop the run.
    pub async fn run_once(&self) -> Result<RunReport, StoreError> {
        let mut report = RunReport::default();
        for sweep in &self.sweeps {
            match sweep.run().await {
                Ok(n) if sweep.counted() => report.swept += n,
                Ok(_) => {}
                Err(e) => log::error!("{} sweep failed: {e}", sweep.name()),
            }
        }
        let claimed_at = self.clock.now();
        let lease = self.config.lease;
        let jobs = outbox::claim_due(&self.db, claimed_at, lease, self.config.batch).await?;
        let send_timeout = SEND_TIMEOUT.min(lease.unsigned_abs() / 2);
        let mut first_error = None;
        for job in jobs {
            // Past this point the lease might end mid-send; the job stays claimed and is
            // picked up again once the lease expires.
            if self.clock.now() + send_timeout >= claimed_at + lease {
                break;
            }
            let outcome = self.run_job(&job, send_timeout).await;
            if let Err(e) = self.record(&job, outcome, &mut report).await {
                log::error!("outbox job {}: outcome could not be recorded: {e}", job.id);
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    async fn run_job(&self, job: &OutboxJob, send_timeout: std::time::Duration) -> Outcome {
        if job.kind != MAIL_JOB_KIND {
            return Outcome::GiveUp(format!("unknown job kind `{}`", job.kind));
        }
        let mail = match mail::unseal(&self.cipher, job.id, &job.payload.0) {
            Ok(mail) => mail,
            Err(e) => return Outcome::GiveUp(e.to_string()),
        };
        match tokio::time::timeout(send_timeout, self.mailer.send(&mail)).await {
            Ok(Ok(())) => Outcome::Sent,
            Ok(Err(e)) => Outcome::Retry(e.to_string()),
            Err(_) => Outcome::Retry(
                MailError::Smtp(format!("no answer within {} s", send_timeout.as_secs()))
                    .to_string(),
            ),
        }
    }

    async fn record(
        &self,
        job: &OutboxJob,
        outcome: Outcome,
        report: &mut RunReport,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let attempt = job.attempts.saturating_add(1);
        // SMTP answers often quote the recipient: neither the log nor `last_error` keeps it.
        let outcome = match outcome {
            Outcome::Retry(error) => Outcome::Retry(outbox::scrub_addresses(&error)),
            Outcome::GiveUp(error) => Outcome::GiveUp(outbox::scrub_addresses(&error)),
            Outcome::Sent => Outcome::Sent,
        };
        match outcome {
            Outcome::Sent => {
                outbox::complete(&self.db, job.id, now).await?;
                log::debug!("outbox job {} done (attempt {attempt})", job.id);
                report.sent += 1;
            }
            Outcome::Retry(error) if attempt < self.config.max_attempts => {
                let retry_at = now + backoff(job.attempts);
                outbox::fail(&self.db, job.id, &error, Some(retry_at), now).await?;
                log::warn!(
                    "outbox job {} failed (attempt {attempt} of {}), retrying at {retry_at}: {error}",
                    job.id,
                    self.config.max_attempts
                );
                report.retried += 1;
            }
            Outcome::Retry(error) | Outcome::GiveUp(error) => {
                outbox::fail(&self.db, job.id, &error, None, now).await?;
                log::error!(
                    "outbox job {} ({}) given up after attempt {attempt}: {error}",
                    job.id,
                    job.kind
                );
                report.given_up += 1;
            }
        }
        Ok(())
    }

    /// Runs the worker on the current Tokio runtime until [`WorkerHandle::shutdown`]: a
    /// run, then a wait of `poll_interval` or until [`WorkerHandle::wake`], and again.
    ///
    /// Errors (a database outage, even a panicking mailer) are logged and the loop goes
    /// on. Called outside a Tokio runtime it logs an error and runs nothing.
    pub fn spawn(self) -> WorkerHandle {
        let shared = Arc::new(Shared {
            notify: Notify::new(),
            stop: AtomicBool::new(false),
            task: Mutex::new(None),
        });
        let runtime = match tokio::runtime::Handle::try_current() {
            Ok(runtime) => runtime,
            Err(e) => {
                log::error!("outbox worker not started: no Tokio runtime ({e}); mail stays queued");
                return WorkerHandle { shared };
            }
        };
        let task = runtime.spawn(run_loop(Arc::new(self), Arc::clone(&shared)));
        *shared.lock_task() = Some(task);
        WorkerHandle { shared }
    }
}

async fn run_loop(worker: Arc<Worker>, shared: Arc<Shared>) {
    let poll_interval = worker.config.poll_interval;
    while !shared.stop.load(Ordering::Acquire) {
        // Each run is its own task so that a panic in a mailer ends that run, not the loop.
        let run = tokio::spawn({
            let worker = Arc::clone(&worker);
            async move { worker.run_once().await }
        });
        match run.await {
            Ok(Ok(report)) if report != RunReport::default() => {
                log::debug!("outbox worker: {report:?}");
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => log::error!("outbox worker: {e} ({})", e.reason()),
            Err(e) => log::error!("outbox worker: a run ended abnormally: {e}"),
        }
        if shared.stop.load(Ordering::Acquire) {
            break;
        }
        tokio::select! {
            () = shared.notify.notified() => {}
            () = tokio::time::sleep(poll_interval) => {}
        }
    }
    log::debug!("outbox worker stopped");
}

#[derive(Debug)]
struct Shared {
    notify: Notify,
    stop: AtomicBool,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Shared {
    fn lock_task(&self) -> std::sync::MutexGuard<'_, Option<JoinHandle<()>>> {
        self.task
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Controls a spawned [`Worker`]. Clones control the same worker.
#[derive(Debug, Clone)]
pub struct WorkerHandle {
    shared: Arc<Shared>,
}

impl WorkerHandle {
    /// Starts a run now instead of at the next poll (call it after committing a
    /// transaction that enqueued mail). Wakes during a run are not lost: another run follows.
    pub fn wake(&self) {
        self.shared.notify.notify_one();
    }

    /// Asks the worker to stop after its current run.
    pub fn shutdown(&self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.notify.notify_one();
    }

    /// Whether the worker's loop has ended (or never started).
    pub fn is_stopped(&self) -> bool {
        self.shared
            .lock_task()
            .as_ref()
            .is_none_or(JoinHandle::is_finished)
    }

    /// Waits until the worker's loop has ended; call after [`shutdown`](Self::shutdown).
    /// Only the first caller waits; later ones return at once.
    pub async fn join(&self) {
        let task = self.shared.lock_task().take();
        if let Some(task) = task
            && let Err(e) = task.await
        {
            log::error!("outbox worker ended abnormally: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn backoff_doubles_from_30_seconds_up_to_an_hour() {
        let schedule: Vec<i64> = (0..10).map(|a| backoff(a).whole_seconds()).collect();
        assert_eq!(
            schedule,
            [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
        );
        assert_eq!(backoff(-3), Duration::seconds(30));
        assert_eq!(backoff(i32::MAX), Duration::hours(1));
    }

    #[test]
    fn defaults() {
        let c = WorkerConfig::default();
        assert_eq!(c.poll_interval, std::time::Duration::from_secs(2));
        assert_eq!(c.lease, Duration::minutes(5));
        assert_eq!(c.batch, 20);
        assert_eq!(c.max_attempts, 8);
    }
}
