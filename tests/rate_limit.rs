//! Rate limiter against a real Redis (`SIGRA_TEST_REDIS_URL`), shared by several
//! "app instances", and its fallback to memory when Redis is unreachable or goes away.
//!
//! Every test uses keys under a random prefix, so runs and parallel tests never share
//! counters. Time comes from a `FixedClock`; nothing sleeps.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Once};

use sigra_core::clock::{Clock, FixedClock};
use sigra_core::config::RateLimitConfig;
use sigra_core::rate_limit::{Decision, REDIS_KEY_PREFIX, RateLimiter};
use time::{Duration, macros::datetime};

use crate::common::app::REDIS_ENV;
use crate::common::proxy::FlakyProxy;

static SKIP_REDIS: Once = Once::new();

/// The Redis server under test, or `None` (with one loud line) when it is not configured.
fn redis_url() -> Option<String> {
    match std::env::var(REDIS_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            SKIP_REDIS.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "\n!!!!! SKIPPING redis: {REDIS_ENV} is not set, so no Redis rate-limit test runs. !!!!!\n"
                );
            });
            None
        }
    }
}

/// A fresh random prefix, so keys of different tests and runs never collide.
fn prefix() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("test-{hex}")
}

fn config(max: u32, window: i64) -> RateLimitConfig {
    let mut c = RateLimitConfig::default();
    c.max_requests = max;
    c.window_secs = window;
    c
}

/// `host:port` of a `redis://[userinfo@]host[:port][/db]` URL, and whether it needs more
/// than a bare connection (credentials or another database).
fn redis_addr(url: &str) -> (SocketAddr, bool) {
    let rest = url.strip_prefix("redis://").expect("a redis:// URL");
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let hostport = if hostport
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        hostport.to_owned()
    } else {
        format!("{hostport}:6379")
    };
    let addr = hostport
        .to_socket_addrs()
        .unwrap()
        .next()
        .expect("Redis host resolves");
    let plain = userinfo.is_none() && matches!(path, "" | "0");
    (addr, !plain)
}

