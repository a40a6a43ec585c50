//! Rate limiting of the authentication endpoints: at most
//! [`max_requests`](RateLimitConfig::max_requests) hits per key (the Rocket layer uses
//! endpoint plus [`client_ip`](crate::net::client_ip)) per [`window_secs`](RateLimitConfig::window_secs).
//!
//! # Algorithm
//!
//! A fixed window: hits are counted per key and per window index
//! `floor(now / window_secs)`, with `now` read from the injected [`Clock`](crate::Clock)
//! (so tests move a `FixedClock`, and every instance sharing Redis agrees on the window
//! from its own clock). A request is allowed while its window's count, including itself,
//! is at most `max_requests`; a limited request is told to retry when the next window
//! starts.
//!
//! The trade-off of a fixed window: a client that spends its whole allowance at the end
//! of one window and again at the start of the next makes up to `2 × max_requests`
//! requests within a short span around the boundary. The limit still holds on average
//! (never more than `max_requests` per window), which is what brute-force protection
//! needs; the benefit is one counter per key, one Redis round trip per hit, and no
//! per-request timestamps.
//!
//! # Backends
//!
//! * **Memory** (default): a map in this process, pruned whenever the window changes
//!   and capped at [`MEMORY_MAX_KEYS`] keys; when a flood of distinct keys fills it, the
//!   entries of the oldest windows and the lowest counts are evicted first, so a client
//!   that is being limited keeps its count.
//! * **Redis** (`redis_url` set): `INCR` plus `EXPIRE` in one `MULTI` transaction on
//!   `sigra:rl:<window index>:<key>`, so every app instance shares the counts and each
//!   counter always expires (one window plus a minute after its last hit). All instances
//!   must use the same `max_requests` and `window_secs`.
//!
//! Redis never turns into an error for the caller. When it cannot be reached (at start
//! or later), the limiter logs one warning for the outage, counts in memory, and tries
//! Redis again at most once every [`REDIS_RETRY_SECS`] seconds of clock time (one request
//! probes, the others keep counting in memory); when a probe succeeds it logs the
//! recovery and goes back to Redis. Counts made in memory during an outage are not
//! merged into Redis. Each Redis call is bounded by a one-second I/O timeout, so an
//! unresponsive server delays at most the request that discovers the outage and one
//! probe per retry interval.
//!
//! ```
//! use std::sync::Arc;
//! use sigra_core::clock::FixedClock;
//! use sigra_core::config::RateLimitConfig;
//! use sigra_core::rate_limit::{Decision, RateLimiter};
//! use time::macros::datetime;
//!
//! let clock = FixedClock::new(datetime!(2026-01-01 10:00:15 UTC));
//! let limiter = RateLimiter::in_memory(&RateLimitConfig::default(), Arc::new(clock));
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! for _ in 0..10 {
//!     assert!(limiter.check("login:203.0.113.7").await.is_allowed());
//! }
//! assert_eq!(
//!     limiter.check("login:203.0.113.7").await,
//!     Decision::Limited { retry_after_secs: 45 }
//! );
//! # });
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration as IoDuration;

use redis::aio::MultiplexedConnection;

use crate::clock::SharedClock;
use crate::config::RateLimitConfig;
use crate::secret::SecretString;

/// After a Redis failure, Redis is tried again at most this often (seconds of clock time).
pub const REDIS_RETRY_SECS: i64 = 30;

/// The most keys the in-memory counter holds; beyond it the oldest windows and lowest
/// counts are evicted.
pub const MEMORY_MAX_KEYS: usize = 100_000;

/// Prefix of every Redis key: `sigra:rl:<window index>:<key>`.
pub const REDIS_KEY_PREFIX: &str = "sigra:rl:";

/// Redis counters outlive their window by this much, so instances whose clocks differ
/// by less never see a counter vanish early.
const REDIS_KEY_GRACE_SECS: i64 = 60;

/// Connecting to Redis, and each command, gives up after this (wall time: an I/O
/// deadline, not a point in the limiter's clock).
const REDIS_IO_TIMEOUT: IoDuration = IoDuration::from_secs(1);

/// The answer to one hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// The request may proceed.
    Allowed {
        /// Requests still allowed for this key in the current window.
        remaining: u32,
    },
    /// The request is over the limit.
    Limited {
        /// Seconds until the window that admits the next request (for `Retry-After`);
        /// at least 1.
        retry_after_secs: u64,
    },
}

impl Decision {
    /// Whether the request may proceed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed { .. })
    }
}

