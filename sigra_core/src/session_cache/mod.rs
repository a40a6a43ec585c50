//! An in-memory cache of validated sessions (`sigra.session.cache_ms`, on by default), and
//! of validated API keys under the same TTL and the same revocation rules.
//!
//! # Algorithm
//!
//! A request whose session was validated less than `cache_ms` ago is answered from
//! memory; expiry (idle and absolute) is still checked against the clock on every
//! request, and the database is visited whenever `last_seen_at` is due. Every entry
//! carries the [`Gate`]'s epoch at the moment its lookup started; bumping the epoch
//! ([`Gate::invalidate`]) drops every entry of both caches at once, and a lookup that
//! started before a bump never stores its (possibly stale) result after it.
//!
//! Revocation is pushed: a flow that ends sessions bumps this instance's epoch and
//! [`broadcast`]s the revocation to the other instances, waiting until each has bumped
//! its own (see that module for the protocol, its states and failure cases). The
//! [`Gate`] also decides whether this instance may answer from its caches at all: only
//! while its broadcast subscription and heartbeat are healthy. Otherwise every request
//! reads the database (fail closed).
//!
//! # Trade-off
//!
//! A revocation empties the whole cache, on every instance, rather than the entries of
//! one account: one atomic increment, no index of tokens by account, no way to miss an
//! entry. The cost is one database read per active session per instance after each
//! revocation, so under a storm of log-outs the hit rate falls toward the uncached path;
//! it never lets a revoked session through.
//!
//! # Failure mode
//!
//! A lost subscription, a failed heartbeat or a peer that does not answer can only make
//! requests slower (database reads, a revoking request waiting up to `cache_ms`); none of
//! them lets a revoked session be answered from memory after the revoking request
//! answered. A flood of distinct cookies cannot grow memory: a full cache is emptied.

pub mod broadcast;

pub use broadcast::{Broadcast, BroadcastStats, Transport};

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::crypto::TokenHash;
use crate::features::sessions::Authenticated;

/// Entries kept at most; a full cache is emptied (a flood of distinct cookies must not
/// grow memory).
const MAX_ENTRIES: usize = 100_000;

/// Whether this instance may answer from its caches, and the epoch whose increment
/// invalidates every cached entry. Shared by the session and API-key caches and driven by
/// [`Broadcast`].
#[derive(Debug)]
pub struct Gate {
    base: Instant,
    epoch: AtomicU64,
    /// Milliseconds after `base` until which the caches may answer (0: closed).
    serving_until: AtomicU64,
}

impl Gate {
    /// A closed gate: nothing is answered from memory until [`Broadcast`] opens it.
    // Serving windows are real elapsed time, like entry ages: they follow heartbeats.
    #[allow(clippy::disallowed_methods)]
    pub fn new() -> Gate {
        Gate {
            base: Instant::now(),
            epoch: AtomicU64::new(0),
            serving_until: AtomicU64::new(0),
        }
    }

    /// A gate that stays open (a single process with nothing to coordinate, e.g. a unit
    /// test of the cache).
    pub fn always_open() -> Gate {
        let gate = Gate::new();
        gate.serving_until.store(u64::MAX, Ordering::SeqCst);
        gate
    }

