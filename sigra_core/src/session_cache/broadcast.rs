//! Revocations pushed to every app instance, acknowledged before the revoking request
//! answers; live instances known from heartbeats.
//!
//! # Transports
//!
//! Chosen by [`Transport::choose`] from what the deployment already runs:
//!
//! | deployment | transport | cache |
//! |---|---|---|
//! | PostgreSQL | `LISTEN/NOTIFY` on channel `sigra_revocations` (per database) | on |
//! | SQLite or MySQL with `sigra.redis_url` | Redis pub/sub on `sigra:revocations:<digest>` | on |
//! | SQLite without Redis | none: one process, local invalidation is exact | on while alone |
//! | MySQL without Redis | none | **off** (nothing could tell the other instances) |
//! | `sigra.session.cache_ms = 0` | none | off |
//!
//! The Redis channel's digest is keyed by the master secret and names the database, so
//! two deployments (or two test databases) sharing one Redis never hear each other.
//!
//! # Protocol
//!
//! Messages are one line of text: `r <from> <seq>` (revoke), `a <from> <to> <seq>`
//! (acknowledge), `p <from> <n>` (ping, heard only by its sender).
//!
//! **Each instance** has an id (random at each start) and a row in `sigra_instances`,
//! whose `heartbeat_ms` it refreshes every [`HEARTBEAT`]. Its cache [`Gate`] is open only
//! while all of these hold:
//!
//! - it is subscribed (a `LISTEN` connection, or a Redis subscription, is up);
//! - its last successful heartbeat write started less than [`STALE`] ago;
//! - its own last ping came back through the subscription less than [`STALE`] ago (a
//!   subscription that died silently, without an error, closes the gate too);
//! - without a transport (SQLite alone): no other instance has a live row.
//!
//! ```text
//!   start ──register row──▶ CONNECTING ──subscribed──▶ SERVING ◀─┐
//!                              ▲   │ (gate closed)        │        │ heartbeat ok,
//!                              │   └─retry, backoff       │        │ own ping heard
//!                              │                          ▼        │
//!                              └────subscription lost── LAPSED ───┘ (reopening
//!                                   (gate closed)    heartbeat or    invalidates first)
//!                                                    ping > STALE
//! ```
//!
//! Every transition into SERVING bumps the cache epoch first, so nothing read before it
//! (when revocations may have been missed) is answered after it.
//!
//! **A revoking request** (a flow committing with [`Revocation::EndSessions`] or
//! [`Revocation::RefreshCache`]) on instance A, after its transaction committed:
//!
//! 1. bumps A's epoch (local invalidation, exact, no wait);
//! 2. publishes `r A seq`;
//! 3. reads the live peers: rows other than A with a heartbeat within [`DEAD_AFTER`];
//! 4. waits until each of them acknowledged `seq`, or until `cache_ms` after step 1,
//!    whichever comes first; then answers.
//!
//! **Every other instance** B, on `r A seq`, bumps its epoch, then publishes
//! `a B A seq`. Acks for other instances, and revocations from itself, are ignored.
//!
//! [`Revocation::RefreshCache`] (a live session's data changed, such as a role or the
//! admin flag) goes through the same steps: a privilege taken away is as urgent as a
//! session ended, and the wait is one round trip.
//!
//! # Why this is safe
//!
//! Entries age from the start of the lookup that read them and live at most `cache_ms`.
//! So once A's wait ends, an instance B is either one that acknowledged (its epoch moved
//! after the commit: whatever it answers from memory was read after the commit), or one
//! that did not answer within `cache_ms` (every entry it held at the commit has expired),
//! or one not in A's list. B is missing from the list only if its heartbeat is older than
//! [`DEAD_AFTER`], in which case its own gate closed [`STALE`] after its last heartbeat
//! (the difference is the allowance for clock skew between instances), or if B registered
//! after A read the list, which is after A published: then B subscribed after the publish
//! and opened its gate with an epoch bump after the commit. Registering comes before
//! subscribing, which comes before opening the gate.
//!
//! # Failure cases
//!
//! | case | what happens |
//! |---|---|
//! | B's subscription is killed | B closes its gate at once (reads the database), reconnects with backoff, bumps its epoch and reopens |
//! | B's subscription dies silently | B's own pings stop coming back; its gate lapses within [`STALE`] |
//! | B crashed (row still fresh) | A waits for B's ack until `cache_ms`, never longer; after [`DEAD_AFTER`] nobody waits for B |
//! | B stopped cleanly | its row is deleted; nobody waits for it |
//! | A cannot publish or read peers (broker or database down) | A waits `cache_ms` |
//! | heartbeats fail (database down) | the gate lapses within [`STALE`]: the cache stops answering |
//! | a second process on one SQLite file without Redis | both see each other's rows and close their gates; a revocation on the newcomer within [`STALE`] of its start waits until then (the other may not have looked yet) |
//! | a process that never started the broadcast (a CLI) revokes or refreshes | it waits `cache_ms` |
//!
//! # Trade-off
//!
//! A revoking request costs one publish, one read of `sigra_instances` and one round trip
//! to the slowest live peer: the answer waits on every instance rather than on a timer,
//! and a dead instance costs at most `cache_ms`. Every instance hears every message
//! (acks and pings included), which is fine for the tens of instances one database
//! serves, not for thousands.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::{oneshot, watch};
use uuid::Uuid;