/// Counts hits per key per window; see the [module documentation](self).
///
/// Cheap to clone: clones share the counters (and the Redis connection).
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    enabled: bool,
    max_requests: u32,
    window_secs: i64,
    clock: SharedClock,
    memory: MemoryCounter,
    redis: Option<RedisBackend>,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the Redis URL: it may carry a password.
        f.debug_struct("RateLimiter")
            .field("enabled", &self.inner.enabled)
            .field("max_requests", &self.inner.max_requests)
            .field("window_secs", &self.inner.window_secs)
            .field("redis_configured", &self.inner.redis.is_some())
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// A limiter for `config`. With a `redis_url` it connects to Redis; when Redis is
    /// unreachable it logs a warning, counts in memory, and keeps retrying (at most every
    /// [`REDIS_RETRY_SECS`] seconds of `clock` time). Never fails.
    pub async fn new(
        config: &RateLimitConfig,
        redis_url: Option<&SecretString>,
        clock: SharedClock,
    ) -> RateLimiter {
        let redis = match (redis_url, config.enabled) {
            (Some(url), true) => match redis::Client::open(url.expose()) {
                Ok(client) => Some(RedisBackend::new(client)),
                Err(e) => {
                    // Validation rejects such URLs; never echo it (it may hold a password).
                    log::error!(
                        "sigra: sigra.redis_url is not a usable Redis URL ({:?}); \
                         rate limits are counted in memory",
                        e.kind()
                    );
                    None
                }
            },
            _ => None,
        };
        let limiter = Self::build(config, clock, redis);
        if let Some(redis) = &limiter.inner.redis {
            let now = limiter.inner.clock.now().unix_timestamp();
            match redis.connect().await {
                Ok(conn) => {
                    redis.install(conn);
                    log::info!("sigra: rate limits are counted in Redis");
                }
                Err(e) => redis.mark_failed(now, &e),
            }
        }
        limiter
    }

    /// A limiter that counts in this process's memory only (ignoring `redis_url`).
    pub fn in_memory(config: &RateLimitConfig, clock: SharedClock) -> RateLimiter {
        Self::build(config, clock, None)
    }

    fn build(
        config: &RateLimitConfig,
        clock: SharedClock,
        redis: Option<RedisBackend>,
    ) -> RateLimiter {
        RateLimiter {
            inner: Arc::new(Inner {
                enabled: config.enabled,
                max_requests: config.max_requests,
                // Validation keeps it in 1..=86400; never divide by zero regardless.
                window_secs: config.window_secs.max(1),
                clock,
                memory: MemoryCounter::new(MEMORY_MAX_KEYS),
                redis,
            }),
        }
    }

    /// Counts one hit for `key` and answers whether it is within the limit.
    ///
    /// Never fails: when Redis is configured but failing, the hit is counted in memory
    /// (see the [module documentation](self)). When the limiter is disabled every hit is
    /// allowed and nothing is counted.
    pub async fn check(&self, key: &str) -> Decision {
        let inner = &self.inner;
        if !inner.enabled {
            return Decision::Allowed {
                remaining: inner.max_requests,
            };
        }
        let now = inner.clock.now().unix_timestamp();
        let window = Window::at(now, inner.window_secs);
        if let Some(redis) = &inner.redis
            && redis.should_try(now)
        {
            let redis_key = format!("{REDIS_KEY_PREFIX}{}:{key}", window.index);
            let ttl = inner.window_secs.saturating_add(REDIS_KEY_GRACE_SECS);
            match redis.hit(&redis_key, ttl).await {
                Ok(count) => {
                    redis.mark_ok();
                    return window.decide(count, inner.max_requests);
                }
                Err(e) => redis.mark_failed(now, &e),
            }
        }
        let count = inner.memory.hit(key, window.index);
        window.decide(u64::from(count), inner.max_requests)
    }

    /// The backend counting right now: `"redis"`, or `"memory"` (no Redis configured,
    /// or Redis failing).
    pub fn backend(&self) -> &'static str {
        match &self.inner.redis {
            Some(redis) if !redis.outage.load(Ordering::Acquire) => "redis",
            _ => "memory",
        }
    }

    /// Keys held by the in-memory counter.
    #[cfg(test)]
    fn memory_len(&self) -> usize {
        self.inner.memory.len()
    }
}

/// One fixed window, as seen at a given second.
#[derive(Debug, Clone, Copy)]
struct Window {
    index: i64,
    /// Seconds from now until the next window starts (1..=window_secs).
    retry_after_secs: u64,
}

