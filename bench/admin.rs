//! Admin console benchmark: seeds 100 000 accounts and 1 000 000 audit events into the
//! database named on the command line (SQLite file or PostgreSQL), then drives the admin
//! console in-process through Rocket's local asynchronous client and prints p50 and p99
//! wall-clock latencies of the user search and the audit explorer, each as a share of the
//! 100 ms budget, beside an unguarded trivial GET. Prints figures; never fails on them.
//!
//! ```text
//! cargo run --release -p sigra_tests --example admin_bench -- sqlite:///tmp/admin.sqlite3
//! cargo run --release -p sigra_tests --example admin_bench -- postgres://postgres@127.0.0.1:5432/sigra_bench_admin
//! ```
//!
//! A second run on the same database skips the seeding. `BENCH_ITERATIONS` (default 200)
//! sets the timed requests of each figure, after `BENCH_WARMUP` (default 20).
//!
//! The seed: accounts `user0000000@…` to `user0099999@…` (seven in ten at example.com,
//! the rest at three other domains), created over two years, one in ten unconfirmed.
//! Events over the last 90 days in time order: log-in successes (60 %), failures (25 %,
//! a fifth of them for unknown addresses), registrations (10 %) and session revocations
//! (5 %, a fifth of them by one of 20 support accounts), actors and targets drawn from the
//! accounts, a third of them in one of 500 organizations, with an IP address and a user
//! agent; plus an uptime probe, `user0000000@example.com`, that logs in every 5 minutes
//! (about 26 000 events: the busy actor).

// A benchmark program: it stops with a message on any setup failure (expect, panic), and
// measures wall-clock time with `Instant` (Sigra's own code reads time through its Clock).
#![allow(clippy::expect_used, clippy::panic, clippy::disallowed_methods)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use rocket::figment::Figment;
use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::Client;
use rocket::{get, routes};
use serde_json::{Value, json};
use sigra_core::features::RequestMeta;
use sigra_core::features::admin::set_admin;
use sigra_core::sea_query::{Expr, ExprTrait, Query};
use sigra_core::store::{self, AuditEvents, Db, Executor, Users};
use sigra_core::{Clock, SystemClock};
use sigra_rocket::{Sigra, SigraState};
use time::OffsetDateTime;
use uuid::Uuid;

const USERS: usize = 100_000;
const EVENTS: usize = 1_000_000;
const ROWS_PER_INSERT: usize = 1_000;
/// Insert statements per transaction while seeding events.
const INSERTS_PER_TX: usize = 50;
const ORGANIZATIONS: usize = 500;
const SUPPORT_ACCOUNTS: usize = 20;
const BUDGET_MS: f64 = 100.0;

const ADMIN_EMAIL: &str = "bench-admin@example.com";
const PASSWORD: &str = "correct horse battery staple";
const SECRET: &str = "bench-secret-bench-secret-bench-secret-0123456789";
const CLIENT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)), 50123);

/// Email prefixes: ~1 000 matches and exactly 1.
const PREFIX_1K: &str = "user0012";
const PREFIX_1: &str = "user0054321@";
/// The typical actor of the actor filter (about ten events).
const TYPICAL_ACTOR: &str = "user0054321@example.com";
/// The uptime probe: the busy actor.
const PROBE_EMAIL: &str = "user0000000@example.com";

const USER_AGENTS: [&str; 6] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
    "okhttp/4.12.0",
];

/// SplitMix64: a small deterministic generator, so every run seeds the same spread.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn email_of(i: usize) -> String {
    let domain = match i % 10 {
        7 => "mail.test",
        8 => "corp.example.org",
        9 => "example.net",
        _ => "example.com",
    };
    format!("user{i:07}@{domain}")
}

/// The account number in `user0012345@…`, if the address is one of the seed's.
fn index_of(email: &str) -> Option<usize> {
    email.strip_prefix("user")?.get(..7)?.parse().ok()
}

