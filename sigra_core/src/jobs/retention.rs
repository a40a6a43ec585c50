//! The retention sweep: deletes what Sigra no longer needs, so data does not outlive its
//! purpose or grow forever.
//!
//! Algorithm: at most once per `sigra.retention.interval_secs` (daily by default), one
//! worker run deletes (1) outbox jobs done (sent or given up) more than
//! `sigra.retention.outbox_days` ago, sealed mail bodies with them; (2) sessions past
//! their absolute expiry or idle timeout, (3) emailed and remember-me tokens past
//! their expiry, (4) passkey ceremonies past theirs (5 minutes, used or not) and (5)
//! social log-in flows past theirs (10 minutes, used or not), each
//! kept `sigra.retention.expired_days` longer (default 0). Each is one
//! conditional `DELETE`, so several instances sweeping at once each delete a row at most
//! once and the result is the same as one sweep: exactly-once safe without a lock.
//!
//! Trade-off: the interval is remembered per worker (in memory), so N instances sweep up
//! to N times a day, and a restarted worker sweeps at once; both only repeat idempotent
//! deletes. `SigraState::run_due_jobs` builds a fresh worker, so it sweeps on every call.
//!
//! Failure mode: a failing delete is logged by the worker and retried on its next run;
//! nothing is read or kept in between, so a partial sweep leaves only rows the next one
//! deletes.

use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

use super::{Sweep, SweepFuture};
use crate::clock::SharedClock;
use crate::config::{RetentionConfig, SigraConfig};
use crate::store::{Db, StoreError, oauth, outbox, passkeys, sessions, tokens};

/// What one retention sweep deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RetentionReport {
    /// Outbox jobs done before the retention window.
    pub outbox: u64,
    /// Expired or idle sessions.
    pub sessions: u64,
    /// Expired tokens.
    pub tokens: u64,
    /// Expired passkey ceremonies.
    pub ceremonies: u64,
    /// Expired social log-in flows.
    pub oauth_flows: u64,
}

impl RetentionReport {
    /// Rows deleted in all.
    pub fn total(&self) -> u64 {
        self.outbox + self.sessions + self.tokens + self.ceremonies + self.oauth_flows
    }
}

/// The [`Sweep`] that applies `sigra.retention` (see the module documentation).
#[derive(Debug)]
pub struct RetentionSweep {
    db: Db,
    clock: SharedClock,
    retention: RetentionConfig,
    idle_timeout: Duration,
    last_run: Mutex<Option<OffsetDateTime>>,
}

impl RetentionSweep {
    /// A sweep over `db` with the retention and session settings of `config`.
    pub fn new(db: Db, clock: SharedClock, config: &SigraConfig) -> RetentionSweep {
        RetentionSweep {
            db,
            clock,
            retention: config.retention.clone(),
            idle_timeout: Duration::seconds(config.session.idle_timeout_secs),
            last_run: Mutex::new(None),
        }
    }

    /// Deletes everything past retention now, whatever the interval.
    pub async fn sweep_now(&self) -> Result<RetentionReport, StoreError> {
        let now = self.clock.now();
        let keep_expired = Duration::days(self.retention.expired_days);
        let expired = now - keep_expired;
        let outbox_cutoff = now - Duration::days(self.retention.outbox_days);
        Ok(RetentionReport {
            outbox: outbox::delete_done_before(&self.db, outbox_cutoff).await?,
            sessions: sessions::delete_expired(&self.db, expired, expired - self.idle_timeout)
                .await?,
            tokens: tokens::delete_expired(&self.db, expired).await?,
            ceremonies: passkeys::delete_expired_ceremonies(&self.db, expired).await?,
            oauth_flows: oauth::delete_expired_flows(&self.db, expired).await?,
        })
    }

    fn lock_last_run(&self) -> std::sync::MutexGuard<'_, Option<OffsetDateTime>> {
        self.last_run
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn due(&self, now: OffsetDateTime) -> bool {
        let interval = Duration::seconds(self.retention.interval_secs);
        self.lock_last_run()
            .is_none_or(|last| now >= last + interval)
    }
}

impl Sweep for RetentionSweep {
    fn name(&self) -> &'static str {
        "retention"
    }

    fn run(&self) -> SweepFuture<'_> {
        Box::pin(async move {
            let now = self.clock.now();
            if !self.due(now) {
                return Ok(0);
            }
            let report = self.sweep_now().await.map_err(|e| e.to_string())?;
            *self.lock_last_run() = Some(now);
            if report.total() > 0 {
                log::info!("retention sweep: {report:?}");
            }
            // Housekeeping, not work done for anyone: `RunReport::swept` keeps counting
            // the items sweeps carry out (deletions of accounts); the counts go to the log.
            Ok(0)
        })
    }
}