impl Window {
    fn at(now: i64, window_secs: i64) -> Window {
        let index = now.div_euclid(window_secs);
        let remaining = window_secs - now.rem_euclid(window_secs);
        Window {
            index,
            retry_after_secs: u64::try_from(remaining).unwrap_or(1).max(1),
        }
    }

    /// The decision for the `count`-th hit (this one included) of the window.
    fn decide(self, count: u64, max_requests: u32) -> Decision {
        let max = u64::from(max_requests);
        if count <= max {
            Decision::Allowed {
                remaining: u32::try_from(max - count).unwrap_or(0),
            }
        } else {
            Decision::Limited {
                retry_after_secs: self.retry_after_secs,
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---- memory ---------------------------------------------------------------------------

/// Hit counts per key, for the current window only.
struct MemoryCounter {
    state: Mutex<MemoryState>,
    max_keys: usize,
}

struct MemoryState {
    slots: HashMap<String, Slot>,
    /// The newest window index seen; older slots were pruned when it was reached.
    newest_index: i64,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    index: i64,
    count: u32,
}

impl MemoryCounter {
    fn new(max_keys: usize) -> Self {
        Self {
            state: Mutex::new(MemoryState {
                slots: HashMap::new(),
                newest_index: i64::MIN,
            }),
            max_keys: max_keys.max(1),
        }
    }

    /// Counts one hit of `key` in window `index` and returns the window's count.
    fn hit(&self, key: &str, index: i64) -> u32 {
        let mut state = lock(&self.state);
        if index > state.newest_index {
            // A new window: every older slot is dead weight.
            state.slots.retain(|_, slot| slot.index >= index);
            state.newest_index = index;
        }
        if let Some(slot) = state.slots.get_mut(key) {
            if slot.index == index {
                slot.count = slot.count.saturating_add(1);
            } else {
                *slot = Slot { index, count: 1 };
            }
            return slot.count;
        }
        if state.slots.len() >= self.max_keys {
            evict(&mut state.slots, (self.max_keys / 10).max(1));
        }
        state.slots.insert(key.to_owned(), Slot { index, count: 1 });
        1
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.state).slots.len()
    }
}

/// Removes the `n` slots of the oldest windows, lowest counts first. Evicting a tenth of
/// the map at a time keeps the cost amortised over many inserts.
fn evict(slots: &mut HashMap<String, Slot>, n: usize) {
    let mut ranked: Vec<(i64, u32, &str)> = slots
        .iter()
        .map(|(key, slot)| (slot.index, slot.count, key.as_str()))
        .collect();
    let n = n.min(ranked.len());
    if n == 0 {
        return;
    }
    if n < ranked.len() {
        ranked.select_nth_unstable(n);
    }
    let victims: Vec<String> = ranked[..n]
        .iter()
        .map(|&(_, _, key)| key.to_owned())
        .collect();
    for key in victims {
        slots.remove(&key);
    }
}

// ---- Redis ----------------------------------------------------------------------------

/// `retry_at` while Redis is healthy: every request uses it.
const HEALTHY: i64 = i64::MIN;

struct RedisBackend {
    client: redis::Client,
    /// The live connection and its generation; `None` until connected or after a failure.
    conn: Mutex<Option<(u64, MultiplexedConnection)>>,
    generation: AtomicU64,
    /// Set from the first failure until a success; the outage's warning is logged once.
    outage: AtomicBool,
    /// During an outage, the clock second from which one request may probe Redis again.
    retry_at: AtomicI64,
}

/// Why a Redis call failed (logged, never returned to callers).
#[derive(Debug)]
enum RedisFailure {
    Redis(redis::RedisError),
    Timeout,
}

impl fmt::Display for RedisFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedisFailure::Redis(e) => write!(f, "{e}"),
            RedisFailure::Timeout => write!(f, "no answer within {REDIS_IO_TIMEOUT:?}"),
        }
    }
}

impl From<redis::RedisError> for RedisFailure {
    fn from(e: redis::RedisError) -> Self {
        RedisFailure::Redis(e)
    }
}

impl RedisBackend {
    fn new(client: redis::Client) -> Self {
        Self {
            client,
            conn: Mutex::new(None),
            generation: AtomicU64::new(0),
            outage: AtomicBool::new(false),
            retry_at: AtomicI64::new(HEALTHY),
        }
    }

