//! Session lookup at scale: times `sigra_core::store::sessions::find_by_hash` (the
//! database path a request takes when the session cache does not answer) on a database
//! holding 1 000 sessions and on one holding 1 000 000, side by side, and prints the
//! ratio of the lookup times (target ≤ 1.2). `bench/scale.sh` runs it on two fresh SQLite
//! files and on two throwaway PostgreSQL databases.
//!
//! ```text
//! cargo run --release -p sigra_tests --example scale_bench -- \
//!     'sqlite:///tmp/small.sqlite3?mode=rwc' 'sqlite:///tmp/large.sqlite3?mode=rwc'
//! cargo run --release -p sigra_tests --example scale_bench -- \
//!     postgres://postgres@127.0.0.1:5432/small postgres://postgres@127.0.0.1:5432/large
//! ```
//!
//! The tables are filled with one bulk statement per chunk (a recursive CTE on SQLite,
//! `generate_series` on PostgreSQL): one account per ten sessions, every session live,
//! random 32-byte token digests (as real ones are). Timestamps are bound parameters, so
//! they are stored exactly as Sigra stores its own. Each database gets 5 000 of its
//! digests sampled, looked up in random order, one at a time on one connection: after a
//! one-second warm-up of each, ten rounds alternate between the two (so both see the
//! same machine), `BENCH_LOOKUP_SECS` seconds per database in all (default 5). The
//! ratio is of the median lookup times (the machine may be shared: the median is what
//! other load disturbs least); the mean and lookups/s are printed too.
//!
//! The databases must be empty or hold only an earlier run of this program: they are
//! migrated, and the bench's rows (`scale…@example.com`) are deleted first.

// A benchmark program: it stops with a message on any setup failure (expect, panic), and
// measures wall-clock time with `Instant` (Sigra's own code reads time through its Clock).
#![allow(clippy::expect_used, clippy::panic, clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use sigra_core::crypto::TokenHash;
use sigra_core::store::{Backend, Db, sessions};
use time::OffsetDateTime;

const SMALL: i64 = 1_000;
const LARGE: i64 = 1_000_000;
/// Sessions per account.
const SESSIONS_PER_USER: i64 = 10;
/// Rows per bulk statement.
const CHUNK: i64 = 250_000;
const SAMPLE: i64 = 5_000;
/// Alternating rounds of lookups on the two databases.
const ROUNDS: u32 = 10;
const TARGET: f64 = 1.2;

/// SplitMix64: a small deterministic generator for the lookup order.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

async fn raw(db: &Db, text: &str) {
    let sql = sqlx::AssertSqlSafe(text.to_owned());
    match db {
        Db::Postgres(p) => sqlx::raw_sql(sql).execute(p).await.map(drop),
        Db::Sqlite(p) => sqlx::raw_sql(sql).execute(p).await.map(drop),
        _ => panic!("SQLite or PostgreSQL only"),
    }
    .unwrap_or_else(|e| panic!("{text}: {e}"));
}

/// Accounts `from..to` (ids and emails derived from the number).
async fn insert_users(db: &Db, from: i64, to: i64, now: OffsetDateTime) {
    match db {
        Db::Sqlite(p) => sqlx::query(
            "WITH RECURSIVE c(n) AS (SELECT ? UNION ALL SELECT n + 1 FROM c WHERE n + 1 < ?)
                 INSERT INTO sigra_users (id, email, confirmed_at, created_at, updated_at)
                 SELECT unhex(printf('%032x', n)), 'scale' || n || '@example.com', ?, ?, ? FROM c",
        )
        .bind(from)
        .bind(to)
        .bind(now)
        .bind(now)
        .bind(now)
        .execute(p)
        .await
        .map(drop),
        Db::Postgres(p) => sqlx::query(
            "INSERT INTO sigra_users (id, email, confirmed_at, created_at, updated_at)
                 SELECT lpad(to_hex(n), 32, '0')::uuid, 'scale' || n || '@example.com', $3, $3, $3
                 FROM generate_series($1::bigint, $2::bigint - 1) AS n",
        )
        .bind(from)
        .bind(to)
        .bind(now)
        .execute(p)
        .await
        .map(drop),
        _ => panic!("SQLite or PostgreSQL only"),
    }
    .expect("insert accounts");
}

/// Sessions `from..to`, session `n` belonging to account `n % users`.
async fn insert_sessions(db: &Db, from: i64, to: i64, users: i64, now: OffsetDateTime) {
    let expires = now + time::Duration::days(30);
    let agent = "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0";
    match db {
        Db::Sqlite(p) => sqlx::query(
            "WITH RECURSIVE c(n) AS (SELECT ? UNION ALL SELECT n + 1 FROM c WHERE n + 1 < ?)
             INSERT INTO sigra_sessions
               (id, user_id, token_hash, created_at, last_seen_at, expires_at, ip, user_agent)
             SELECT unhex(printf('%032x', n)), unhex(printf('%032x', n % ?)), randomblob(32),
                    ?, ?, ?, '203.0.113.7', ? FROM c",
        )
        .bind(from)
        .bind(to)
        .bind(users)
        .bind(now)
        .bind(now)
        .bind(expires)
        .bind(agent)
        .execute(p)
        .await
        .map(drop),
        Db::Postgres(p) => sqlx::query(
            "INSERT INTO sigra_sessions
               (id, user_id, token_hash, created_at, last_seen_at, expires_at, ip, user_agent)
             SELECT lpad(to_hex(n), 32, '0')::uuid, lpad(to_hex(n % $3), 32, '0')::uuid,
                    sha256(int8send(n) || decode(md5(random()::text), 'hex')),
                    $4, $4, $5, '203.0.113.7', $6
             FROM generate_series($1::bigint, $2::bigint - 1) AS n",
        )
        .bind(from)
        .bind(to)
        .bind(users)
        .bind(now)
        .bind(expires)
        .bind(agent)
        .execute(p)
        .await
        .map(drop),
        _ => panic!("SQLite or PostgreSQL only"),
    }
    .expect("insert sessions");
}