    fn millis(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether the caches may answer now.
    #[allow(clippy::disallowed_methods)]
    pub fn serving(&self) -> bool {
        self.millis(Instant::now()) < self.serving_until.load(Ordering::SeqCst)
    }

    /// Invalidates every entry of every cache behind this gate, and every lookup in flight.
    pub fn invalidate(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Opens the gate until `until`, or closes it (`None`). Reopening after the gate was
    /// closed (or lapsed) invalidates first: revocations missed meanwhile cannot surface.
    /// Callers serialise their calls (the broadcast's liveness lock).
    pub(crate) fn set(&self, until: Option<Instant>) {
        match until {
            None => {
                self.serving_until.store(0, Ordering::SeqCst);
                self.invalidate();
            }
            Some(until) => {
                if !self.serving() {
                    self.invalidate();
                }
                self.serving_until
                    .store(self.millis(until).max(1), Ordering::SeqCst);
            }
        }
    }
}

impl Default for Gate {
    fn default() -> Self {
        Gate::new()
    }
}

/// What a lookup noted before reading the database.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    epoch: u64,
    started: Instant,
}

#[derive(Debug)]
struct Entry<V> {
    value: V,
    started: Instant,
    epoch: u64,
}

/// The cache of validated credentials of type `V` (sessions by default), keyed by the
/// digest of the credential. Off when its TTL is zero.
#[derive(Debug)]
pub struct SessionCache<V = Authenticated> {
    ttl: Duration,
    gate: std::sync::Arc<Gate>,
    entries: Mutex<HashMap<[u8; 32], Entry<V>>>,
}

impl<V: Clone> SessionCache<V> {
    /// A cache keeping entries for `ttl_ms` milliseconds (0: off), answering only while
    /// `gate` is open.
    pub fn new(ttl_ms: u64, gate: std::sync::Arc<Gate>) -> SessionCache<V> {
        SessionCache {
            ttl: Duration::from_millis(ttl_ms),
            gate,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the cache is on.
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// Taken before the database lookup and passed to [`insert`](Self::insert).
    // Entry age is real elapsed time, not clock time: a revoking request waits real time
    // for peers, so entries must age in the same time.
    #[allow(clippy::disallowed_methods)]
    pub fn ticket(&self) -> Ticket {
        Ticket {
            epoch: self.gate.epoch(),
            started: Instant::now(),
        }
    }

    /// A fresh entry for this token, if any and if the gate is open.
    pub fn get(&self, hash: &TokenHash) -> Option<V> {
        if !self.enabled() || !self.gate.serving() {
            return None;
        }
        let epoch = self.gate.epoch();
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(hash.as_bytes())
            .filter(|e| e.epoch == epoch && e.started.elapsed() < self.ttl)
            .map(|e| e.value.clone())
    }

    /// Stores a credential validated from the database, unless the epoch moved since the
    /// ticket was taken. The entry ages from when the lookup *started*: data read just
    /// before another instance's revocation committed expires no later than that
    /// instance's longest wait.
    pub fn insert(&self, hash: &TokenHash, found: &V, ticket: Ticket) {
        if !self.enabled() || !self.gate.serving() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if self.gate.epoch() != ticket.epoch || ticket.started.elapsed() >= self.ttl {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            *hash.as_bytes(),
            Entry {
                value: found.clone(),
                started: ticket.started,
                epoch: ticket.epoch,
            },
        );
    }

    /// Forgets one token (a session found dead).
    pub fn remove(&self, hash: &TokenHash) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(hash.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn hash(byte: u8) -> TokenHash {
        TokenHash::from_bytes([byte; 32])
    }

    #[test]
    fn an_invalidation_drops_entries_and_lookups_in_flight() {
        let gate = Arc::new(Gate::always_open());
        let cache: SessionCache<u32> = SessionCache::new(60_000, gate.clone());
        let t = cache.ticket();
        cache.insert(&hash(1), &1, t);
        assert_eq!(cache.get(&hash(1)), Some(1));
        let in_flight = cache.ticket();
        gate.invalidate();
        assert_eq!(cache.get(&hash(1)), None, "entry dropped");
        cache.insert(&hash(2), &2, in_flight);
        assert_eq!(
            cache.get(&hash(2)),
            None,
            "read before the invalidation: not kept"
        );
        let after = cache.ticket();
        cache.insert(&hash(2), &2, after);
        assert_eq!(cache.get(&hash(2)), Some(2));
    }

    #[test]
    fn a_closed_gate_answers_nothing_and_reopening_forgets() {
        let gate = Arc::new(Gate::always_open());
        let cache: SessionCache<u32> = SessionCache::new(60_000, gate.clone());
        cache.insert(&hash(1), &1, cache.ticket());
        gate.set(None);
        assert_eq!(cache.get(&hash(1)), None, "closed");
        let while_closed = cache.ticket();
        cache.insert(&hash(3), &3, while_closed);
        #[allow(clippy::disallowed_methods)]
        gate.set(Some(Instant::now() + Duration::from_secs(60)));
        assert!(gate.serving());
        assert_eq!(
            cache.get(&hash(1)),
            None,
            "entries from before the outage are gone"
        );
        assert_eq!(cache.get(&hash(3)), None);
    }

    #[test]
    fn a_zero_ttl_turns_the_cache_off() {
        let cache: SessionCache<u32> = SessionCache::new(0, Arc::new(Gate::always_open()));
        cache.insert(&hash(1), &1, cache.ticket());
        assert_eq!(cache.get(&hash(1)), None);
    }
}
