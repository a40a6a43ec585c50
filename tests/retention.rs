//! Retention: the worker deletes sent mail after `sigra.retention.outbox_days`, and
//! expired sessions and tokens once they are dead; several instances sweeping at once
//! delete each row once.

use sigra_core::jobs::{RetentionSweep, Sweep};
use sigra_core::store::Db;
use time::Duration;

use crate::common::TestDb;
use crate::common::app::{PASSWORD, TestApp, app};

/// `SELECT COUNT(*) FROM <table>` on any backend.
pub async fn count(db: &Db, table: &str) -> i64 {
    let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
    match db {
        Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        Db::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        Db::MySql(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        _ => unreachable!("no such backend"),
    }
}

fn sweep(app: &TestApp) -> RetentionSweep {
    let auth = &app.state().auth;
    RetentionSweep::new(auth.db.clone(), auth.clock.clone(), &auth.config)
}

conformance!(
    async fn sent_mail_is_deleted_from_the_outbox_seven_days_after_it_was_sent(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        app.register("kept@example.com", PASSWORD).await;
        assert_eq!(app.mails_to("kept@example.com").await.len(), 1);
        assert_eq!(count(&t.db, "sigra_outbox").await, 1, "sent, kept for now");
        app.clock.advance(Duration::days(7) - Duration::minutes(1));
        app.state().run_due_jobs().await.unwrap();
        assert_eq!(count(&t.db, "sigra_outbox").await, 1, "kept for seven days");
        app.clock.advance(Duration::minutes(1));
        app.state().run_due_jobs().await.unwrap();
        assert_eq!(
            count(&t.db, "sigra_outbox").await,
            0,
            "its sealed mail goes with it"
        );
        t
    }

    async fn expired_sessions_and_tokens_are_purged_by_the_worker(t: TestDb) -> TestDb {
        let app = app(&t).await;
        // One account left unconfirmed (its confirmation link and code), one confirmed and
        // remembered (remember-me is only for confirmed accounts).
        app.register("old@example.com", PASSWORD).await;
        app.register("kept-in@example.com", PASSWORD).await;
        app.confirm_email("kept-in@example.com").await;
        app.log_in("kept-in@example.com", PASSWORD, true).await;
        app.state().run_due_jobs().await.unwrap();
        assert_eq!(count(&t.db, "sigra_sessions").await, 1);
        assert_eq!(
            count(&t.db, "sigra_user_tokens").await,
            3,
            "a confirmation link and code, a remember-me token"
        );

        // A day later: the session is idle past its timeout, the confirmation token past
        // its 24 hours (link and code); a session in use survives, and so does the 30-day remember-me token.
        app.clock.advance(Duration::hours(25));
        let live = app.other_browser().await;
        live.log_in("old@example.com", PASSWORD, false).await;
        app.state().run_due_jobs().await.unwrap();
        assert_eq!(
            count(&t.db, "sigra_sessions").await,
            1,
            "only the live session is left"
        );
        assert_eq!(live.body("/dashboard").await.0, rocket::http::Status::Ok);
        assert_eq!(
            count(&t.db, "sigra_user_tokens").await,
            1,
            "only the remember-me token is left"
        );

        app.clock.advance(Duration::days(30));
        app.state().run_due_jobs().await.unwrap();
        assert_eq!(count(&t.db, "sigra_sessions").await, 0);
        assert_eq!(count(&t.db, "sigra_user_tokens").await, 0);
        t
    }

    async fn retention_sweeps_of_several_instances_delete_each_row_once_and_wait_their_interval(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        for i in 0..6 {
            app.register(&format!("r{i}@example.com"), PASSWORD).await;
        }
        app.state().run_due_jobs().await.unwrap();
        assert_eq!(count(&t.db, "sigra_outbox").await, 6);
        app.clock.advance(Duration::days(8));
        let (a, b) = (sweep(&app), sweep(&app));
        let (ra, rb) = tokio::join!(a.sweep_now(), b.sweep_now());
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        assert_eq!(ra.outbox + rb.outbox, 6, "{ra:?} {rb:?}");
        assert_eq!(
            ra.tokens + rb.tokens,
            12,
            "the confirmation links and codes, once each"
        );
        assert_eq!(count(&t.db, "sigra_outbox").await, 0);

        // As a sweep of the worker, it runs at most once per interval (a day).
        let periodic = sweep(&app);
        periodic.run().await.unwrap();
        app.submit("/users/magic-link", &[("email", "r0@example.com")])
            .await;
        assert_eq!(count(&t.db, "sigra_user_tokens").await, 1);
        app.clock.advance(Duration::hours(1));
        periodic.run().await.unwrap();
        assert_eq!(
            count(&t.db, "sigra_user_tokens").await,
            1,
            "expired, but the last sweep was an hour ago"
        );
        app.clock.advance(Duration::hours(23));
        periodic.run().await.unwrap();
        assert_eq!(
            count(&t.db, "sigra_user_tokens").await,
            0,
            "a day after the last sweep"
        );
        t
    }
);
