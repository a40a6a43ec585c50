//! The audit log: what it records of what a user typed, and its hash chain: every edit,
//! deletion or reordering of a sealed event is named by verification; anonymizing keeps
//! it whole; two instances appending at once make one chain.

use rocket::http::Status;
use sigra_core::store::audit;

use crate::common::TestDb;
use crate::common::app::{PASSWORD, app};

conformance!(
    async fn failed_log_ins_audit_only_a_valid_address_or_a_keyed_digest_never_the_typed_text(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        app.register("typed@example.com", PASSWORD).await;
        let typed_password = "my secret passphrase 77";
        let long_address = format!("{}@example.com", "a".repeat(250));
        let huge = "x".repeat(30_000);
        for typed in [
            " Typed@Example.com ",
            typed_password,
            long_address.as_str(),
            huge.as_str(),
            typed_password,
        ] {
            let r = app.log_in(typed, "not the password at all", false).await;
            assert_eq!(r.status(), Status::Unauthorized);
        }
        // Forgot password and magic link audit the address typed there the same way.
        app.submit("/users/reset-password", &[("email", typed_password)])
            .await;
        app.submit("/users/magic-link", &[("email", typed_password)])
            .await;

        let mut recorded = Vec::new();
        for action in [
            "login.failure",
            "reset_password.requested",
            "magic_link.requested",
        ] {
            let events = audit::list(&t.db, &audit::AuditFilter::default().action(action))
                .await
                .unwrap();
            recorded.extend(
                events
                    .into_iter()
                    .map(|e| e.metadata.0["email"].as_str().unwrap().to_owned()),
            );
        }
        assert_eq!(recorded.len(), 7, "{recorded:?}");
        assert!(
            recorded.contains(&"typed@example.com".to_owned()),
            "a valid address is kept, normalized"
        );
        for value in &recorded {
            assert!(
                !value.contains("secret passphrase"),
                "typed text never stored: {value}"
            );
            assert!(value.len() <= 254, "{} characters stored", value.len());
            assert!(
                value == "typed@example.com" || value.starts_with("hmac:"),
                "{value}"
            );
        }
        assert_eq!(
            recorded.iter().filter(|v| v.starts_with("hmac:")).count(),
            6
        );
        // The same typed text gives the same digest (audit is newest first: the last two
        // are the forgot-password and magic-link requests).
        let password_digest = &recorded[recorded.len() - 1];
        assert_eq!(&recorded[recorded.len() - 2], password_digest);
        assert_eq!(recorded.iter().filter(|v| *v == password_digest).count(), 4);
        t
    }
);

mod chain {
    use sigra_core::features::audit::{self as feature, Verification};
    use sigra_core::features::deletion;
    use sigra_core::store::{AuditEvents, Executor, audit};
    use sigra_rocket::sea_query::{Expr, ExprTrait, Query};

    use crate::common::app::{TestApp, app, app_with, figment};
    use crate::common::{TestDb, admin_execute};

    async fn verified(app: &TestApp) -> Verification {
        feature::verify(&app.state().auth).await.unwrap()
    }

    /// Where verification says the chain breaks.
    async fn break_at(app: &TestApp) -> Option<(i64, &'static str)> {
        verified(app).await.broken.map(|b| (b.seq, b.problem))
    }

    /// Sign-ups and log-outs, sealing after each.
    async fn work(app: &TestApp, who: &str) {
        for n in 0..4 {
            app.signed_up(&format!("{who}-{n}@example.com")).await;
            app.state().run_due_jobs().await.unwrap();
            app.log_out().await;
        }
    }

    async fn some_events(app: &TestApp, who: &str) {
        for n in 0..3 {
            app.signed_up(&format!("{who}-{n}@example.com")).await;
            app.log_out().await;
        }
    }