fn organization_of(organizations: &[Uuid], user: usize) -> Option<Uuid> {
    user.is_multiple_of(3)
        .then(|| organizations[user % organizations.len()])
}

#[derive(sqlx::FromRow)]
struct IdEmail {
    id: Uuid,
    email: String,
}

async fn count(db: &Db, table: impl sigra_core::sea_query::IntoTableRef) -> i64 {
    store::count(db, Query::select().from(table).to_owned())
        .await
        .expect("count rows")
}

/// The seed's account ids, by account number.
async fn seeded_ids(db: &Db) -> Vec<Uuid> {
    let stmt = Query::select()
        .columns([Users::Id, Users::Email])
        .from(Users::Table)
        .and_where(Expr::col(Users::Email).gte("user"))
        .and_where(Expr::col(Users::Email).lt("usf"))
        .to_owned();
    let rows: Vec<IdEmail> = db.fetch_all(&stmt).await.expect("read account ids");
    let mut ids = vec![Uuid::nil(); USERS];
    for row in rows {
        if let Some(i) = index_of(&row.email).filter(|i| *i < USERS) {
            ids[i] = row.id;
        }
    }
    assert!(
        ids.iter().all(|id| !id.is_nil()),
        "the database holds only part of the seed's accounts: start from a fresh one"
    );
    ids
}

async fn seed_users(db: &Db, now: OffsetDateTime, rng: &mut Rng) -> Vec<Uuid> {
    let two_years = 730 * 86_400_i64;
    // Any Argon2id PHC string: nobody logs in as a seeded account.
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hzYWx0YmVuY2hzYWx0$\
                ZmFrZWhhc2hmYWtlaGFzaGZha2VoYXNoZmFrZWhhc2g";
    let tx = db.begin().await.expect("begin");
    let mut ids = Vec::with_capacity(USERS);
    for chunk in (0..USERS).collect::<Vec<_>>().chunks(ROWS_PER_INSERT) {
        let mut stmt = Query::insert();
        stmt.into_table(Users::Table).columns([
            Users::Id,
            Users::Email,
            Users::HashedPassword,
            Users::ConfirmedAt,
            Users::CreatedAt,
            Users::UpdatedAt,
        ]);
        for &i in chunk {
            let created = sigra_core::clock::normalize(
                now - time::Duration::seconds(two_years)
                    + time::Duration::seconds((two_years * i as i64) / USERS as i64)
                    + time::Duration::microseconds(rng.below(600_000_000) as i64),
            );
            let id = store::new_id_at(created);
            ids.push(id);
            let confirmed = (i % 10 != 3).then(|| created + time::Duration::minutes(4));
            stmt.values([
                id.into(),
                email_of(i).into(),
                hash.into(),
                confirmed.into(),
                created.into(),
                created.into(),
            ])
            .expect("a row of the users insert");
        }
        tx.execute(&stmt).await.expect("insert accounts");
    }
    tx.commit().await.expect("commit accounts");
    ids
}

