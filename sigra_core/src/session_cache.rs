//! An in-memory cache of validated sessions (`sigra.session.cache_ms`, off by default),
//! and of validated API keys under the same TTL and the same revocation rules.
//!
//! A request whose session was validated less than `cache_ms` ago is answered from
//! memory; expiry (idle and absolute) is still checked against the clock on every
//! request, and the database is visited whenever `last_seen_at` is due.
//!
//! Revocation: every flow that ends or replaces sessions commits with
//! [`Revocation::EndSessions`](crate::features::Revocation::EndSessions), which empties
//! this instance's cache at once and then waits `cache_ms` before the flow answers. Entries
//! on other instances are at most `cache_ms` old, so by the time the revoking request
//! is answered, no instance accepts the revoked session any more. An entry read from
//! the database before a local revocation is never stored after it (an epoch guards
//! the insert).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::crypto::TokenHash;
use crate::features::sessions::Authenticated;

/// Entries kept at most; a full cache is emptied (a flood of distinct cookies must not
/// grow memory).
const MAX_ENTRIES: usize = 100_000;

/// What a lookup noted before reading the database.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    epoch: u64,
    started: Instant,
}

/// The cache of validated credentials of type `V` (sessions by default), keyed by the
/// digest of the credential. Off when its TTL is zero.
#[derive(Debug)]
pub struct SessionCache<V = Authenticated> {
    ttl: Duration,
    epoch: AtomicU64,
    entries: Mutex<HashMap<[u8; 32], (V, Instant)>>,
}

impl<V: Clone> SessionCache<V> {
    /// A cache keeping entries for `ttl_ms` milliseconds (0: off).
    pub fn new(ttl_ms: u64) -> SessionCache<V> {
        SessionCache {
            ttl: Duration::from_millis(ttl_ms),
            epoch: AtomicU64::new(0),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the cache is on.
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// How long a revoking request waits before answering.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Taken before the database lookup and passed to [`insert`](Self::insert).
    // Entry age is real elapsed time, not clock time: revoking flows really sleep
    // `cache_ms`, so entries must age in the same time.
    #[allow(clippy::disallowed_methods)]
    pub fn ticket(&self) -> Ticket {
        Ticket {
            epoch: self.epoch.load(Ordering::SeqCst),
            started: Instant::now(),
        }
    }

    /// A fresh entry for this token, if any.
    pub fn get(&self, hash: &TokenHash) -> Option<V> {
        if !self.enabled() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(hash.as_bytes())
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(found, _)| found.clone())
    }

    /// Stores a session validated from the database, unless a local revocation happened
    /// since the ticket was taken. The entry ages from when the lookup *started*: data
    /// read just before another instance's revocation committed must expire no later than
    /// that instance's wait.
    pub fn insert(&self, hash: &TokenHash, found: &V, ticket: Ticket) {
        if !self.enabled() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if self.epoch.load(Ordering::SeqCst) != ticket.epoch {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(*hash.as_bytes(), (found.clone(), ticket.started));
    }

    /// Forgets one token (a session found dead).
    pub fn remove(&self, hash: &TokenHash) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(hash.as_bytes());
    }

    /// Forgets everything and invalidates lookups in flight.
    pub fn clear(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        self.epoch.fetch_add(1, Ordering::SeqCst);
        entries.clear();
    }
}