use super::Gate;
use crate::store::{Backend, Db, instances};

#[cfg(doc)]
use crate::features::Revocation;

/// How often each instance writes its heartbeat (and pings itself).
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// An instance stops answering from its cache when its last heartbeat, or its last ping
/// heard back, is this old. Longer than one heartbeat interval plus one heartbeat that
/// ran into its timeout (`HEARTBEAT + 2 × IO_TIMEOUT`, 3 s): a single slow write on a
/// saturated machine does not close the gate (and empty the cache); two in a row do.
pub const STALE: Duration = Duration::from_secs(5);
/// Peers stop waiting for an instance whose heartbeat is this old (`STALE` plus 3 s of
/// allowance for clock skew between instances).
pub const DEAD_AFTER: Duration = Duration::from_secs(8);
/// Rows of instances silent for this long are deleted.
const PURGE_AFTER: Duration = Duration::from_secs(3600);
/// Bound on each publish, connect and heartbeat.
const IO_TIMEOUT: Duration = Duration::from_secs(1);
/// The PostgreSQL channel (`LISTEN/NOTIFY` channels are per database).
#[cfg(feature = "postgres")]
const PG_CHANNEL: &str = "sigra_revocations";
/// Domain separation of the Redis channel's digest.
const CHANNEL_DOMAIN: &[u8] = b"sigra/v1/revocation-channel\0";

/// How revocations reach the other instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transport {
    /// No cache (`cache_ms = 0`, or MySQL without Redis).
    Off,
    /// One process: local invalidation is exact (SQLite without Redis).
    Local,
    /// PostgreSQL `LISTEN/NOTIFY`.
    Postgres,
    /// Redis pub/sub (`sigra.redis_url`).
    Redis,
}

impl Transport {
    /// The transport for a deployment on `backend`, with or without Redis, with a cache
    /// of `cache_ms` milliseconds.
    pub fn choose(backend: Backend, redis: bool, cache_ms: u64) -> Transport {
        match (backend, redis) {
            _ if cache_ms == 0 => Transport::Off,
            (Backend::Postgres, _) => Transport::Postgres,
            (_, true) => Transport::Redis,
            (Backend::Sqlite, false) => Transport::Local,
            _ => Transport::Off,
        }
    }

    /// A name for logs and the README.
    pub fn name(&self) -> &'static str {
        match self {
            Transport::Off => "off",
            Transport::Local => "local",
            Transport::Postgres => "postgres",
            Transport::Redis => "redis",
        }
    }
}