/// One raw RESP command on a new connection; the reply as text (`:42`, `+OK`, a bulk
/// string's content, or `nil`).
fn raw_command(addr: SocketAddr, args: &[&str]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut out = format!("*{}\r\n", args.len());
    for arg in args {
        out.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    stream.write_all(out.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let line = line.trim_end().to_owned();
    match line.strip_prefix('$') {
        Some("-1") => "nil".into(),
        Some(len) => {
            let mut buf = vec![0u8; len.parse::<usize>().unwrap() + 2];
            reader.read_exact(&mut buf).unwrap();
            String::from_utf8_lossy(&buf[..buf.len() - 2]).into_owned()
        }
        None => line,
    }
}

#[tokio::test]
async fn rate_limit_redis_instances_share_counts() {
    let Some(url) = redis_url() else { return };
    let clock = FixedClock::new(datetime!(2026-03-01 10:00:15 UTC));
    let c = config(10, 60);
    // Two app instances, each with its own limiter and connection.
    let a = RateLimiter::new(&c, Some(&url.as_str().into()), Arc::new(clock.clone())).await;
    let b = RateLimiter::new(&c, Some(&url.as_str().into()), Arc::new(clock.clone())).await;
    assert_eq!((a.backend(), b.backend()), ("redis", "redis"));
    let key = format!("{}:login:203.0.113.7", prefix());
    for i in 1..=6 {
        assert_eq!(a.check(&key).await, Decision::Allowed { remaining: 10 - i });
    }
    for i in 7..=10 {
        assert_eq!(b.check(&key).await, Decision::Allowed { remaining: 10 - i });
    }
    let limited = Decision::Limited {
        retry_after_secs: 45,
    };
    assert_eq!(b.check(&key).await, limited, "the 11th hit");
    assert_eq!(a.check(&key).await, limited);
    assert_eq!((a.backend(), b.backend()), ("redis", "redis"));
}

#[tokio::test]
async fn rate_limit_redis_windows_roll_with_the_clock() {
    let Some(url) = redis_url() else { return };
    let clock = FixedClock::new(datetime!(2026-03-01 10:00:15 UTC));
    let limiter = RateLimiter::new(
        &config(3, 60),
        Some(&url.as_str().into()),
        Arc::new(clock.clone()),
    )
    .await;
    let key = format!("{}:register:198.51.100.2", prefix());
    for _ in 0..3 {
        assert!(limiter.check(&key).await.is_allowed());
    }
    clock.advance(Duration::seconds(44));
    assert_eq!(
        limiter.check(&key).await,
        Decision::Limited {
            retry_after_secs: 1
        }
    );
    clock.advance(Duration::seconds(1));
    assert_eq!(
        limiter.check(&key).await,
        Decision::Allowed { remaining: 2 }
    );
    assert_eq!(limiter.backend(), "redis");

    // The counter lives at sigra:rl:<window index>:<key> and always expires.
    let (addr, needs_auth) = redis_addr(&url);
    if needs_auth {
        return;
    }
    let index = clock.now().unix_timestamp() / 60;
    let redis_key = format!("{REDIS_KEY_PREFIX}{index}:{key}");
    assert_eq!(raw_command(addr, &["GET", &redis_key]), "1");
    let ttl: i64 = raw_command(addr, &["TTL", &redis_key])
        .trim_start_matches(':')
        .parse()
        .unwrap();
    assert!((1..=120).contains(&ttl), "TTL {ttl}");
    let old_key = format!("{REDIS_KEY_PREFIX}{}:{key}", index - 1);
    assert_eq!(raw_command(addr, &["GET", &old_key]), "4");
}

#[tokio::test]
async fn rate_limit_redis_keys_do_not_collide() {
    let Some(url) = redis_url() else { return };
    let clock = FixedClock::new(datetime!(2026-03-01 10:00:00 UTC));
    let limiter =
        RateLimiter::new(&config(2, 60), Some(&url.as_str().into()), Arc::new(clock)).await;
    let (p1, p2) = (prefix(), prefix());
    for key in [
        format!("{p1}:login:192.0.2.1"),
        format!("{p2}:login:192.0.2.1"),
    ] {
        assert_eq!(
            limiter.check(&key).await,
            Decision::Allowed { remaining: 1 }
        );
        assert_eq!(
            limiter.check(&key).await,
            Decision::Allowed { remaining: 0 }
        );
        assert!(!limiter.check(&key).await.is_allowed());
    }
    assert_eq!(
        limiter.check(&format!("{p1}:register:192.0.2.1")).await,
        Decision::Allowed { remaining: 1 }
    );
}

#[tokio::test]
async fn rate_limit_unreachable_redis_degrades_to_memory() {
    // Needs no Redis: nothing listens on port 1.
    let clock = FixedClock::new(datetime!(2026-03-01 10:00:15 UTC));
    let limiter = RateLimiter::new(
        &config(10, 60),
        Some(&"redis://127.0.0.1:1".into()),
        Arc::new(clock.clone()),
    )
    .await;
    assert_eq!(limiter.backend(), "memory");
    let key = format!("{}:login:203.0.113.9", prefix());
    for i in 1..=10 {
        assert_eq!(
            limiter.check(&key).await,
            Decision::Allowed { remaining: 10 - i }
        );
    }
    assert_eq!(
        limiter.check(&key).await,
        Decision::Limited {
            retry_after_secs: 45
        }
    );
    // Retries (at most every 30 s of clock time) fail again; memory keeps answering,
    // window by window.
    clock.advance(Duration::seconds(30));
    assert!(!limiter.check(&key).await.is_allowed());
    clock.advance(Duration::seconds(15));
    assert_eq!(
        limiter.check(&key).await,
        Decision::Allowed { remaining: 9 }
    );
    assert_eq!(limiter.backend(), "memory");
}

#[tokio::test]
async fn rate_limit_redis_outage_falls_back_to_memory_and_recovers() {
    let Some(url) = redis_url() else { return };
    let (target, needs_auth) = redis_addr(&url);
    if needs_auth {
        return;
    }
    let proxy = FlakyProxy::start(target);
    proxy.set_up(false);
    let clock = FixedClock::new(datetime!(2026-03-01 10:00:00 UTC));
    let key = format!("{}:login:203.0.113.50", prefix());

    // Down at start: memory, and no further attempt before 30 s of clock time.
    let limiter = RateLimiter::new(
        &config(5, 3600),
        Some(&format!("redis://{}", proxy.addr()).as_str().into()),
        Arc::new(clock.clone()),
    )
    .await;
    assert_eq!(limiter.backend(), "memory");
    assert_eq!(proxy.accepted(), 1);
    for _ in 0..5 {
        assert!(limiter.check(&key).await.is_allowed());
    }
    assert!(!limiter.check(&key).await.is_allowed());
    proxy.set_up(true);
    clock.advance(Duration::seconds(29));
    assert!(!limiter.check(&key).await.is_allowed());
    assert_eq!(limiter.backend(), "memory");
    assert_eq!(proxy.accepted(), 1, "no retry before 30 s");

    // 30 s after the failure one request reconnects; counting moves to Redis (memory
    // counts are not carried over).
    clock.advance(Duration::seconds(1));
    assert_eq!(
        limiter.check(&key).await,
        Decision::Allowed { remaining: 4 }
    );
    assert_eq!(limiter.backend(), "redis");
    assert_eq!(proxy.accepted(), 2);
    assert_eq!(
        limiter.check(&key).await,
        Decision::Allowed { remaining: 3 }
    );

    // Redis goes away mid-flight: the request still gets an answer, from memory (where
    // this key was already over the limit), and the following ones do not touch Redis.
    proxy.set_up(false);
    assert!(!limiter.check(&key).await.is_allowed());
    assert_eq!(limiter.backend(), "memory");
    let other = format!("{key}:other");
    assert_eq!(
        limiter.check(&other).await,
        Decision::Allowed { remaining: 4 }
    );
    assert_eq!(proxy.accepted(), 2);

    // Back up: after the retry interval Redis counts resume where they were.
    proxy.set_up(true);
    clock.advance(Duration::seconds(30));
    assert_eq!(
        limiter.check(&key).await,
        Decision::Allowed { remaining: 2 }
    );
    assert_eq!(limiter.backend(), "redis");
    assert_eq!(proxy.accepted(), 3);
}

mod http {
    use rocket::http::{ContentType, Header, Method, Status};
    use time::Duration;

    use crate::common::TestDb;
    use crate::common::app::{Answer, app_with, figment, json_accept};

    conformance!(
        async fn every_auth_post_is_limited_per_client_ip_with_retry_after(t: TestDb) -> TestDb {
            // Counted in this process: parallel tests share the test Redis and this
            // client address.
            let fig = figment(&t)
                .merge(("sigra.rate_limit.enabled", true))
                .merge(("sigra.redis_url", None::<String>));
            let app = app_with(fig).await;
            let mounted: Vec<_> = app
                .client
                .rocket()
                .routes()
                .filter(|r| r.method != Method::Get && r.method != Method::Head)
                .filter(|r| {
                    let path = r.uri.path();
                    path.starts_with("/users")
                        || path.starts_with("/organizations")
                        || path.starts_with("/admin")
                })
                .collect();
            crate::common::app::assert_exact_routes(
                mounted
                    .iter()
                    .map(|r| (r.method.to_string(), r.uri.path().to_string())),
                crate::common::app::SIGRA_STATE_CHANGING_ROUTES,
            );
            let routes: Vec<(Method, String)> = mounted
                .iter()
                .map(|r| {
                    (
                        r.method,
                        r.uri
                            .path()
                            .to_string()
                            .replace("<id>", "0190d6a4-6d2b-7c3e-9a51-7d1c2f3e4a5b")
                            .replace("<user_id>", "0190d6a4-6d2b-7c3e-9a51-7d1c2f3e4a5b")
                            .replace("<action>", "lock")
                            .replace("<session_id>", "0190d6a4-6d2b-7c3e-9a51-7d1c2f3e4a5b")
                            .replace("<provider>", "idp")
                            .replace("<slug>", "acme")
                            .replace("<token>", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                    )
                })
                .collect();
            // Logged in (from another address), so routes behind AuthenticatedUser count too.
            app.signed_up("rl-http@example.com").await;
            // An admin, so the admin console's routes reach their data guard too.
            sigra_core::features::admin::set_admin(
                &app.state().auth,
                "rl-http@example.com",
                true,
                &sigra_core::features::RequestMeta::default(),
            )
            .await
            .unwrap();
            let attacker = std::net::SocketAddr::from(([192, 0, 2, 50], 5000));
            for (method, path) in &routes {
                // A form sends another method as `_method` (Rocket's override).
                let body = if *method == Method::Post {
                    "email=a%40example.com".to_owned()
                } else {
                    format!("_method={}", method.as_str())
                };
                let send = |spoof: bool| {
                    let mut req = app
                        .client
                        .post(path.clone())
                        .remote(attacker)
                        .header(ContentType::Form)
                        .body(&body);
                    if spoof {
                        // Not a trusted proxy: these headers change nothing.
                        req = req
                            .header(Header::new("X-Forwarded-For", "198.51.100.1"))
                            .header(Header::new("X-Real-IP", "198.51.100.2"));
                    }
                    req
                };
                for i in 0..10 {
                    let status = send(i % 2 == 0).dispatch().await.status();
                    assert_ne!(
                        status,
                        Status::TooManyRequests,
                        "{method} {path} request {}",
                        i + 1
                    );
                }
                let r = send(true).dispatch().await;
                assert_eq!(r.status(), Status::TooManyRequests, "{method} {path} 11th");
                let retry: u64 = r.headers().get_one("Retry-After").unwrap().parse().unwrap();
                assert!((1..=60).contains(&retry), "{retry}");
                let html = r.into_string().await.unwrap();
                assert!(html.contains("Too many attempts"), "{html}");
            }
            let r = app
                .client
                .post("/users/log_in")
                .remote(attacker)
                .header(ContentType::Form)
                .header(json_accept())
                .body("x=1")
                .dispatch()
                .await;
            assert_eq!(r.status(), Status::TooManyRequests);
            assert_eq!(
                r.into_json::<serde_json::Value>().await.unwrap()["error"],
                "too_many_attempts"
            );
            // Another client is not affected; the next window lets the first one in again.
            let other = std::net::SocketAddr::from(([203, 0, 113, 8], 4000));
            let r = Answer::read(
                app.client
                    .post("/users/log_in")
                    .remote(other)
                    .header(ContentType::Form)
                    .body("x=1")
                    .dispatch()
                    .await,
            )
            .await;
            assert_ne!(r.status, Status::TooManyRequests);
            app.clock.advance(Duration::seconds(60));
            let r = app
                .client
                .post("/users/log_in")
                .remote(attacker)
                .header(ContentType::Form)
                .body("x=1")
                .dispatch()
                .await;
            assert_ne!(r.status(), Status::TooManyRequests);
            t
        }

        async fn every_x_forwarded_for_line_is_read_before_choosing_the_client(
            t: TestDb,
        ) -> TestDb {
            // The proxy at 10.0.0.2 appends its own header line rather than extending the
            // one the client sent: the client's line must not decide who the client is.
            let app =
                app_with(figment(&t).merge(("sigra.rate_limit.trusted_proxies", ["10.0.0.2"])))
                    .await;
            app.register("xff@example.com", crate::common::app::PASSWORD)
                .await;
            let proxy = std::net::SocketAddr::from(([10, 0, 0, 2], 443));
            let csrf = app.csrf().await;
            let r = Answer::read(
                app.client
                    .post("/users/log_in")
                    .remote(proxy)
                    .header(ContentType::Form)
                    .header(Header::new("X-Forwarded-For", "198.51.100.9"))
                    .header(Header::new("X-Forwarded-For", "203.0.113.50"))
                    .body(crate::common::app::form(&[
                        ("_csrf", &csrf),
                        ("email", "xff@example.com"),
                        ("password", crate::common::app::PASSWORD),
                    ]))
                    .dispatch()
                    .await,
            )
            .await;
            assert_eq!(r.status, Status::SeeOther);
            let user = sigra_core::store::users::find_by_email(&t.db, "xff@example.com")
                .await
                .unwrap()
                .unwrap();
            let now = sigra_core::Clock::now(&app.clock);
            let ips: Vec<Option<String>> =
                sigra_core::store::sessions::list_for_user(&t.db, user.id, now)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|s| s.ip)
                    .collect();
            assert_eq!(ips, vec![Some("203.0.113.50".to_owned())]);
            t
        }
    );
}
