//! The cache of validated sessions (`sigra.session.cache_ms`, on by default) and the
//! revocations its instances push to each other: every failure case of the protocol in
//! `sigra_core::session_cache::broadcast` has its story here.

use std::time::Duration as Wait;

use rocket::http::Status;
use sigra_core::SigraConfig;
use sigra_core::crypto::TokenHash;
use sigra_core::features::{Auth, RequestMeta, sessions as session_flows};
use sigra_core::session_cache::{BroadcastStats, Transport, broadcast};
use sigra_core::store::{Backend, instances, sessions};
use time::Duration;
use uuid::Uuid;

use crate::common::app::{Answer, PASSWORD, REDIS_ENV, TestApp, app_with, figment};
use crate::common::{TestDb, run_on};

conformance!(
    async fn a_revocation_on_another_instance_is_in_force_when_it_answers(t: TestDb) -> TestDb {
        let a = app_with(figment(&t).merge(("sigra.session.cache_ms", 300))).await;
        a.signed_up("sc@example.com").await;
        assert_eq!(
            a.body("/dashboard").await.0,
            Status::Ok,
            "cached on instance A"
        );
        // Another device, served by instance B, signs out everywhere else.
        let b = a.other_browser().await;
        b.log_in("sc@example.com", PASSWORD, false).await;
        let r = b.submit_owned("/users/settings/sessions/others", &[]).await;
        assert_eq!(r.status, Status::SeeOther);
        assert_eq!(
            a.body("/dashboard").await.0,
            Status::SeeOther,
            "A no longer accepts it"
        );
        assert_eq!(b.body("/dashboard").await.0, Status::Ok);
        t
    }

    async fn cached_sessions_skip_the_database_but_not_expiry(t: TestDb) -> TestDb {
        let app = app_with(figment(&t).merge(("sigra.session.cache_ms", 3000))).await;
        app.signed_up("sk@example.com").await;
        assert_eq!(app.body("/dashboard").await.0, Status::Ok);
        // Removed behind Sigra's back (no revocation flow): the cache still answers,
        // which shows the lookup was skipped.
        let hash = TokenHash::of_encoded(&app.cookie("sigra_session").unwrap()).unwrap();
        let (session, user) = sessions::find_by_hash(&t.db, &hash).await.unwrap().unwrap();
        sessions::delete(&t.db, user.id, session.id).await.unwrap();
        assert_eq!(app.body("/dashboard").await.0, Status::Ok);
        // Expiry is still judged on every request.
        app.clock.advance(Duration::hours(24));
        assert_eq!(app.body("/dashboard").await.0, Status::SeeOther);
        t
    }

    async fn log_out_takes_effect_at_once_on_its_own_instance(t: TestDb) -> TestDb {
        let app = app_with(figment(&t).merge(("sigra.session.cache_ms", 300))).await;
        app.signed_up("lo-cache@example.com").await;
        let cookie = app.cookie("sigra_session").unwrap();
        assert_eq!(app.body("/dashboard").await.0, Status::Ok);
        app.log_out().await;
        let r = app
            .client
            .get("/dashboard")
            .cookie(crate::common::app::cookie("sigra_session", &cookie))
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::SeeOther, "the stolen cookie is dead");
        t
    }

    async fn sessions_a_flow_replaces_end_on_every_instance(t: TestDb) -> TestDb {
        let fig = figment(&t).merge(("sigra.session.cache_ms", 300));
        // Log-in ends the browser's previous session: a copy of its cookie, cached on
        // instance B, dies with it.
        let a = app_with(fig.clone()).await;
        a.signed_up("re@example.com").await;
        a.confirm_email("re@example.com").await;
        let old = a.cookie("sigra_session").unwrap();
        let b = a.other_browser().await;
        assert_eq!(
            stolen(&b.client, old.clone()).await,
            Status::Ok,
            "cached on B"
        );
        a.log_in("re@example.com", PASSWORD, true).await;
        assert_eq!(
            stolen(&b.client, old).await,
            Status::SeeOther,
            "log-in ended it everywhere"
        );

        // A remember-me restore replaces the session the cookie belonged to.
        let replaced = a.cookie("sigra_session").unwrap();
        let remember = a.cookie("sigra_remember_me").unwrap();
        assert_eq!(
            stolen(&b.client, replaced.clone()).await,
            Status::Ok,
            "cached on B"
        );
        let c = a.other_browser().await;
        let r = Answer::read(
            c.client
                .get("/dashboard")
                .cookie(crate::common::app::cookie("sigra_remember_me", &remember))
                .dispatch()
                .await,
        )
        .await;
        assert_eq!(r.status, Status::Ok);
        assert_eq!(
            stolen(&b.client, replaced).await,
            Status::SeeOther,
            "the restore ended it everywhere"
        );

        // Turning the second factor off: B must not keep answering MfaUser from its cache.
        let m = app_with(fig).await;
        let (_, _) = crate::mfa_totp::enrolled(&m, "mo@example.com").await;
        let session = m.cookie("sigra_session").unwrap();
        let on_b = m.other_browser().await;
        let mfa_only = |value: String| {
            on_b.client
                .get("/mfa-only")
                .cookie(crate::common::app::cookie("sigra_session", &value))
                .dispatch()
        };
        assert_eq!(
            mfa_only(session.clone()).await.status(),
            Status::Ok,
            "cached on B"
        );
        assert_eq!(
            m.submit("/users/settings/mfa/totp", &[("_method", "DELETE")])
                .await
                .status(),
            Status::SeeOther
        );
        assert_eq!(
            mfa_only(session).await.status(),
            Status::SeeOther,
            "off everywhere"
        );
        t
    }
);