async fn seed_events(db: &Db, ids: &[Uuid], now: OffsetDateTime, rng: &mut Rng) {
    let span = 90 * 86_400_000_000_i64; // microseconds
    let start = now - time::Duration::microseconds(span);
    let probe_every = 5 * 60 * 1_000_000_i64;
    let probe_events = (span / probe_every) as usize;
    let others = EVENTS - probe_events;
    let organizations: Vec<Uuid> = (0..ORGANIZATIONS)
        .map(|i| store::new_id_at(start - time::Duration::days(i as i64 + 1)))
        .collect();
    // Events in time order, the probe's every 5 minutes among them.
    let mut next_probe = 0_usize;
    let mut next_other = 0_usize;
    let mut tx = None;
    let mut statements = 0;
    let mut written = 0_usize;
    while written < EVENTS {
        let mut stmt = Query::insert();
        stmt.into_table(AuditEvents::Table).columns([
            AuditEvents::Id,
            AuditEvents::ActorId,
            AuditEvents::TargetId,
            AuditEvents::Action,
            AuditEvents::Metadata,
            AuditEvents::Ip,
            AuditEvents::UserAgent,
            AuditEvents::OccurredAt,
            AuditEvents::OrganizationId,
        ]);
        for _ in 0..ROWS_PER_INSERT.min(EVENTS - written) {
            let probe_at = next_probe as i64 * probe_every + 17_000_000;
            let other_at = next_other as i64 * span / others as i64;
            let probe = next_probe < probe_events && (next_other >= others || probe_at <= other_at);
            let (at, actor, target, action, metadata, user, ip, agent);
            if probe {
                next_probe += 1;
                at = probe_at + rng.below(1_000_000) as i64;
                user = 0;
                actor = Some(ids[0]);
                target = Some(ids[0]);
                action = "login.success";
                metadata = json!({"method": "password"});
                ip = "198.51.100.10".to_owned();
                agent = "uptime-probe/2.1";
            } else {
                next_other += 1;
                at = other_at + rng.below((span / others as i64) as usize) as i64;
                user = rng.below(USERS);
                let u = Some(ids[user]);
                ip = if rng.chance(15) {
                    format!("2001:db8:{:x}::{:x}", rng.below(0xffff), rng.below(0xffff))
                } else {
                    format!(
                        "{}.{}.{}.{}",
                        [203, 198, 192, 100][rng.below(4)],
                        rng.below(256),
                        rng.below(256),
                        1 + rng.below(254)
                    )
                };
                agent = USER_AGENTS[rng.below(USER_AGENTS.len())];
                match rng.below(100) {
                    0..60 => {
                        (actor, target, action) = (u, u, "login.success");
                        metadata = json!({"method": "password"});
                    }
                    60..85 => {
                        // A fifth of the failures are for addresses with no account.
                        let target_id = if rng.chance(20) { None } else { u };
                        (actor, target, action) = (None, target_id, "login.failure");
                        metadata = json!({"reason": "invalid_credentials"});
                    }
                    85..95 => {
                        (actor, target, action) = (u, u, "registration");
                        metadata = json!({});
                    }
                    _ => {
                        // A fifth of revocations by a support account.
                        let by = if rng.chance(20) {
                            Some(ids[1 + rng.below(SUPPORT_ACCOUNTS)])
                        } else {
                            u
                        };
                        (actor, target, action) = (by, u, "session.revoked");
                        metadata = json!({"session_id": store::new_id_at(start).to_string()});
                    }
                }
            }
            let occurred = sigra_core::clock::normalize(start + time::Duration::microseconds(at));
            stmt.values([
                store::new_id_at(occurred).into(),
                actor.into(),
                target.into(),
                action.into(),
                metadata.into(),
                ip.into(),
                agent.into(),
                occurred.into(),
                organization_of(&organizations, user).into(),
            ])
            .expect("a row of the events insert");
            written += 1;
        }
        if tx.is_none() {
            tx = Some(db.begin().await.expect("begin"));
        }
        let open = tx.as_ref().expect("a transaction is open");
        open.execute(&stmt).await.expect("insert events");
        statements += 1;
        if statements % INSERTS_PER_TX == 0 || written == EVENTS {
            tx.take()
                .expect("a transaction is open")
                .commit()
                .await
                .expect("commit events");
        }
        if written.is_multiple_of(100_000) {
            println!("  … {written} events");
        }
    }
}

async fn raw(db: &Db, text: &str) {
    let sql = sqlx::AssertSqlSafe(text.to_owned());
    match db {
        Db::Postgres(p) => sqlx::raw_sql(sql).execute(p).await.map(drop),
        Db::Sqlite(p) => sqlx::raw_sql(sql).execute(p).await.map(drop),
        Db::MySql(p) => sqlx::raw_sql(sql).execute(p).await.map(drop),
        _ => unreachable!("no such backend"),
    }
    .unwrap_or_else(|e| panic!("{text}: {e}"));
}