    /// Whether this request should go to Redis: always while healthy; during an outage,
    /// only the one request that claims the retry once `retry_at` has passed.
    fn should_try(&self, now: i64) -> bool {
        let at = self.retry_at.load(Ordering::Acquire);
        at == HEALTHY
            || (now >= at
                && self
                    .retry_at
                    .compare_exchange(
                        at,
                        now.saturating_add(REDIS_RETRY_SECS),
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    )
                    .is_ok())
    }

    fn mark_failed(&self, now: i64, error: &RedisFailure) {
        self.retry_at
            .store(now.saturating_add(REDIS_RETRY_SECS), Ordering::Release);
        if self.outage.swap(true, Ordering::AcqRel) {
            log::debug!("sigra: Redis rate-limit backend still failing: {error}");
        } else {
            log::warn!(
                "sigra: Redis rate-limit backend unavailable ({error}); counting in memory \
                 and retrying at most every {REDIS_RETRY_SECS} s"
            );
        }
    }

    fn mark_ok(&self) {
        if self.outage.load(Ordering::Acquire) && self.outage.swap(false, Ordering::AcqRel) {
            self.retry_at.store(HEALTHY, Ordering::Release);
            log::info!("sigra: Redis rate-limit backend recovered; counting in Redis again");
        }
    }

    async fn connect(&self) -> Result<MultiplexedConnection, RedisFailure> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(REDIS_IO_TIMEOUT)
            .set_response_timeout(REDIS_IO_TIMEOUT);
        // The outer deadline also covers name resolution.
        match tokio::time::timeout(
            REDIS_IO_TIMEOUT * 2,
            self.client
                .get_multiplexed_async_connection_with_config(&config),
        )
        .await
        {
            Ok(result) => Ok(result?),
            Err(_) => Err(RedisFailure::Timeout),
        }
    }

    fn install(&self, conn: MultiplexedConnection) -> (u64, MultiplexedConnection) {
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        *lock(&self.conn) = Some((generation, conn.clone()));
        (generation, conn)
    }

    /// Drops the connection that failed, unless it was already replaced.
    fn discard(&self, generation: u64) {
        let mut conn = lock(&self.conn);
        if conn.as_ref().is_some_and(|(g, _)| *g == generation) {
            *conn = None;
        }
    }

    /// `INCR key` and `EXPIRE key ttl` in one transaction; the new count.
    async fn hit(&self, key: &str, ttl: i64) -> Result<u64, RedisFailure> {
        let current = lock(&self.conn).clone();
        let (generation, mut conn) = match current {
            Some(current) => current,
            None => {
                let conn = self.connect().await?;
                self.install(conn)
            }
        };
        let mut pipe = redis::pipe();
        pipe.atomic().incr(key, 1).expire(key, ttl).ignore();
        let result =
            tokio::time::timeout(REDIS_IO_TIMEOUT * 2, pipe.query_async::<(i64,)>(&mut conn)).await;
        match result {
            Ok(Ok((count,))) => Ok(u64::try_from(count).unwrap_or(0)),
            Ok(Err(e)) => {
                self.discard(generation);
                Err(e.into())
            }
            Err(_) => {
                self.discard(generation);
                Err(RedisFailure::Timeout)
            }
        }
    }
}