/// A request to `/dashboard` with someone else's session cookie.
async fn stolen(client: &rocket::local::asynchronous::Client, value: String) -> Status {
    client
        .get("/dashboard")
        .cookie(crate::common::app::cookie("sigra_session", &value))
        .dispatch()
        .await
        .status()
}

// ---- Pushed revocation between instances (sigra_core::session_cache::broadcast) ------

/// Declares a test on the deployments whose instances push revocations to each other:
/// PostgreSQL (`LISTEN/NOTIFY`) and MySQL with Redis.
macro_rules! networked {
    ($(async fn $name:ident($t:ident: TestDb $(,)?) -> TestDb $body:block)*) => {
        $(
            mod $name {
                use super::*;

                async fn body($t: TestDb) -> TestDb $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    run_on(Backend::Postgres, body).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn mysql() {
                    run_on(Backend::MySql, body).await
                }
            }
        )*
    };
}

fn stats(app: &TestApp) -> BroadcastStats {
    app.state().auth.broadcast.stats()
}

fn transport(app: &TestApp) -> Transport {
    app.state().auth.broadcast.transport()
}

/// Whether `app` pushes revocations to other instances; says so loudly when it cannot
/// (MySQL without `SIGRA_TEST_REDIS_URL`), so a skipped check is never silent.
fn pushes(app: &TestApp) -> bool {
    let pushing = matches!(transport(app), Transport::Postgres | Transport::Redis);
    if !pushing {
        eprintln!(
            "\n!!!!! SKIPPING a pushed-revocation check: transport {:?} ({REDIS_ENV} unset?) !!!!!\n",
            transport(app)
        );
    }
    pushing
}

/// Waits (bounded) until `app`'s cache gate is `open` or not.
async fn gate_becomes(app: &TestApp, open: bool) {
    let mut serving = app.state().auth.broadcast.watch_serving();
    tokio::time::timeout(Wait::from_secs(30), serving.wait_for(|s| *s == open))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "the gate never became {}",
                if open { "open" } else { "closed" }
            )
        })
        .unwrap();
}

/// Unix milliseconds now, as instances write their heartbeats.
#[allow(clippy::disallowed_methods)]
fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The session row behind `app`'s cookie.
async fn session_of(t: &TestDb, app: &TestApp) -> (Uuid, Uuid) {
    let hash = TokenHash::of_encoded(&app.cookie("sigra_session").unwrap()).unwrap();
    let (session, user) = sessions::find_by_hash(&t.db, &hash).await.unwrap().unwrap();
    (session.id, user.id)
}