/// Creates the PostgreSQL database the URL names, when it is missing.
async fn create_postgres_database(url: &str) {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let Some((server, name)) = head.rsplit_once('/') else {
        return;
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return;
    }
    let mut maintenance = format!("{server}/postgres");
    if let Some(q) = query {
        maintenance.push('?');
        maintenance.push_str(q);
    }
    let Ok(Db::Postgres(pool)) = Db::connect(&maintenance, 1).await else {
        return;
    };
    let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&pool)
        .await
        .expect("look up the database");
    if exists.is_none() {
        println!("creating database {name}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&pool)
            .await
            .expect("create the database");
    }
    pool.close().await;
}

/// Migrates and seeds `url`; skips what is already there.
async fn seed(url: &str) {
    if url.starts_with("postgres") {
        create_postgres_database(url).await;
    }
    let db = Db::connect(url, 2).await.expect("connect to the database");
    db.migrate().await.expect("migrate");
    let now = SystemClock.now();
    let mut rng = Rng(0x5167_7261_6265_6e63);
    let started = Instant::now();
    let users = count(&db, Users::Table).await;
    let ids = if users >= USERS as i64 {
        println!("accounts: {users} already there, not seeded");
        seeded_ids(&db).await
    } else {
        let ids = seed_users(&db, now, &mut rng).await;
        println!(
            "accounts: {USERS} seeded in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        ids
    };
    let events = count(&db, AuditEvents::Table).await;
    let mut seeded = false;
    if events >= EVENTS as i64 {
        println!("audit events: {events} already there, not seeded");
    } else {
        if events > 0 {
            println!("audit events: {events} of {EVENTS} (an interrupted seed): starting over");
            raw(&db, "DELETE FROM sigra_audit_events").await;
        }
        let t = Instant::now();
        seed_events(&db, &ids, now, &mut rng).await;
        println!(
            "audit events: {EVENTS} seeded in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        seeded = true;
    }
    if seeded {
        match &db {
            // What autovacuum would do shortly after a bulk load.
            Db::Postgres(_) => raw(&db, "ANALYZE sigra_users; ANALYZE sigra_audit_events").await,
            // Fold the write-ahead log back into the database file.
            Db::Sqlite(_) => raw(&db, "PRAGMA wal_checkpoint(TRUNCATE)").await,
            _ => {}
        }
    }
    println!(
        "seeding (or checking) took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    db.close().await;
}

#[get("/bench/open")]
fn open() -> &'static str {
    "open"
}

/// The `_csrf` value of the first form on a page.
fn csrf_in(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html
        .find(marker)
        .map(|i| i + marker.len())
        .expect("page has a _csrf field");
    html[start..]
        .split('"')
        .next()
        .expect("a quoted value")
        .to_owned()
}

/// Percent-encodes a query or form value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

async fn page(client: &Client, path: &str) -> (Status, String) {
    let r = client.get(path.to_owned()).remote(CLIENT).dispatch().await;
    (r.status(), r.into_string().await.unwrap_or_default())
}

/// A JSON GET: status and parsed body.
async fn get_json(client: &Client, path: &str) -> (Status, Value) {
    let r = client
        .get(path.to_owned())
        .remote(CLIENT)
        .header(Header::new("Accept", "application/json"))
        .dispatch()
        .await;
    let status = r.status();
    let body = r.into_string().await.unwrap_or_default();
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

async fn post_form(client: &Client, path: &str, fields: &[(&str, &str)]) -> Status {
    let (_, html) = page(client, "/users/log_in").await;
    let token = csrf_in(&html);
    let mut all = vec![("_csrf", token.as_str())];
    all.extend_from_slice(fields);
    client
        .post(path.to_owned())
        .remote(CLIENT)
        .header(ContentType::Form)
        .body(form(&all))
        .dispatch()
        .await
        .status()
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// Times `path` (a GET answering 200, asked for JSON): p50 and p99 in ms.
async fn time_path(
    client: &Client,
    path: &str,
    warmup: usize,
    iterations: usize,
) -> Result<(f64, f64), String> {
    let mut samples = Vec::with_capacity(iterations);
    for n in 0..warmup + iterations {
        let t = Instant::now();
        let r = client
            .get(path.to_owned())
            .remote(CLIENT)
            .header(Header::new("Accept", "application/json"))
            .dispatch()
            .await;
        let status = r.status();
        let _ = r.into_bytes().await;
        if n >= warmup {
            samples.push(t.elapsed());
        }
        if status != Status::Ok {
            return Err(format!("GET {path} answered {status}"));
        }
    }
    samples.sort();
    let at = |q: f64| ms(samples[((samples.len() as f64 * q).ceil() as usize).max(1) - 1]);
    Ok((at(0.50), at(0.99)))
}

fn report(label: &str, rows: usize, (p50, p99): (f64, f64)) {
    println!(
        "  {label:<40} p50 {p50:6.2} ms  p99 {p99:6.2} ms  = {:.3} of {BUDGET_MS:.0} ms  ({rows} rows)",
        p99 / BUDGET_MS
    );
}

/// How many rows a JSON page lists under `key`, and its `next` cursor.
fn rows_and_next(body: &Value, key: &str) -> (usize, Option<String>) {
    (
        body[key].as_array().map_or(0, Vec::len),
        body["next"].as_str().map(str::to_owned),
    )
}

/// Follows `next` from `first` `hops` times; answers the path of the last hop.
async fn deep(client: &Client, first: &str, key: &str, hops: usize) -> Result<String, String> {
    let sep = if first.contains('?') { '&' } else { '?' };
    let mut path = first.to_owned();
    for hop in 1..=hops {
        let (status, body) = get_json(client, &path).await;
        if status != Status::Ok {
            return Err(format!("GET {path} answered {status}"));
        }
        let Some(next) = rows_and_next(&body, key).1 else {
            return Err(format!("{first} has no page {hop} deep"));
        };
        path = format!("{first}{sep}page={}", enc(&next));
    }
    Ok(path)
}

async fn measure(url: &str) {
    let warmup = env_usize("BENCH_WARMUP", 20);
    let iterations = env_usize("BENCH_ITERATIONS", 200);
    let figment = Figment::from(rocket::Config::debug_default())
        .merge(("log_level", "off"))
        .merge(("databases.sigra.url", url))
        .merge(("databases.sigra.max_connections", 5))
        .merge(("sigra.secret_key", SECRET))
        // A domain, so passkeys stay on as in a deployment (no warning at launch).
        .merge(("sigra.public_url", "http://localhost:8000"))
        .merge(("sigra.password.argon2_memory_kib", 64))
        .merge(("sigra.password.argon2_iterations", 1))
        .merge(("sigra.mail.background_worker", false))
        .merge(("sigra.rate_limit.enabled", false))
        .merge(("sigra.admin.enabled", true))
        .merge(("template_dir", "/nonexistent-sigra-templates"));
    let rocket = rocket::custom(figment)
        .attach(Sigra::fairing())
        .mount("/", routes![open]);
    let client = Client::tracked(rocket).await.expect("the app launches");

    // One admin, logged in.
    let registered = post_form(
        &client,
        "/users/register",
        &[("email", ADMIN_EMAIL), ("password", PASSWORD)],
    )
    .await;
    assert!(registered.code < 400, "registration answered {registered}");
    let state = client
        .rocket()
        .state::<SigraState>()
        .expect("Sigra's state");
    set_admin(&state.auth, ADMIN_EMAIL, true, &RequestMeta::default())
        .await
        .expect("grant admin")
        .expect("the admin account exists");
    let logged_in = post_form(
        &client,
        "/users/log_in",
        &[("email", ADMIN_EMAIL), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(logged_in, Status::SeeOther, "log-in of the admin");
    let actor = |email: &str| {
        let email = email.to_owned();
        async move {
            store::users::find_by_email(&state.auth.db, &email)
                .await
                .expect("look up an account")
                .expect("a seeded account")
                .id
        }
    };
    let typical = actor(TYPICAL_ACTOR).await;
    let probe = actor(PROBE_EMAIL).await;

    println!(
        "\nwall clock per request through Rocket's local client, {iterations} timed after {warmup} warm-up; p99 as a share of the budget:"
    );
    let mut budget_p99: Vec<(String, f64)> = Vec::new();
    let mut run = async |label: &str, key: &str, path: Result<String, String>| {
        let measured = async {
            let path = path?;
            let (status, body) = get_json(&client, &path).await;
            if status != Status::Ok || body["ok"] != Value::Bool(true) {
                return Err(format!("GET {path} answered {status}: {body}"));
            }
            let rows = rows_and_next(&body, key).0;
            Ok((rows, time_path(&client, &path, warmup, iterations).await?))
        };
        match measured.await {
            Ok((rows, figures)) => {
                report(label, rows, figures);
                budget_p99.push((label.to_owned(), figures.1));
            }
            Err(e) => println!("  {label:<40} not measured: {e}"),
        }
    };

    let baseline = time_path(&client, "/bench/open", warmup, iterations)
        .await
        .expect("the unguarded route answers");
    println!(
        "  {:<40} p50 {:6.3} ms  p99 {:6.3} ms  (unguarded trivial GET, the client's own cost)",
        "baseline GET /bench/open", baseline.0, baseline.1
    );

    println!("user search (GET /admin/users, 50 a page):");
    run(
        "(a) prefix, ~1 000 matches, first page",
        "users",
        Ok(format!("/admin/users?q={}", enc(PREFIX_1K))),
    )
    .await;
    run(
        "(b) prefix, 1 match",
        "users",
        Ok(format!("/admin/users?q={}", enc(PREFIX_1))),
    )
    .await;
    let deep_users = deep(&client, "/admin/users?q=", "users", 20).await;
    run("(c) all accounts, 20 pages deep", "users", deep_users).await;

    println!("audit explorer (GET /admin/audit, 50 a page, newest first):");
    let (status, _) = get_json(&client, "/admin/audit").await;
    if status == Status::NotFound {
        println!("  not mounted (GET /admin/audit answers 404 in this checkout)");
    } else {
        run(
            "(d) unfiltered, first page",
            "events",
            Ok("/admin/audit".into()),
        )
        .await;
        run(
            "(e) action=login.failure",
            "events",
            Ok("/admin/audit?action=login.failure".into()),
        )
        .await;
        run(
            "(e) action=session.revoked",
            "events",
            Ok("/admin/audit?action=session.revoked".into()),
        )
        .await;
        run(
            "(f) actor, typical account",
            "events",
            Ok(format!("/admin/audit?actor={typical}")),
        )
        .await;
        run(
            "(f) actor, busy account (probe)",
            "events",
            Ok(format!("/admin/audit?actor={probe}")),
        )
        .await;
        let deep_probe = deep(&client, &format!("/admin/audit?actor={probe}"), "events", 5).await;
        run(
            "(f) actor, busy account, 5 pages deep",
            "events",
            deep_probe,
        )
        .await;
        let deep_events = deep(&client, "/admin/audit", "events", 20).await;
        run("(g) unfiltered, 20 pages deep", "events", deep_events).await;
    }
    let worst = budget_p99
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(l, p)| {
            format!(
                "{l}: p99 {p:.2} ms = {:.3} of {BUDGET_MS:.0} ms",
                p / BUDGET_MS
            )
        });
    if let Some(worst) = worst {
        println!("slowest: {worst}");
    }
}

#[rocket::main]
async fn main() {
    let url = std::env::args()
        .nth(1)
        .expect("usage: admin_bench <database URL> (sqlite://… or postgres://…)");
    let backend = store::Backend::from_url(&url).expect("a sqlite: or postgres: URL");
    println!("admin console benchmark on {}", backend.name());
    seed(&url).await;
    measure(&url).await;
}