/// Counters of one instance's broadcast, for tests, benchmarks and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcastStats {
    /// Revocations that waited for peers.
    pub revocations: u64,
    /// Of those, the ones every live peer acknowledged.
    pub acknowledged: u64,
    /// Of those, the ones that waited out `cache_ms` (a peer silent, or a failure).
    pub timed_out: u64,
    /// Revocations from peers applied here.
    pub applied: u64,
    /// Times the subscription was lost.
    pub subscription_losses: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Message {
    Revoke { from: Uuid, seq: u64 },
    Ack { from: Uuid, to: Uuid, seq: u64 },
    Ping { from: Uuid, n: u64 },
}

impl Message {
    fn encode(&self) -> String {
        match self {
            Message::Revoke { from, seq } => format!("r {from} {seq}"),
            Message::Ack { from, to, seq } => format!("a {from} {to} {seq}"),
            Message::Ping { from, n } => format!("p {from} {n}"),
        }
    }

    fn parse(line: &str) -> Option<Message> {
        let mut parts = line.split(' ');
        let kind = parts.next()?;
        let from = Uuid::parse_str(parts.next()?).ok()?;
        let message = match kind {
            "r" => Message::Revoke {
                from,
                seq: parts.next()?.parse().ok()?,
            },
            "a" => Message::Ack {
                from,
                to: Uuid::parse_str(parts.next()?).ok()?,
                seq: parts.next()?.parse().ok()?,
            },
            "p" => Message::Ping {
                from,
                n: parts.next()?.parse().ok()?,
            },
            _ => return None,
        };
        parts.next().is_none().then_some(message)
    }
}

#[derive(Debug, Default)]
struct Liveness {
    /// When [`Broadcast::start`] began.
    started_at: Option<Instant>,
    subscribed: bool,
    heartbeat_at: Option<Instant>,
    ping_at: Option<Instant>,
    alone: bool,
    /// A warning about the current trouble was logged.
    warned: bool,
}

#[derive(Debug)]
struct Waiter {
    acked: HashSet<Uuid>,
    pending: Option<HashSet<Uuid>>,
    done: Option<oneshot::Sender<()>>,
}

#[derive(Debug, Default)]
struct Counters {
    revocations: AtomicU64,
    acknowledged: AtomicU64,
    timed_out: AtomicU64,
    applied: AtomicU64,
    subscription_losses: AtomicU64,
}

/// One instance's side of the protocol (see the module header). Built by
/// [`Auth::build`](crate::features::Auth::build), started by the web layer once it
/// serves ([`start`](Self::start)), stopped on shutdown ([`stop`](Self::stop)).
pub struct Broadcast {
    id: Uuid,
    transport: Transport,
    ttl: Duration,
    gate: Arc<Gate>,
    db: Db,
    redis: Option<redis::Client>,
    redis_channel: String,
    redis_conn: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    liveness: Mutex<Liveness>,
    waiters: Mutex<HashMap<u64, Waiter>>,
    seq: AtomicU64,
    running: AtomicBool,
    serving: watch::Sender<bool>,
    shutdown: watch::Sender<bool>,
    counters: Counters,
}

impl fmt::Debug for Broadcast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Broadcast")
            .field("id", &self.id)
            .field("transport", &self.transport)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// Unix milliseconds of this machine's wall clock: heartbeats are compared across