    conformance!(
        async fn verification_names_an_edited_deleted_or_reordered_event(t: TestDb) -> TestDb {
            let app = app(&t).await;
            some_events(&app, "chain").await;
            app.state().run_due_jobs().await.unwrap();
            let report = verified(&app).await;
            assert!(report.is_intact(), "{report:?}");
            assert!(report.checked >= 6, "{report:?}");
            assert_eq!(report.unsealed, 0);
            assert_eq!(report.head_seq, report.checked as i64);
            let db = &t.db;
            let link = |seq: i64| async move {
                audit::links_after(db, seq - 1, 1).await.unwrap()[0].clone()
            };
            let event = |id| async move { audit::by_ids(db, &[id]).await.unwrap()[0].clone() };
            let set = |id, column: AuditEvents, value: Option<String>| async move {
                let stmt = Query::update()
                    .table(AuditEvents::Table)
                    .value(column, value)
                    .and_where(Expr::col(AuditEvents::Id).eq(id))
                    .to_owned();
                Executor::execute(db, &stmt).await.unwrap();
            };

            // An edited action.
            let second = event(link(2).await.event_id).await;
            set(second.id, AuditEvents::Action, Some("tampered".into())).await;
            assert_eq!(break_at(&app).await, Some((2, "hash")));
            set(second.id, AuditEvents::Action, Some(second.action.clone())).await;
            assert!(verified(&app).await.is_intact());

            // An edited IP (a personal field).
            let third = event(link(3).await.event_id).await;
            set(third.id, AuditEvents::Ip, Some("198.51.100.99".into())).await;
            assert_eq!(break_at(&app).await, Some((3, "personal")));
            set(third.id, AuditEvents::Ip, third.ip.clone()).await;
            assert!(verified(&app).await.is_intact());

            // Two events swapped.
            let sql = |s: &str| s.to_owned();
            admin_execute(
                &t.db,
                &sql("UPDATE sigra_audit_links SET seq = -1 WHERE seq = 2"),
            )
            .await;
            admin_execute(
                &t.db,
                &sql("UPDATE sigra_audit_links SET seq = 2 WHERE seq = 3"),
            )
            .await;
            admin_execute(
                &t.db,
                &sql("UPDATE sigra_audit_links SET seq = 3 WHERE seq = -1"),
            )
            .await;
            assert_eq!(break_at(&app).await, Some((2, "prev_hash")));
            admin_execute(
                &t.db,
                &sql("UPDATE sigra_audit_links SET seq = -1 WHERE seq = 3"),
            )
            .await;
            admin_execute(
                &t.db,
                &sql("UPDATE sigra_audit_links SET seq = 3 WHERE seq = 2"),
            )
            .await;
            admin_execute(
                &t.db,
                &sql("UPDATE sigra_audit_links SET seq = 2 WHERE seq = -1"),
            )
            .await;
            assert!(verified(&app).await.is_intact());

            // The newest link deleted: the chain ends before its head.
            let last = report.head_seq;
            admin_execute(&t.db, &sql("UPDATE sigra_audit_chain SET seq = seq + 1")).await;
            assert_eq!(break_at(&app).await, Some((last + 1, "head")));
            admin_execute(&t.db, &sql("UPDATE sigra_audit_chain SET seq = seq - 1")).await;
            assert!(verified(&app).await.is_intact());

            // A deleted event, then a deleted link.
            let fifth = link(5).await.event_id;
            let stmt = Query::delete()
                .from_table(AuditEvents::Table)
                .and_where(Expr::col(AuditEvents::Id).eq(fifth))
                .to_owned();
            Executor::execute(&t.db, &stmt).await.unwrap();
            assert_eq!(break_at(&app).await, Some((5, "missing")));
            admin_execute(&t.db, &sql("DELETE FROM sigra_audit_links WHERE seq = 4")).await;
            assert_eq!(break_at(&app).await, Some((4, "gap")));
            t
        }

        async fn anonymizing_an_account_keeps_the_chain_verifiable(t: TestDb) -> TestDb {
            let app = app_with(figment(&t).merge(("sigra.deletion.grace_days", 0))).await;
            app.signed_up("anon@example.com").await;
            app.log_out().await;
            app.log_in("anon@example.com", crate::common::app::PASSWORD, false)
                .await;
            app.state().run_due_jobs().await.unwrap();
            let sealed = verified(&app).await;
            assert!(sealed.is_intact() && sealed.checked >= 3, "{sealed:?}");
            app.submit("/users/settings/delete", &[]).await;
            deletion::execute_due(&app.state().auth).await.unwrap();
            app.state().run_due_jobs().await.unwrap();
            let mut filter = audit::AuditFilter::default();
            filter.limit = Some(1000);
            let scrubbed = audit::list(&t.db, &filter).await.unwrap();
            assert!(
                scrubbed.iter().any(|e| e.scrubbed && e.ip.is_none()),
                "anonymized"
            );
            let report = verified(&app).await;
            assert!(report.is_intact(), "{report:?}");
            assert!(report.checked > sealed.checked);
            t
        }

        async fn two_instances_appending_at_once_make_one_chain(t: TestDb) -> TestDb {
            let one = app(&t).await;
            let two = one.other_browser().await;
            tokio::join!(work(&one, "one"), work(&two, "two"));
            tokio::join!(async { one.state().run_due_jobs().await.unwrap() }, async {
                two.state().run_due_jobs().await.unwrap()
            });
            let report = verified(&one).await;
            assert!(report.is_intact(), "{report:?}");
            assert_eq!(report.unsealed, 0);
            let mut filter = audit::AuditFilter::default();
            filter.limit = Some(1000);
            let all = audit::list(&t.db, &filter).await.unwrap();
            assert_eq!(report.checked as usize, all.len());
            assert!(all.len() >= 16, "{}", all.len());
            t
        }
    );
}