conformance!(
    async fn a_revocation_on_one_of_two_or_three_instances_is_in_force_on_the_others_when_it_answers(
        t: TestDb,
    ) -> TestDb {
        // Default configuration: the cache is on.
        let a = app_with(figment(&t)).await;
        a.signed_up("three@example.com").await;
        let b = a.other_browser().await;
        let cookie = a.cookie("sigra_session").unwrap();
        assert_eq!(stolen(&b.client, cookie.clone()).await, Status::Ok, "on B");
        let before = (stats(&a), stats(&b));
        a.log_out().await;
        assert_eq!(
            stolen(&b.client, cookie).await,
            Status::SeeOther,
            "B refuses the next request"
        );
        if transport(&a) != Transport::Off && transport(&a) != Transport::Local {
            assert_eq!(
                stats(&a).acknowledged,
                before.0.acknowledged + 1,
                "B acknowledged"
            );
            assert_eq!(stats(&a).timed_out, before.0.timed_out);
            assert!(stats(&b).applied > before.1.applied, "B applied it");
        }

        let c = a.other_browser().await;
        a.log_in("three@example.com", PASSWORD, false).await;
        let cookie = a.cookie("sigra_session").unwrap();
        for other in [&b, &c] {
            assert_eq!(stolen(&other.client, cookie.clone()).await, Status::Ok);
        }
        let before = stats(&c);
        // Revoked from the third instance this time (an admin-style end of one session
        // through the flow, as any instance may run it).
        let (session, user) = session_of(&t, &a).await;
        let auth = &c.state().auth;
        session_flows::revoke_by(auth, user, user, session, &RequestMeta::default())
            .await
            .unwrap();
        for other in [&a, &b] {
            assert_eq!(
                stolen(&other.client, cookie.clone()).await,
                Status::SeeOther,
                "refused on every other instance"
            );
        }
        if matches!(transport(&c), Transport::Postgres | Transport::Redis) {
            assert_eq!(
                stats(&c).acknowledged,
                before.acknowledged + 1,
                "both acknowledged"
            );
            assert_eq!(stats(&c).timed_out, before.timed_out);
        }
        t
    }

    async fn a_tool_that_never_started_the_broadcast_waits_cache_ms_before_answering(
        t: TestDb,
    ) -> TestDb {
        // A command-line tool builds an Auth on the same database but serves nothing and
        // never subscribes: nothing it does can reach the serving instances' caches, so it
        // waits until their entries have expired.
        let fig = figment(&t).merge(("sigra.session.cache_ms", 300));
        let a = app_with(fig.clone()).await;
        a.signed_up("tool@example.com").await;
        let cookie = a.cookie("sigra_session").unwrap();
        assert_eq!(
            stolen(&a.client, cookie.clone()).await,
            Status::Ok,
            "cached"
        );
        let config = SigraConfig::from_figment(&fig).unwrap();
        let clock = std::sync::Arc::new(a.clock.clone());
        let tool = Auth::build(config, t.db.clone(), clock, None)
            .await
            .unwrap();
        let (session, user) = session_of(&t, &a).await;
        tokio::time::timeout(
            Wait::from_secs(30),
            session_flows::revoke_by(&tool, user, user, session, &RequestMeta::default()),
        )
        .await
        .expect("bounded by cache_ms")
        .unwrap();
        assert_eq!(stolen(&a.client, cookie).await, Status::SeeOther);
        assert_eq!(
            tool.broadcast.stats(),
            BroadcastStats::default(),
            "it told no one"
        );
        t
    }
);

