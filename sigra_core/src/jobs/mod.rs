//! Durable background work: the outbox worker.
//!
//! Flows write jobs to the `sigra_outbox` table inside their own transaction (see
//! [`crate::mail::enqueue`]); a [`Worker`] claims due jobs with a lease, runs them and
//! marks them done, or schedules a retry with exponential [`backoff`]. Because the job is
//! only marked done after it ran, delivery is at least once: a worker that dies mid-send
//! loses its lease and the job runs again.
//!
//! Sweeps run at the start of every run: the account deletions that are due
//! ([`crate::features::deletion::DeletionSweep`]) and the [`RetentionSweep`], which
//! deletes finished mail and expired sessions and tokens (`sigra.retention`).
//!
//! ```no_run
//! # async fn demo(
//! #     db: sigra_core::store::Db,
//! #     cipher: std::sync::Arc<sigra_core::crypto::FieldCipher>,
//! # ) {
//! use std::sync::Arc;
//! use sigra_core::clock::SystemClock;
//! use sigra_core::jobs::{Worker, WorkerConfig};
//! use sigra_core::mail::{Delivery, DevMailbox};
//!
//! let clock = Arc::new(SystemClock);
//! let mailer = Arc::new(Delivery::new(None, Some(DevMailbox::new(clock.clone()))));
//! let handle = Worker::new(db, mailer, cipher, clock, WorkerConfig::default()).spawn();
//! // … after enqueuing a mail and committing:
//! handle.wake();
//! // … at shutdown:
//! handle.shutdown();
//! handle.join().await;
//! # }
//! ```

mod retention;
mod worker;

pub use retention::{RetentionReport, RetentionSweep};
pub use worker::{RunReport, Sweep, SweepFuture, Worker, WorkerConfig, WorkerHandle, backoff};
