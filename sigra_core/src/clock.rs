//! The clock: the only place in Sigra that reads the current time.
//!
//! Every expiry, TTL and "last seen" goes through a [`Clock`], so tests move time with
//! [`FixedClock`] instead of sleeping.
//!
//! Times are UTC and truncated to whole seconds. SQLite stores timestamps as RFC 3339
//! text, and only a fixed-width form (no fractional part, always `Z`) keeps text order
//! equal to time order in `WHERE expires_at > ?` comparisons.

use std::fmt;
use std::sync::{Arc, Mutex};

use time::{Duration, OffsetDateTime, UtcOffset};

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time, UTC, whole seconds.
    fn now(&self) -> OffsetDateTime;
}

/// Normalizes a time the way every Sigra timestamp is stored: UTC, whole seconds.
///
/// ```
/// use time::macros::datetime;
/// let t = sigra_core::clock::normalize(datetime!(2026-01-02 03:04:05.678 +01:00));
/// assert_eq!(t, datetime!(2026-01-02 02:04:05 UTC));
/// ```
pub fn normalize(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    t.replace_nanosecond(0).unwrap_or(t)
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    // The one place that reads the wall clock; everything else asks a `Clock`.
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> OffsetDateTime {
        normalize(OffsetDateTime::now_utc())
    }
}

/// A clock that stands still until told to move; for tests.
///
/// Clones share the same time, so a test can keep one handle and give another to the app.
///
/// ```
/// use sigra_core::clock::{Clock, FixedClock};
/// use time::{Duration, macros::datetime};
/// let clock = FixedClock::new(datetime!(2026-01-01 00:00 UTC));
/// clock.advance(Duration::minutes(15));
/// assert_eq!(clock.now(), datetime!(2026-01-01 00:15 UTC));
/// ```
#[derive(Debug, Clone)]
pub struct FixedClock(Arc<Mutex<OffsetDateTime>>);

impl FixedClock {
    /// A clock showing `at` (normalized to UTC whole seconds).
    pub fn new(at: OffsetDateTime) -> Self {
        Self(Arc::new(Mutex::new(normalize(at))))
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now = normalize(*now + by);
    }

    /// Sets the clock to `at`.
    pub fn set(&self, at: OffsetDateTime) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now = normalize(at);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A shared clock handle, as kept in application state.
pub type SharedClock = Arc<dyn Clock>;

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn system_clock_has_whole_seconds_in_utc() {
        let now = SystemClock.now();
        assert_eq!(now.nanosecond(), 0);
        assert_eq!(now.offset(), UtcOffset::UTC);
    }

    #[test]
    fn fixed_clock_clones_share_time() {
        let a = FixedClock::new(datetime!(2026-05-01 12:00 UTC));
        let b = a.clone();
        a.advance(Duration::hours(25));
        assert_eq!(b.now(), datetime!(2026-05-02 13:00 UTC));
        b.set(datetime!(2020-01-01 00:00:00.9 UTC));
        assert_eq!(a.now(), datetime!(2020-01-01 00:00 UTC));
    }
}