networked!(
    async fn a_subscriber_that_loses_its_connection_reads_the_database_until_it_is_back(
        t: TestDb,
    ) -> TestDb {
        let fig = figment(&t);
        // On Redis, instance B selects database 9 so its subscription can be told apart.
        let fig_b = match (t.backend, std::env::var(REDIS_ENV)) {
            (Backend::MySql, Ok(url)) => fig.clone().merge((
                "sigra.redis_url",
                format!("{}/9", url.trim_end_matches('/')),
            )),
            _ => fig.clone(),
        };
        let a = app_with(fig).await;
        if !pushes(&a) {
            return t;
        }
        a.signed_up("lost@example.com").await;
        let b = app_with(fig_b).await;
        gate_becomes(&b, true).await;
        let cookie = a.cookie("sigra_session").unwrap();
        assert_eq!(
            stolen(&b.client, cookie.clone()).await,
            Status::Ok,
            "cached on B"
        );

        kill_subscription(&t, &b).await;
        gate_becomes(&b, false).await;
        assert_eq!(stats(&b).subscription_losses, 1);
        // Ended behind Sigra's back: no message reaches B, yet B refuses, because with
        // its subscription down it reads the database.
        let (session, user) = session_of(&t, &a).await;
        sessions::delete(&t.db, user, session).await.unwrap();
        assert_eq!(stolen(&b.client, cookie).await, Status::SeeOther);

        // It reconnects by itself and pushes work again.
        gate_becomes(&b, true).await;
        a.log_in("lost@example.com", PASSWORD, false).await;
        let cookie = a.cookie("sigra_session").unwrap();
        assert_eq!(stolen(&b.client, cookie.clone()).await, Status::Ok);
        let acknowledged = stats(&a).acknowledged;
        a.log_out().await;
        assert_eq!(stolen(&b.client, cookie).await, Status::SeeOther);
        assert_eq!(
            stats(&a).acknowledged,
            acknowledged + 1,
            "B acknowledged again"
        );
        t
    }

    async fn a_crashed_instance_delays_revocations_by_cache_ms_at_most_and_not_once_dead(
        t: TestDb,
    ) -> TestDb {
        let fig = figment(&t).merge(("sigra.session.cache_ms", 300));
        let a = app_with(fig).await;
        if !pushes(&a) {
            return t;
        }
        a.signed_up("crash@example.com").await;
        let b = a.other_browser().await;
        // An instance that crashed a moment ago: its heartbeat is fresh, it answers nothing.
        let crashed = Uuid::new_v4();
        instances::heartbeat(&t.db, crashed, wall_ms())
            .await
            .unwrap();
        let cookie = a.cookie("sigra_session").unwrap();
        assert_eq!(stolen(&b.client, cookie.clone()).await, Status::Ok);
        let before = stats(&a);
        let answered = tokio::time::timeout(Wait::from_secs(30), a.log_out()).await;
        assert!(answered.is_ok(), "the revocation answered");
        assert_eq!(
            stats(&a).timed_out,
            before.timed_out + 1,
            "it waited out cache_ms"
        );
        assert_eq!(stolen(&b.client, cookie).await, Status::SeeOther);

        // Once its heartbeat is older than DEAD_AFTER, nobody waits for it.
        let long_ago = wall_ms() - broadcast::DEAD_AFTER.as_millis() as i64 - 1000;
        instances::heartbeat(&t.db, crashed, long_ago)
            .await
            .unwrap();
        a.log_in("crash@example.com", PASSWORD, false).await;
        let before = stats(&a);
        a.log_out().await;
        assert_eq!(stats(&a).acknowledged, before.acknowledged + 1);
        assert_eq!(stats(&a).timed_out, before.timed_out);
        t
    }

    async fn an_instance_stopped_cleanly_is_not_waited_for(t: TestDb) -> TestDb {
        let a = app_with(figment(&t)).await;
        if !pushes(&a) {
            return t;
        }
        a.signed_up("stop@example.com").await;
        let b = a.other_browser().await;
        b.state().auth.broadcast.stop().await;
        assert!(!b.state().auth.broadcast.gate().serving(), "B closed");
        let rows = instances::live(&t.db, a.state().auth.broadcast.id(), 0)
            .await
            .unwrap();
        assert!(rows.is_empty(), "B's row is gone: {rows:?}");
        let before = stats(&a);
        a.log_out().await;
        assert_eq!(stats(&a).acknowledged, before.acknowledged + 1);
        assert_eq!(stats(&a).timed_out, before.timed_out);
        t
    }
);