/// Grows the tables from `from` sessions to `to`.
async fn fill(db: &Db, from: i64, to: i64, now: OffsetDateTime) {
    let started = Instant::now();
    let users = (from / SESSIONS_PER_USER, to / SESSIONS_PER_USER);
    let mut at = users.0;
    while at < users.1 {
        let end = (at + CHUNK).min(users.1);
        insert_users(db, at, end, now).await;
        at = end;
    }
    let mut at = from;
    while at < to {
        let end = (at + CHUNK).min(to);
        insert_sessions(db, at, end, users.1, now).await;
        at = end;
    }
    match db {
        // What autovacuum would do shortly after a bulk load.
        Db::Postgres(_) => raw(db, "ANALYZE sigra_users; ANALYZE sigra_sessions").await,
        Db::Sqlite(_) => raw(db, "PRAGMA wal_checkpoint(TRUNCATE)").await,
        _ => {}
    }
    println!(
        "  filled to {to} sessions ({} accounts) in {:.1} s",
        users.1,
        started.elapsed().as_secs_f64()
    );
}

async fn sample(db: &Db) -> Vec<TokenHash> {
    let sql = format!("SELECT token_hash FROM sigra_sessions ORDER BY random() LIMIT {SAMPLE}");
    let rows: Vec<(Vec<u8>,)> = match db {
        Db::Sqlite(p) => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(p).await,
        Db::Postgres(p) => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(p).await,
        _ => panic!("SQLite or PostgreSQL only"),
    }
    .expect("sample token digests");
    rows.into_iter()
        .map(|(bytes,)| TokenHash::from_bytes(bytes.try_into().expect("32-byte token digests")))
        .collect()
}

/// Lookup times of one database, in microseconds.
#[derive(Default)]
struct Times(Vec<f64>);

impl Times {
    fn pct(&self, p: f64) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort_by(f64::total_cmp);
        sorted[((sorted.len() - 1) as f64 * p).round() as usize]
    }

    fn mean(&self) -> f64 {
        self.0.iter().sum::<f64>() / self.0.len() as f64
    }

    fn report(&self, label: &str) {
        println!(
            "  {label}: {} lookups, mean {:.1} µs ({:.0} lookups/s), p50 {:.1} µs, p99 {:.1} µs",
            self.0.len(),
            self.mean(),
            1e6 / self.mean(),
            self.pct(0.50),
            self.pct(0.99)
        );
    }
}

/// Looks up random sampled digests for `duration`; appends each lookup's time.
async fn lookups(db: &Db, keys: &[TokenHash], rng: &mut Rng, duration: Duration, out: &mut Times) {
    let started = Instant::now();
    while started.elapsed() < duration {
        let key = &keys[rng.below(keys.len())];
        let t = Instant::now();
        let found = sessions::find_by_hash(db, key).await.expect("lookup");
        out.0.push(t.elapsed().as_secs_f64() * 1e6);
        assert!(found.is_some(), "a sampled session was not found");
    }
}

async fn open(url: &str) -> Db {
    let db = Db::connect(url, 1).await.expect("connect to the database");
    db.migrate().await.expect("migrate");
    raw(
        &db,
        "DELETE FROM sigra_sessions; DELETE FROM sigra_users WHERE email LIKE 'scale%@example.com'",
    )
    .await;
    db
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(small_url), Some(large_url)) = (args.next(), args.next()) else {
        panic!("usage: scale_bench <database URL for 1 k sessions> <database URL for 1 M>");
    };
    let backend = Backend::from_url(&small_url).expect("a sqlite: or postgres: URL");
    let seconds: f64 = std::env::var("BENCH_LOOKUP_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let now = OffsetDateTime::now_utc();
    println!(
        "session lookup (store::sessions::find_by_hash, one connection, sequential) on {}:",
        backend.name()
    );
    let small = open(&small_url).await;
    fill(&small, 0, SMALL, now).await;
    let large = open(&large_url).await;
    fill(&large, 0, LARGE, now).await;
    let keys = (sample(&small).await, sample(&large).await);
    let mut rng = Rng(0x5c41_e000);
    let (mut warm, mut times) = (Times::default(), (Times::default(), Times::default()));
    let second = Duration::from_secs(1);
    lookups(&small, &keys.0, &mut rng, second, &mut warm).await;
    lookups(&large, &keys.1, &mut rng, second, &mut warm).await;
    let round = Duration::from_secs_f64(seconds / ROUNDS as f64);
    for _ in 0..ROUNDS {
        lookups(&small, &keys.0, &mut rng, round, &mut times.0).await;
        lookups(&large, &keys.1, &mut rng, round, &mut times.1).await;
    }
    times.0.report("1 k sessions");
    times.1.report("1 M sessions");
    println!(
        "session lookup time 1M/1k {}: {:.2} (target ≤ {TARGET}; p50 {:.1} vs {:.1} µs; \
         mean {:.2}×)",
        backend.name(),
        times.1.pct(0.5) / times.0.pct(0.5),
        times.1.pct(0.5),
        times.0.pct(0.5),
        times.1.mean() / times.0.mean()
    );
    small.close().await;
    large.close().await;
}