/// instances, so they follow real time, not the injected clock.
#[allow(clippy::disallowed_methods)]
fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Broadcast {
    /// An instance's broadcast over `transport`, for a cache of `cache_ms` milliseconds
    /// behind `gate`. `redis` and `redis_channel` serve [`Transport::Redis`] (see
    /// [`redis_channel`]). Nothing runs until [`start`](Self::start).
    pub fn new(
        transport: Transport,
        cache_ms: u64,
        gate: Arc<Gate>,
        db: Db,
        redis: Option<redis::Client>,
        redis_channel: String,
    ) -> Broadcast {
        Broadcast {
            id: Uuid::now_v7(),
            transport,
            ttl: Duration::from_millis(cache_ms),
            gate,
            db,
            redis,
            redis_channel,
            redis_conn: tokio::sync::Mutex::new(None),
            liveness: Mutex::new(Liveness::default()),
            waiters: Mutex::new(HashMap::new()),
            seq: AtomicU64::new(0),
            running: AtomicBool::new(false),
            serving: watch::channel(false).0,
            shutdown: watch::channel(false).0,
            counters: Counters::default(),
        }
    }

    /// This instance's id (its row in `sigra_instances`).
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The transport in use.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The gate of this instance's caches.
    pub fn gate(&self) -> &Arc<Gate> {
        &self.gate
    }

    /// The counters so far.
    pub fn stats(&self) -> BroadcastStats {
        let c = &self.counters;
        BroadcastStats {
            revocations: c.revocations.load(Ordering::SeqCst),
            acknowledged: c.acknowledged.load(Ordering::SeqCst),
            timed_out: c.timed_out.load(Ordering::SeqCst),
            applied: c.applied.load(Ordering::SeqCst),
            subscription_losses: c.subscription_losses.load(Ordering::SeqCst),
        }
    }

    /// Follows whether the gate is open, as the protocol last decided (a lapse by time
    /// alone is seen by [`Gate::serving`], not here).
    pub fn watch_serving(&self) -> watch::Receiver<bool> {
        self.serving.subscribe()
    }

    /// Registers this instance, subscribes, opens the gate when everything holds, and
    /// starts the heartbeat and listening tasks. Failures are logged and retried in the
    /// background with the gate closed: a broker that is down at start makes the cache
    /// wait, never the launch. Does nothing when the transport is [`Transport::Off`] or
    /// when already started.
    pub async fn start(self: &Arc<Self>) {
        if self.transport == Transport::Off || self.running.swap(true, Ordering::SeqCst) {
            return;
        }
        self.liveness_lock().started_at = Some(now());
        self.beat().await;
        let subscription = match self.transport {
            Transport::Postgres | Transport::Redis => match Subscription::connect(self).await {
                Ok(s) => {
                    self.set_subscribed(true);
                    Some(s)
                }
                Err(e) => {
                    log::warn!(
                        "sigra: session cache closed: no {} subscription yet ({e}); retrying",
                        self.transport.name()
                    );
                    None
                }
            },
            _ => {
                self.set_subscribed(true);
                None
            }
        };
        let weak = Arc::downgrade(self);
        if matches!(self.transport, Transport::Postgres | Transport::Redis) {
            tokio::spawn(listen(
                weak.clone(),
                self.shutdown.subscribe(),
                subscription,
            ));
        }
        tokio::spawn(heartbeats(weak, self.shutdown.subscribe()));
    }

    /// Stops the tasks, closes the gate and deletes this instance's row, so no peer waits
    /// for it any more.
    pub async fn stop(&self) {
        if !self.running.swap(false, Ordering::SeqCst) {
            return;
        }
        self.shutdown.send_replace(true);
        self.gate.set(None);
        let removed =
            tokio::time::timeout(IO_TIMEOUT, instances::remove(&self.db, Some(self.id), 0)).await;
        if !matches!(removed, Ok(Ok(_))) {
            log::warn!("sigra: could not remove this instance's heartbeat row");
        }
    }

    /// Applies a committed revocation: invalidates this instance's caches at once, tells
    /// the other instances, and answers only once every live instance acknowledged, or
    /// `cache_ms` after the call when one did not (see the module header). Not started,
    /// it cannot tell anyone: it waits `cache_ms`.
    pub async fn revoke(&self) {
        self.gate.invalidate();
        if self.ttl.is_zero() {
            return;
        }
        let deadline = tokio::time::Instant::from_std(now() + self.ttl);
        let running = self.running.load(Ordering::SeqCst);
        match self.transport {
            Transport::Off => return,
            Transport::Local if running => {
                // Alone: exact. Not alone: every gate on this file closes within STALE of
                // this instance's start (each sees the other's row at its next heartbeat,
                // or its gate lapses), and none reopens while both live.
                let until = {
                    let live = self.liveness_lock();
                    match (live.alone, live.started_at) {
                        (true, _) => None,
                        (false, Some(at)) => Some(deadline.min((at + STALE).into())),
                        (false, None) => Some(deadline),
                    }
                };
                if let Some(until) = until {
                    tokio::time::sleep_until(until).await;
                }
                return;
            }
            _ if !running => {
                // Not started (a command-line tool): nothing tells the instances that
                // serve, so wait until their entries have expired.
                tokio::time::sleep_until(deadline).await;
                return;
            }
            _ => {}
        }
        self.counters.revocations.fetch_add(1, Ordering::SeqCst);
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let (done, acked) = oneshot::channel();
        self.waiters_lock().insert(
            seq,
            Waiter {
                acked: HashSet::new(),
                pending: None,
                done: Some(done),
            },
        );
        let confirmed = tokio::time::timeout_at(deadline, async {
            self.publish(Message::Revoke { from: self.id, seq })
                .await
                .ok()?;
            let since = wall_ms().saturating_sub(millis(DEAD_AFTER));
            let peers = instances::live(&self.db, self.id, since).await.ok()?;
            {
                let mut waiters = self.waiters_lock();
                let waiter = waiters.get_mut(&seq)?;
                let pending: HashSet<Uuid> = peers
                    .into_iter()
                    .filter(|p| !waiter.acked.contains(p))
                    .collect();
                if pending.is_empty() {
                    return Some(());
                }
                waiter.pending = Some(pending);
            }
            acked.await.ok()
        })
        .await;
        self.waiters_lock().remove(&seq);
        if matches!(confirmed, Ok(Some(()))) {
            self.counters.acknowledged.fetch_add(1, Ordering::SeqCst);
        } else {
            self.counters.timed_out.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep_until(deadline).await;
        }
    }

    fn waiters_lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Waiter>> {
        self.waiters.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn liveness_lock(&self) -> std::sync::MutexGuard<'_, Liveness> {
        self.liveness.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Decides the gate from the liveness facts (under their lock, so decisions are
    /// serialised).
    fn decide(&self, live: &mut Liveness) {
        self.gate.set(open_until(self.transport, live));
        let open = self.gate.serving();
        self.serving.send_if_modified(|was| {
            let changed = *was != open;
            *was = open;
            changed
        });
    }

    fn set_subscribed(&self, subscribed: bool) {
        let mut live = self.liveness_lock();
        live.subscribed = subscribed;
        if subscribed {
            // The subscription was confirmed just now: as good as a ping heard.
            live.ping_at = Some(now());
        } else {
            self.counters
                .subscription_losses
                .fetch_add(1, Ordering::SeqCst);
        }
        self.decide(&mut live);
    }

    /// Writes this instance's heartbeat (and, without a transport, checks it is alone).
    async fn beat(&self) {
        let started = now();
        let now_ms = wall_ms();
        let local = self.transport == Transport::Local;
        let result = tokio::time::timeout(IO_TIMEOUT * 2, async {
            instances::heartbeat(&self.db, self.id, now_ms).await?;
            if local {
                let since = now_ms.saturating_sub(millis(DEAD_AFTER));
                instances::live(&self.db, self.id, since).await
            } else {
                Ok(Vec::new())
            }
        })
        .await;
        let mut live = self.liveness_lock();
        match result {
            Ok(Ok(others)) => {
                live.heartbeat_at = Some(started);
                live.alone = others.is_empty();
                if local && !live.alone && !live.warned {
                    live.warned = true;
                    log::warn!(
                        "sigra: another app instance uses this SQLite database and no \
                         sigra.redis_url is set: the session cache stays off"
                    );
                } else if live.alone && live.warned {
                    live.warned = false;
                }
            }
            Ok(Err(e)) => {
                if !live.warned {
                    live.warned = true;
                    log::warn!(
                        "sigra: instance heartbeat failed ({e}); the session cache closes if the next one does too"
                    );
                }
            }
            Err(_) => {
                if !live.warned {
                    live.warned = true;
                    log::warn!(
                        "sigra: instance heartbeat timed out; the session cache closes if the next one does too"
                    );
                }
            }
        }
        self.decide(&mut live);
    }

    async fn publish(&self, message: Message) -> Result<(), String> {
        let payload = message.encode();
        match (&self.db, self.transport) {
            #[cfg(feature = "postgres")]
            (Db::Postgres(pool), Transport::Postgres) => {
                let sent = tokio::time::timeout(
                    IO_TIMEOUT,
                    sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(PG_CHANNEL)
                        .bind(&payload)
                        .execute(pool),
                )
                .await;
                match sent {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err("timed out".into()),
                }
            }
            (_, Transport::Redis) => {
                let Some(client) = &self.redis else {
                    return Err("no Redis client".into());
                };
                // One multiplexed connection, cloned out of the slot: publishes run
                // side by side over it.
                let mut conn = {
                    let mut slot = self.redis_conn.lock().await;
                    if slot.is_none() {
                        let config = redis::AsyncConnectionConfig::new()
                            .set_connection_timeout(IO_TIMEOUT)
                            .set_response_timeout(IO_TIMEOUT);
                        let connected = tokio::time::timeout(
                            IO_TIMEOUT * 2,
                            client.get_multiplexed_async_connection_with_config(&config),
                        )
                        .await;
                        match connected {
                            Ok(Ok(conn)) => *slot = Some(conn),
                            Ok(Err(e)) => return Err(e.to_string()),
                            Err(_) => return Err("connect timed out".into()),
                        }
                    }
                    slot.clone().ok_or("no connection")?
                };
                let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
                    .arg(&self.redis_channel)
                    .arg(&payload)
                    .query_async(&mut conn)
                    .await;
                match sent {
                    Ok(_) => Ok(()),
                    Err(e) => {
                        *self.redis_conn.lock().await = None;
                        Err(e.to_string())
                    }
                }
            }
            _ => Err("no transport".into()),
        }
    }

    fn on_message(self: &Arc<Self>, line: &str) {
        match Message::parse(line) {
            Some(Message::Revoke { from, seq }) if from != self.id => {
                self.gate.invalidate();
                self.counters.applied.fetch_add(1, Ordering::SeqCst);
                let this = self.clone();
                tokio::spawn(async move {
                    let ack = Message::Ack {
                        from: this.id,
                        to: from,
                        seq,
                    };
                    if let Err(e) = this.publish(ack).await {
                        log::debug!("sigra: could not acknowledge a revocation: {e}");
                    }
                });
            }
            Some(Message::Ack { from, to, seq }) if to == self.id => {
                let mut waiters = self.waiters_lock();
                if let Some(waiter) = waiters.get_mut(&seq) {
                    waiter.acked.insert(from);
                    if let Some(pending) = &mut waiter.pending {
                        pending.remove(&from);
                        if pending.is_empty()
                            && let Some(done) = waiter.done.take()
                        {
                            let _ = done.send(());
                        }
                    }
                }
            }
            Some(Message::Ping { from, .. }) if from == self.id => {
                let mut live = self.liveness_lock();
                live.ping_at = Some(now());
                self.decide(&mut live);
            }
            _ => {}
        }
    }
}

/// Until when the gate may stay open, from the liveness facts (see the module header);
/// `None`: closed.
fn open_until(transport: Transport, live: &Liveness) -> Option<Instant> {
    let heard = match transport {
        Transport::Local => live.heartbeat_at,
        _ => live.ping_at,
    };
    match (live.subscribed, live.heartbeat_at, heard) {
        (true, Some(beat), Some(heard)) if live.alone || transport != Transport::Local => {
            Some(beat.min(heard) + STALE)
        }
        _ => None,
    }
}

/// The Redis channel of a deployment: keyed by the master secret (`keys`), naming the
/// database (`database`), so deployments sharing a Redis server stay apart.
pub fn redis_channel(keys: &crate::crypto::Keys, database: &str) -> String {
    let mut message = CHANNEL_DOMAIN.to_vec();
    message.extend_from_slice(database.as_bytes());
    let digest = keys.sign(crate::crypto::Purpose::Signing, &message);
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("sigra:revocations:{hex}")
}

/// The name of the database `db` is connected to (a file path on SQLite), which
/// [`redis_channel`] uses.
pub async fn database_name(db: &Db) -> Result<String, crate::store::StoreError> {
    let name: Result<(String,), sqlx::Error> = match db {
        #[cfg(feature = "sqlite")]
        Db::Sqlite(pool) => {
            sqlx::query_as("SELECT file FROM pragma_database_list WHERE name = 'main'")
                .fetch_one(pool)
                .await
        }
        #[cfg(feature = "postgres")]
        Db::Postgres(pool) => {
            sqlx::query_as("SELECT current_database()")
                .fetch_one(pool)
                .await
        }
        #[cfg(feature = "mysql")]
        Db::MySql(pool) => {
            sqlx::query_as("SELECT CAST(DATABASE() AS CHAR)")
                .fetch_one(pool)
                .await
        }
    };
    name.map(|(n,)| n)
        .map_err(crate::store::StoreError::Database)
}

/// The `application_name` of instance `id`'s PostgreSQL listening connection.
pub fn listener_name(id: Uuid) -> String {
    format!("sigra-revocations-{id}")
}

/// A live subscription to the revocation channel.
enum Subscription {
    #[cfg(feature = "postgres")]
    Postgres(sqlx::postgres::PgListener),
    Redis(redis::aio::PubSubStream),
}

impl Subscription {
    async fn connect(b: &Broadcast) -> Result<Subscription, String> {
        let connected = tokio::time::timeout(IO_TIMEOUT * 3, async {
            match (&b.db, b.transport) {
                #[cfg(feature = "postgres")]
                (Db::Postgres(pool), Transport::Postgres) => {
                    // A connection of its own, outside the app's pool, named so operators
                    // (and tests) can tell whose it is in `pg_stat_activity`.
                    let options = (*pool.connect_options())
                        .clone()
                        .application_name(&listener_name(b.id));
                    let own = sqlx::postgres::PgPoolOptions::new()
                        .max_connections(1)
                        .connect_with(options)
                        .await
                        .map_err(|e| e.to_string())?;
                    let mut listener = sqlx::postgres::PgListener::connect_with(&own)
                        .await
                        .map_err(|e| e.to_string())?;
                    listener
                        .listen(PG_CHANNEL)
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(Subscription::Postgres(listener))
                }
                (_, Transport::Redis) => {
                    let client = b.redis.as_ref().ok_or("no Redis client")?;
                    let mut pubsub = client.get_async_pubsub().await.map_err(|e| e.to_string())?;
                    pubsub
                        .subscribe(&b.redis_channel)
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(Subscription::Redis(pubsub.into_on_message()))
                }
                _ => Err("no transport".to_owned()),
            }
        })
        .await;
        connected.unwrap_or_else(|_| Err("timed out".into()))
    }

    /// The next message, or `None` when the subscription is lost.
    async fn next(&mut self) -> Option<String> {
        match self {
            #[cfg(feature = "postgres")]
            Subscription::Postgres(listener) => match listener.try_recv().await {
                Ok(Some(n)) => Some(n.payload().to_owned()),
                _ => None,
            },
            Subscription::Redis(stream) => stream
                .next()
                .await
                .map(|m| m.get_payload::<String>().unwrap_or_default()),
        }
    }
}

/// The listening task: applies messages, and reconnects (gate closed) when the
/// subscription is lost. Ends with the instance.
async fn listen(
    weak: Weak<Broadcast>,
    mut shutdown: watch::Receiver<bool>,
    mut subscription: Option<Subscription>,
) {
    let mut backoff = Duration::from_millis(50);
    loop {
        let Some(current) = subscription.as_mut() else {
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.changed() => return,
            }
            let Some(this) = weak.upgrade() else { return };
            match Subscription::connect(&this).await {
                Ok(s) => {
                    subscription = Some(s);
                    backoff = Duration::from_millis(50);
                    this.set_subscribed(true);
                    log::info!("sigra: revocation subscription back; session cache open");
                }
                Err(e) => {
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    log::debug!("sigra: revocation subscription still down: {e}");
                }
            }
            continue;
        };
        let next = tokio::select! {
            next = current.next() => next,
            _ = shutdown.changed() => return,
        };
        let Some(this) = weak.upgrade() else { return };
        match next {
            Some(line) => this.on_message(&line),
            None => {
                subscription = None;
                this.set_subscribed(false);
                log::warn!(
                    "sigra: revocation subscription lost; session cache closed until it is back"
                );
            }
        }
    }
}

/// The heartbeat task: writes the heartbeat, pings through the subscription, purges
/// long-dead rows. Ends with the instance.
async fn heartbeats(weak: Weak<Broadcast>, mut shutdown: watch::Receiver<bool>) {
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(HEARTBEAT) => {}
            _ = shutdown.changed() => return,
        }
        let Some(this) = weak.upgrade() else { return };
        this.beat().await;
        n += 1;
        if this.transport != Transport::Local {
            let _ = this.publish(Message::Ping { from: this.id, n }).await;
        }
        if n.is_multiple_of(60) {
            let before = wall_ms().saturating_sub(millis(PURGE_AFTER));
            let _ = instances::remove(&this.db, None, before).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_garbage_is_ignored() {
        let a = Uuid::new_v4();
        let b = Uuid::new_v4();
        for m in [
            Message::Revoke { from: a, seq: 7 },
            Message::Ack {
                from: a,
                to: b,
                seq: 7,
            },
            Message::Ping { from: b, n: 3 },
        ] {
            assert_eq!(Message::parse(&m.encode()), Some(m));
        }
        for bad in [
            "",
            "r",
            "r nope 1",
            "x 00000000-0000-0000-0000-000000000000 1",
        ] {
            assert_eq!(Message::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Message::parse(&format!("r {a} 1 extra")), None);
    }

    #[test]
    fn the_gate_lapses_when_pings_or_heartbeats_stop_and_closes_without_a_subscription() {
        let t0 = now();
        let later = t0 + Duration::from_secs(10);
        let healthy = Liveness {
            subscribed: true,
            heartbeat_at: Some(later),
            ping_at: Some(later),
            ..Liveness::default()
        };
        assert_eq!(
            open_until(Transport::Postgres, &healthy),
            Some(later + STALE)
        );
        // A subscription that died silently: heartbeats go on, the own pings stop.
        let silent = Liveness {
            ping_at: Some(t0),
            ..healthy
        };
        assert_eq!(open_until(Transport::Redis, &silent), Some(t0 + STALE));
        assert!(t0 + STALE < later, "lapsed by the time the heartbeat ran");
        // The database stopped taking heartbeats: the gate lapses from the last one.
        let no_beat = Liveness {
            heartbeat_at: Some(t0),
            ..healthy
        };
        assert_eq!(open_until(Transport::Postgres, &no_beat), Some(t0 + STALE));
        let never = Liveness {
            heartbeat_at: None,
            ..healthy
        };
        assert_eq!(open_until(Transport::Postgres, &never), None);
        // A lost subscription closes it at once.
        let lost = Liveness {
            subscribed: false,
            ..healthy
        };
        assert_eq!(open_until(Transport::Postgres, &lost), None);
        // Without a transport, only while alone.
        let crowded = Liveness {
            alone: false,
            ..healthy
        };
        assert_eq!(open_until(Transport::Local, &crowded), None);
        let alone = Liveness {
            alone: true,
            ..healthy
        };
        assert_eq!(open_until(Transport::Local, &alone), Some(later + STALE));
    }

    #[test]
    fn the_transport_follows_the_deployment() {
        use Backend::*;
        assert_eq!(
            Transport::choose(Postgres, false, 5000),
            Transport::Postgres
        );
        assert_eq!(Transport::choose(Postgres, true, 5000), Transport::Postgres);
        assert_eq!(Transport::choose(MySql, true, 5000), Transport::Redis);
        assert_eq!(Transport::choose(MySql, false, 5000), Transport::Off);
        assert_eq!(Transport::choose(Sqlite, false, 5000), Transport::Local);
        assert_eq!(Transport::choose(Sqlite, true, 5000), Transport::Redis);
        assert_eq!(Transport::choose(Postgres, true, 0), Transport::Off);
    }
}