/// A broker that cannot be reached (Redis on a port where nothing listens).
async fn broker_down(t: TestDb) -> TestDb {
    let fig = figment(&t)
        .merge(("sigra.session.cache_ms", 300))
        .merge(("sigra.redis_url", "redis://127.0.0.1:1"));
    let a = app_with(fig).await;
    assert_eq!(transport(&a), Transport::Redis);
    assert!(
        !a.state().auth.broadcast.gate().serving(),
        "closed: never subscribed"
    );
    a.signed_up("broker@example.com").await;
    let cookie = a.cookie("sigra_session").unwrap();
    // Nothing is answered from memory: a session ended behind Sigra's back is refused.
    let (session, user) = session_of(&t, &a).await;
    assert_eq!(stolen(&a.client, cookie.clone()).await, Status::Ok);
    sessions::delete(&t.db, user, session).await.unwrap();
    assert_eq!(stolen(&a.client, cookie).await, Status::SeeOther);
    // A revocation cannot be published: it waits cache_ms, bounded.
    a.log_in("broker@example.com", PASSWORD, false).await;
    let before = stats(&a);
    let answered = tokio::time::timeout(Wait::from_secs(30), a.log_out()).await;
    assert!(answered.is_ok());
    assert_eq!(stats(&a).timed_out, before.timed_out + 1);
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_is_down_closes_the_cache_and_revocations_wait_cache_ms_sqlite() {
    run_on(Backend::Sqlite, broker_down).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_is_down_closes_the_cache_and_revocations_wait_cache_ms_mysql() {
    run_on(Backend::MySql, broker_down).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_sqlite_file_without_redis_close_both_caches() {
    run_on(Backend::Sqlite, |t: TestDb| async move {
        let a = app_with(figment(&t)).await;
        assert_eq!(transport(&a), Transport::Local);
        gate_becomes(&a, true).await;
        let b = a.other_browser().await;
        assert!(
            !b.state().auth.broadcast.gate().serving(),
            "B saw A at start"
        );
        // A sees B at its next heartbeat.
        gate_becomes(&a, false).await;
        a.signed_up("twice@example.com").await;
        let cookie = a.cookie("sigra_session").unwrap();
        assert_eq!(stolen(&b.client, cookie.clone()).await, Status::Ok);
        let (session, user) = session_of(&t, &a).await;
        sessions::delete(&t.db, user, session).await.unwrap();
        for app in [&a, &b] {
            assert_eq!(
                stolen(&app.client, cookie.clone()).await,
                Status::SeeOther,
                "nothing answered from memory"
            );
        }
        // B leaves: A is alone again and reopens.
        b.state().auth.broadcast.stop().await;
        gate_becomes(&a, true).await;
        t
    })
    .await
}

/// Cuts instance `b`'s subscription from the server side.
async fn kill_subscription(t: &TestDb, b: &TestApp) {
    let id = b.state().auth.broadcast.id();
    match t.backend {
        Backend::Postgres => {
            let name = broadcast::listener_name(id);
            let sigra_core::store::Db::Postgres(pool) = &t.db else {
                unreachable!()
            };
            let killed: Vec<(bool,)> = sqlx::query_as(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            )
            .bind(&name)
            .fetch_all(pool)
            .await
            .unwrap();
            assert_eq!(killed, vec![(true,)], "one listening connection of B");
        }
        _ => {
            let url = std::env::var(REDIS_ENV).unwrap();
            let client = redis::Client::open(url).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let list: String = redis::cmd("CLIENT")
                .arg("LIST")
                .arg("TYPE")
                .arg("pubsub")
                .query_async(&mut conn)
                .await
                .unwrap();
            let ids: Vec<&str> = list
                .lines()
                .filter(|l| l.split(' ').any(|f| f == "db=9"))
                .filter_map(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")))
                .collect();
            assert_eq!(ids.len(), 1, "one subscription of B: {list}");
            let _: () = redis::cmd("CLIENT")
                .arg("KILL")
                .arg("ID")
                .arg(ids[0])
                .query_async(&mut conn)
                .await
                .unwrap();
        }
    }
}