/// Whether `url` is a Redis URL this build can connect to (`redis://`, `redis+unix://`,
/// `unix://`; no TLS). For configuration validation.
pub(crate) fn redis_url_is_usable(url: &str) -> bool {
    redis::Client::open(url).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use time::{Duration, macros::datetime};

    fn config(max: u32, window: i64) -> RateLimitConfig {
        RateLimitConfig {
            max_requests: max,
            window_secs: window,
            ..RateLimitConfig::default()
        }
    }

    fn setup(max: u32, window: i64) -> (FixedClock, RateLimiter) {
        // 10:00:15 → 45 s left in the minute.
        let clock = FixedClock::new(datetime!(2026-03-01 10:00:15 UTC));
        let limiter = RateLimiter::in_memory(&config(max, window), Arc::new(clock.clone()));
        (clock, limiter)
    }

    #[tokio::test]
    async fn rate_limit_allows_max_then_limits_with_retry_after() {
        let (_clock, limiter) = setup(10, 60);
        for i in 1..=10u32 {
            assert_eq!(
                limiter.check("login:1.2.3.4").await,
                Decision::Allowed { remaining: 10 - i }
            );
        }
        for _ in 0..3 {
            assert_eq!(
                limiter.check("login:1.2.3.4").await,
                Decision::Limited {
                    retry_after_secs: 45
                }
            );
        }
        assert_eq!(limiter.backend(), "memory");
    }

    #[tokio::test]
    async fn rate_limit_new_window_allows_again() {
        let (clock, limiter) = setup(3, 60);
        for _ in 0..3 {
            assert!(limiter.check("k").await.is_allowed());
        }
        clock.advance(Duration::seconds(44));
        assert_eq!(
            limiter.check("k").await,
            Decision::Limited {
                retry_after_secs: 1
            }
        );
        clock.advance(Duration::seconds(1));
        assert_eq!(limiter.check("k").await, Decision::Allowed { remaining: 2 });
        // Exactly on a boundary the whole window is ahead.
        for _ in 0..2 {
            assert!(limiter.check("k").await.is_allowed());
        }
        assert_eq!(
            limiter.check("k").await,
            Decision::Limited {
                retry_after_secs: 60
            }
        );
    }

    #[tokio::test]
    async fn rate_limit_keys_are_independent() {
        let (_clock, limiter) = setup(2, 60);
        assert!(limiter.check("login:a").await.is_allowed());
        assert!(limiter.check("login:a").await.is_allowed());
        assert!(!limiter.check("login:a").await.is_allowed());
        assert_eq!(
            limiter.check("login:b").await,
            Decision::Allowed { remaining: 1 }
        );
        assert_eq!(
            limiter.check("register:a").await,
            Decision::Allowed { remaining: 1 }
        );
        // Clones share the counters.
        assert!(!limiter.clone().check("login:a").await.is_allowed());
    }

    #[tokio::test]
    async fn rate_limit_disabled_allows_everything() {
        let clock = FixedClock::new(datetime!(2026-03-01 10:00 UTC));
        let mut c = config(1, 60);
        c.enabled = false;
        let limiter = RateLimiter::new(&c, None, Arc::new(clock)).await;
        for _ in 0..5 {
            assert_eq!(limiter.check("k").await, Decision::Allowed { remaining: 1 });
        }
        assert_eq!(limiter.memory_len(), 0);
    }

    #[tokio::test]
    async fn rate_limit_long_window_retry_after() {
        let clock = FixedClock::new(datetime!(2026-03-01 10:00:00 UTC));
        let limiter = RateLimiter::in_memory(&config(1, 3600), Arc::new(clock.clone()));
        clock.advance(Duration::seconds(600));
        assert!(limiter.check("k").await.is_allowed());
        assert_eq!(
            limiter.check("k").await,
            Decision::Limited {
                retry_after_secs: 3000
            }
        );
    }

    #[test]
    fn rate_limit_window_math() {
        let w = Window::at(125, 60);
        assert_eq!((w.index, w.retry_after_secs), (2, 55));
        let w = Window::at(120, 60);
        assert_eq!((w.index, w.retry_after_secs), (2, 60));
        let w = Window::at(-1, 60);
        assert_eq!((w.index, w.retry_after_secs), (-1, 1));
        let w = Window::at(7, 1);
        assert_eq!((w.index, w.retry_after_secs), (7, 1));
        assert_eq!(w.decide(0, 0), Decision::Allowed { remaining: 0 });
        assert_eq!(
            w.decide(1, 0),
            Decision::Limited {
                retry_after_secs: 1
            }
        );
        assert_eq!(
            w.decide(u64::MAX, u32::MAX),
            Decision::Limited {
                retry_after_secs: 1
            }
        );
    }

    #[tokio::test]
    async fn rate_limit_memory_prunes_expired_windows() {
        let (clock, limiter) = setup(10, 60);
        for i in 0..500 {
            limiter.check(&format!("k{i}")).await;
        }
        assert_eq!(limiter.memory_len(), 500);
        clock.advance(Duration::seconds(60));
        limiter.check("fresh").await;
        assert_eq!(limiter.memory_len(), 1);
    }

    #[tokio::test]
    async fn rate_limit_memory_stays_bounded_under_distinct_keys() {
        let (_clock, limiter) = setup(10, 60);
        for i in 0..MEMORY_MAX_KEYS + 25_000 {
            limiter.check(&format!("flood:{i}")).await;
            if i % 1000 == 0 {
                assert!(limiter.memory_len() <= MEMORY_MAX_KEYS);
            }
        }
        assert!(limiter.memory_len() <= MEMORY_MAX_KEYS);
    }

    #[test]
    fn rate_limit_eviction_keeps_busy_keys_and_current_window() {
        let counter = MemoryCounter::new(100);
        // A limited attacker key in the current window...
        for _ in 0..20 {
            counter.hit("busy", 5);
        }
        // ...then a flood of one-hit keys far beyond the cap.
        for i in 0..10_000 {
            counter.hit(&format!("flood:{i}"), 5);
            assert!(counter.len() <= 100);
        }
        // The busy key kept its count: a flood cannot reset a limited client.
        assert_eq!(counter.hit("busy", 5), 21);
    }

    #[test]
    fn rate_limit_eviction_prefers_oldest_windows() {
        let counter = MemoryCounter::new(10);
        // Clock moved back: window 3 comes after window 4 was seen, so it is not pruned.
        for i in 0..5 {
            counter.hit(&format!("new:{i}"), 4);
        }
        for i in 0..5 {
            for _ in 0..3 {
                counter.hit(&format!("old:{i}"), 3);
            }
        }
        assert_eq!(counter.len(), 10);
        counter.hit("another", 4);
        // One slot (a tenth of the cap) was evicted: an old-window one, despite its count.
        let state = lock(&counter.state);
        assert_eq!(state.slots.len(), 10);
        assert_eq!(state.slots.values().filter(|s| s.index == 3).count(), 4);
    }

    #[test]
    fn rate_limit_redis_urls() {
        assert!(redis_url_is_usable("redis://127.0.0.1:6379"));
        assert!(redis_url_is_usable("redis://:pw@cache.internal:6379/2"));
        assert!(redis_url_is_usable("redis+unix:///run/redis.sock"));
        assert!(!redis_url_is_usable("rediss://cache.internal"));
        assert!(!redis_url_is_usable("http://cache.internal"));
        assert!(!redis_url_is_usable("not a url"));
    }

    fn from_toml(toml: &str) -> Result<crate::SigraConfig, crate::config::ConfigError> {
        use figment::providers::{Format, Toml};
        crate::SigraConfig::from_figment(&figment::Figment::from(Toml::string(toml)))
    }

    #[test]
    fn rate_limit_config_defaults_match_design() {
        let c = from_toml("").unwrap().rate_limit;
        assert!(c.enabled);
        assert_eq!(c.max_requests, 10);
        assert_eq!(c.window_secs, 60);
        assert!(from_toml("").unwrap().redis_url.is_none());
        assert!(c.trusted_proxies.is_empty());
        let c = from_toml(
            "[sigra]\nredis_url = \"redis://127.0.0.1:6379/1\"\n\
             [sigra.rate_limit]\nmax_requests = 5\nwindow_secs = 300\n\
             trusted_proxies = [\"10.0.0.0/8\", \"::1\"]",
        )
        .unwrap()
        .rate_limit;
        assert_eq!((c.max_requests, c.window_secs), (5, 300));
        assert_eq!(c.trusted_proxies.len(), 2);
    }

    #[test]
    fn rate_limit_config_is_validated() {
        for (toml, key) in [
            ("max_requests = 0", "sigra.rate_limit.max_requests"),
            ("max_requests = 10001", "sigra.rate_limit.max_requests"),
            ("window_secs = 0", "sigra.rate_limit.window_secs"),
            ("window_secs = 86401", "sigra.rate_limit.window_secs"),
            (
                "trusted_proxies = [\"10.0.0.0/40\"]",
                "sigra.rate_limit.trusted_proxies",
            ),
            (
                "trusted_proxies = [\"proxy.local\"]",
                "sigra.rate_limit.trusted_proxies",
            ),
        ] {
            let err = from_toml(&format!("[sigra.rate_limit]\n{toml}")).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains(key), "{toml}: {msg}");
            assert_eq!(err.reason(), "config_invalid_value");
        }
        for toml in [
            "redis_url = \"rediss://:pw-secret@x\"",
            "redis_url = \"pw-secret\"",
        ] {
            let err = from_toml(&format!("[sigra]\n{toml}")).unwrap_err();
            let key = "sigra.redis_url";
            let msg = err.to_string();
            assert!(msg.contains(key), "{toml}: {msg}");
            assert!(!msg.contains("pw-secret"), "{toml}: {msg}");
            assert_eq!(err.reason(), "config_invalid_value");
        }
    }

    #[tokio::test]
    async fn rate_limit_debug_hides_redis_url() {
        let clock = FixedClock::new(datetime!(2026-03-01 10:00 UTC));
        let c = config(10, 60);
        let url = "redis://:hunter2-secret@127.0.0.1:1".into();
        let limiter = RateLimiter::new(&c, Some(&url), Arc::new(clock)).await;
        let dbg = format!("{limiter:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("memory"), "{dbg}");
    }
}
