//! Scheduled account deletion: sudo gating, log-out everywhere, the grace period with
//! its cancel page, the three strategies, and workers racing for one deletion.

use rocket::http::Status;
use sigra_core::Clock;
use sigra_core::crypto::TokenHash;
use sigra_core::features::audit::{self, AuditFilter};
use sigra_core::features::{RequestMeta, deletion, sessions as session_flow};
use sigra_core::store::{User, sessions, users};
use time::Duration;

use crate::common::TestDb;
use crate::common::app::{Answer, PASSWORD, TestApp, app, app_with, cookie, figment, json_accept};

async fn user(t: &TestDb, email: &str) -> User {
    users::find_by_email(&t.db, email).await.unwrap().unwrap()
}

/// Logs in (with remember-me) and schedules the deletion from the settings page.
async fn schedule(app: &TestApp, email: &str) {
    app.signed_up(email).await;
    let r = app.submit_owned("/users/settings/delete", &[]).await;
    assert_eq!(r.status, Status::Ok);
}

async fn executed_events(t: &TestDb, id: uuid::Uuid) -> usize {
    let filter = AuditFilter::for_user(id).action(audit::DELETION_EXECUTED);
    audit::list(&t.db, &filter).await.unwrap().len()
}

conformance!(
    async fn schedule_deletion_logs_out_and_sets_deletion_scheduled_at(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("guide@example.com").await;
        let auth = &app.state().auth;
        let me = session_flow::authenticate(auth, &app.cookie("sigra_session").unwrap())
            .await
            .unwrap()
            .unwrap();
        let delete_at = deletion::schedule_deletion(auth, &me, &RequestMeta::default())
            .await
            .unwrap();
        assert!(delete_at > app.clock.now());
        assert_eq!(delete_at, app.clock.now() + Duration::days(14));
        assert_eq!(
            user(&t, "guide@example.com").await.deletion_scheduled_at,
            Some(delete_at)
        );
        assert_eq!(
            sessions::list_for_user(&t.db, me.user.id, app.clock.now())
                .await
                .unwrap()
                .len(),
            0
        );
        assert_eq!(
            app.body("/dashboard").await.0,
            Status::SeeOther,
            "logged out"
        );
        t
    }

    async fn deleting_the_account_needs_sudo_and_logs_out_everywhere(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("del@example.com").await;
        app.confirm_email("del@example.com").await;
        let phone = app.other_browser().await;
        phone.log_in("del@example.com", PASSWORD, true).await;
        let phone_remember = phone.cookie("sigra_remember_me").unwrap();
        app.submit("/users/reset-password", &[("email", "del@example.com")])
            .await;
        let reset = app
            .link_for("del@example.com", "/users/reset-password/")
            .await;
        let (_, html) = app.body("/users/settings").await;
        assert!(html.contains("Delete my account") && html.contains("14 days"));

        app.clock.advance(Duration::minutes(16));
        let token = app.csrf().await;
        let r = Answer::read(
            app.client
                .post("/users/settings/delete")
                .remote(crate::common::app::CLIENT)
                .header(rocket::http::ContentType::Form)
                .header(rocket::http::Header::new(
                    "Referer",
                    "http://127.0.0.1:8000/users/settings",
                ))
                .body(crate::common::app::form(&[("_csrf", &token)]))
                .dispatch()
                .await,
        )
        .await;
        assert_eq!(r.status, Status::SeeOther);
        assert_eq!(
            r.location, "/users/sudo?return_to=%2Fusers%2Fsettings",
            "sudo first, then back to settings"
        );
        assert!(
            user(&t, "del@example.com")
                .await
                .deletion_scheduled_at
                .is_none(),
            "nothing scheduled without sudo"
        );
        let r = app
            .submit_owned(
                "/users/sudo?return_to=/users/settings",
                &[("password", PASSWORD)],
            )
            .await;
        assert_eq!(r.location, "/users/settings");

        let session = app.cookie("sigra_session").unwrap();
        let r = app.submit("/users/settings/delete", &[]).await;
        assert_eq!(r.status(), Status::Ok);
        let html = r.into_string().await.unwrap();
        let expected = sigra_core::features::human_time(app.clock.now() + Duration::days(14));
        assert!(
            html.contains(&expected) && html.contains("signed out everywhere"),
            "{html}"
        );
        assert!(
            app.cookie("sigra_session").is_none(),
            "the cookie is cleared"
        );
        assert!(
            sessions::find_by_hash(&t.db, &TokenHash::of_encoded(&session).unwrap())
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            phone.body("/dashboard").await.0,
            Status::SeeOther,
            "the other device is logged out"
        );
        let thief = app.other_browser().await;
        let r = Answer::read(
            thief
                .client
                .get("/dashboard")
                .cookie(cookie("sigra_remember_me", &phone_remember))
                .dispatch()
                .await,
        )
        .await;
        assert_eq!(r.status, Status::SeeOther, "remember-me cookies end too");
        assert_eq!(
            app.body(&reset).await.0,
            Status::NotFound,
            "emailed tokens end too"
        );
        let mails = app.mails_to("del@example.com").await;
        assert!(
            mails.iter().any(|m| m
                .subject
                .contains(&format!("will be deleted on {expected}"))),
            "{:?}",
            mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
        );
        let scheduled = audit::list(
            &t.db,
            &AuditFilter::for_user(user(&t, "del@example.com").await.id)
                .action(audit::DELETION_SCHEDULED),
        )
        .await
        .unwrap();
        assert_eq!(scheduled.len(), 1);
        t
    }

    async fn logging_in_during_the_grace_period_offers_to_cancel(t: TestDb) -> TestDb {
        let app = app(&t).await;
        schedule(&app, "back@example.com").await;
        app.clock.advance(Duration::days(3));

        let r = app.log_in_owned("back@example.com", PASSWORD, false).await;
        assert_eq!(r.status, Status::SeeOther);
        assert_eq!(r.location, "/users/settings/delete");
        let (status, html) = app.body("/users/settings/delete").await;
        assert_eq!(status, Status::Ok);
        assert!(
            html.contains("deletion-banner") && html.contains("Keep my account"),
            "{html}"
        );
        // Every other page refuses the session until the deletion is cancelled.
        let r = Answer::read(app.client.get("/dashboard").dispatch().await).await;
        assert_eq!(r.status, Status::SeeOther);
        assert_eq!(r.location, "/users/settings/delete");
        let r = app
            .client
            .get("/dashboard")
            .header(json_accept())
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Forbidden);
        assert!(
            r.into_string()
                .await
                .unwrap()
                .contains("deletion_scheduled")
        );
        assert_eq!(
            app.body("/maybe").await.1,
            "hello stranger",
            "OptionalUser sees no user"
        );
        assert_eq!(app.body("/users/settings").await.0, Status::SeeOther);
        assert_eq!(app.body("/users/settings/export").await.0, Status::SeeOther);

        let r = app.submit_owned("/users/settings/delete/cancel", &[]).await;
        assert_eq!(r.status, Status::SeeOther);
        assert_eq!(r.location, "/users/settings?notice=deletion_cancelled");
        let (status, html) = app.body("/users/settings?notice=deletion_cancelled").await;
        assert_eq!(status, Status::Ok);
        assert!(html.contains("will not be deleted"));
        assert_eq!(app.body("/dashboard").await.0, Status::Ok);
        assert!(
            user(&t, "back@example.com")
                .await
                .deletion_scheduled_at
                .is_none()
        );
        assert_eq!(
            app.body("/users/settings/delete").await.0,
            Status::SeeOther,
            "nothing pending: back to settings"
        );
        let mails = app.mails_to("back@example.com").await;
        assert!(
            mails
                .iter()
                .any(|m| m.subject.contains("will not be deleted"))
        );

        app.clock.advance(Duration::days(30));
        app.state().run_due_jobs().await.unwrap();
        let kept = user(&t, "back@example.com").await;
        assert!(kept.deleted_at.is_none() && kept.has_password());
        assert_eq!(executed_events(&t, kept.id).await, 0);
        t
    }

    async fn the_magic_link_also_leads_to_the_cancel_page(t: TestDb) -> TestDb {
        let app = app(&t).await;
        schedule(&app, "ml@example.com").await;
        app.submit("/users/magic-link", &[("email", "ml@example.com")])
            .await;
        let link = app.link_for("ml@example.com", "/users/magic-link/").await;
        let r = app.submit_owned(&link, &[]).await;
        assert_eq!(r.location, "/users/settings/delete");
        let r = Answer::read(app.log_out().await).await;
        assert_eq!(
            r.status,
            Status::SeeOther,
            "a restricted session can log out"
        );
        assert_eq!(app.body("/users/settings/delete").await.0, Status::SeeOther);
        assert!(app.cookie("sigra_session").is_none());
        t
    }

    async fn anonymize_runs_when_the_grace_period_ends(t: TestDb) -> TestDb {
        let app = app(&t).await;
        schedule(&app, "anon@example.com").await;
        let id = user(&t, "anon@example.com").await.id;

        app.clock.advance(Duration::days(14) - Duration::minutes(1));
        assert_eq!(app.state().run_due_jobs().await.unwrap().swept, 0);
        assert!(
            user(&t, "anon@example.com").await.deleted_at.is_none(),
            "not before the date"
        );
        let r = app.log_in_owned("anon@example.com", PASSWORD, false).await;
        assert_eq!(
            r.location, "/users/settings/delete",
            "still recoverable on the last day"
        );

        app.clock.advance(Duration::minutes(1));
        assert_eq!(app.state().run_due_jobs().await.unwrap().swept, 1);
        assert_eq!(
            app.state().run_due_jobs().await.unwrap().swept,
            0,
            "exactly once"
        );
        assert!(
            users::find_by_email(&t.db, "anon@example.com")
                .await
                .unwrap()
                .is_none()
        );
        let row = users::find_by_id(&t.db, id).await.unwrap().unwrap();
        assert_eq!(
            row.email,
            format!("deleted-{}@deleted.invalid", id.simple())
        );
        assert!(
            !row.has_password()
                && row.confirmed_at.is_none()
                && row.deleted_at.is_some()
                && row.deletion_scheduled_at.is_none()
        );
        assert_eq!(
            sessions::list_for_user(&t.db, id, app.clock.now())
                .await
                .unwrap()
                .len(),
            0
        );
        assert_eq!(
            app.body("/dashboard").await.0,
            Status::SeeOther,
            "the grace-period session is gone"
        );
        let events = audit::list(&t.db, &AuditFilter::for_user(id))
            .await
            .unwrap();
        assert!(events.len() > 3);
        for e in events
            .iter()
            .filter(|e| e.action != audit::DELETION_EXECUTED)
        {
            assert!(
                e.ip.is_none() && e.user_agent.is_none() && e.metadata.0 == serde_json::json!({}),
                "{e:?}"
            );
        }
        let executed: Vec<_> = events
            .iter()
            .filter(|e| e.action == audit::DELETION_EXECUTED)
            .collect();
        assert_eq!(executed.len(), 1);
        assert_eq!(executed[0].metadata.0["strategy"], "anonymize");
        let mails = app.mails_to("anon@example.com").await;
        assert!(mails.iter().any(|m| m.subject.contains("was deleted")));

        assert_eq!(
            app.log_in("anon@example.com", PASSWORD, false)
                .await
                .status(),
            Status::Unauthorized
        );
        // The address is free again.
        assert_eq!(
            app.register("anon@example.com", PASSWORD).await.status(),
            Status::Ok
        );
        assert_ne!(user(&t, "anon@example.com").await.id, id);
        t
    }

    async fn soft_delete_keeps_the_row_but_nothing_reaches_it(t: TestDb) -> TestDb {
        let app = app_with(
            figment(&t)
                .merge(("sigra.deletion.strategy", "soft_delete"))
                .merge(("sigra.deletion.grace_days", 1)),
        )
        .await;
        schedule(&app, "soft@example.com").await;
        let id = user(&t, "soft@example.com").await.id;
        app.clock.advance(Duration::days(1));
        assert_eq!(app.state().run_due_jobs().await.unwrap().swept, 1);
        let row = users::find_by_id(&t.db, id).await.unwrap().unwrap();
        assert_eq!(row.email, "soft@example.com");
        assert!(row.has_password() && row.deleted_at.is_some());
        let events = audit::list(&t.db, &AuditFilter::for_user(id))
            .await
            .unwrap();
        assert!(
            events
                .iter()
                .any(|e| e.action == audit::LOGIN_SUCCESS && e.ip.is_some()),
            "events kept as they were"
        );
        assert_eq!(executed_events(&t, id).await, 1);
        assert_eq!(
            events
                .iter()
                .find(|e| e.action == audit::DELETION_EXECUTED)
                .unwrap()
                .metadata
                .0["strategy"],
            "soft_delete"
        );

        let r = app.log_in_owned("soft@example.com", PASSWORD, false).await;
        assert_eq!(
            r.status,
            Status::Unauthorized,
            "a soft-deleted account cannot log in"
        );
        let before = app.mails_to("soft@example.com").await.len();
        app.submit("/users/reset-password", &[("email", "soft@example.com")])
            .await;
        app.submit("/users/magic-link", &[("email", "soft@example.com")])
            .await;
        assert_eq!(
            app.mails_to("soft@example.com").await.len(),
            before,
            "no link reaches it"
        );
        t
    }

    async fn hard_delete_removes_the_row_and_its_events(t: TestDb) -> TestDb {
        let app = app_with(figment(&t).merge(("sigra.deletion.strategy", "hard_delete"))).await;
        schedule(&app, "hard@example.com").await;
        let id = user(&t, "hard@example.com").await.id;
        app.clock.advance(Duration::days(14));
        assert_eq!(app.state().run_due_jobs().await.unwrap().swept, 1);
        assert!(users::find_by_id(&t.db, id).await.unwrap().is_none());
        let events = audit::list(&t.db, &AuditFilter::for_user(id))
            .await
            .unwrap();
        // Events sealed in the audit chain keep their place, with nothing personal left;
        // the others are gone.
        let (executed, kept): (Vec<_>, Vec<_>) = events
            .into_iter()
            .partition(|e| e.action == audit::DELETION_EXECUTED);
        assert!(kept.iter().all(|e| e.scrubbed), "{kept:?}");
        assert!(
            kept.iter()
                .all(|e| e.ip.is_none() && e.metadata.0 == serde_json::json!({}))
        );
        assert!(audit::verify(&app.state().auth).await.unwrap().is_intact());
        let events = executed;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].action, audit::DELETION_EXECUTED);
        assert_eq!(
            events[0].metadata.0,
            serde_json::json!({ "strategy": "hard_delete" })
        );
        assert!(events[0].ip.is_none() && events[0].actor_id.is_none());
        let mails = app.mails_to("hard@example.com").await;
        assert!(mails.iter().any(|m| m.subject.contains("was deleted")));
        assert_eq!(
            app.log_in("hard@example.com", PASSWORD, false)
                .await
                .status(),
            Status::Unauthorized
        );
        t
    }

    async fn two_workers_racing_delete_each_account_exactly_once(t: TestDb) -> TestDb {
        let a = app(&t).await;
        let b = a.other_browser().await;
        let emails = [
            "r1@example.com",
            "r2@example.com",
            "r3@example.com",
            "r4@example.com",
        ];
        for email in emails {
            let browser = a.other_browser().await;
            schedule(&browser, email).await;
        }
        a.clock.advance(Duration::days(15));
        let (ra, rb) = tokio::join!(a.state().run_due_jobs(), b.state().run_due_jobs());
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        assert_eq!(ra.swept + rb.swept, emails.len(), "{ra:?} {rb:?}");
        let (ra, rb) = tokio::join!(a.state().run_due_jobs(), b.state().run_due_jobs());
        assert_eq!(ra.unwrap().swept + rb.unwrap().swept, 0);
        let all = audit::list(
            &t.db,
            &AuditFilter::default().action(audit::DELETION_EXECUTED),
        )
        .await
        .unwrap();
        assert_eq!(all.len(), emails.len(), "one executed event per account");
        let mut targets: Vec<_> = all.iter().map(|e| e.target_id).collect();
        targets.sort();
        targets.dedup();
        assert_eq!(targets.len(), emails.len());
        let deleted_mails = |app: &TestApp| {
            app.state()
                .dev_mailbox
                .as_ref()
                .unwrap()
                .list()
                .into_iter()
                .filter(|m| m.subject.contains("was deleted"))
                .count()
        };
        assert_eq!(
            deleted_mails(&a) + deleted_mails(&b),
            emails.len(),
            "one last mail per account"
        );
        t
    }

    async fn cancel_and_pending_pages_need_a_session(t: TestDb) -> TestDb {
        let app = app(&t).await;
        let r = app.submit_owned("/users/settings/delete/cancel", &[]).await;
        assert!(r.location.starts_with("/users/log_in"), "{}", r.location);
        assert_eq!(app.body("/users/settings/delete").await.0, Status::SeeOther);
        let r = app.submit_owned("/users/settings/delete", &[]).await;
        assert_eq!(
            r.location,
            "/users/log_in?return_to=%2Fusers%2Fsettings%2Fdelete"
        );
        t
    }
);

conformance!(
    async fn a_session_owing_the_second_factor_cannot_cancel_a_deletion(t: TestDb) -> TestDb {
        let app = app(&t).await;
        crate::mfa_totp::enrolled(&app, "pd@example.com").await;
        assert_eq!(
            app.submit("/users/settings/delete", &[]).await.status(),
            Status::Ok
        );
        app.clock.advance(Duration::seconds(30));
        // A stolen password alone: the first factor, not the second.
        let r = app.log_in_owned("pd@example.com", PASSWORD, false).await;
        assert!(r.location.starts_with("/users/mfa"), "{}", r.location);
        let r = Answer::read(
            app.client
                .get("/users/settings/delete")
                .remote(crate::common::app::CLIENT)
                .dispatch()
                .await,
        )
        .await;
        assert_eq!(r.status, Status::SeeOther);
        assert!(r.location.starts_with("/users/mfa"), "{}", r.location);
        let r = app.submit_owned("/users/settings/delete/cancel", &[]).await;
        assert_eq!(r.status, Status::SeeOther);
        assert!(r.location.starts_with("/users/mfa"), "{}", r.location);
        let r = app
            .client
            .post("/users/settings/delete/cancel")
            .remote(crate::common::app::CLIENT)
            .header(json_accept())
            .header(rocket::http::ContentType::Form)
            .body(crate::common::app::form(&[("_csrf", &app.csrf().await)]))
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Unauthorized);
        assert!(r.into_string().await.unwrap().contains("mfa_required"));
        assert!(
            user(&t, "pd@example.com")
                .await
                .deletion_scheduled_at
                .is_some(),
            "still scheduled"
        );
        t
    }

    async fn cancelling_a_deletion_rotates_the_session_token(t: TestDb) -> TestDb {
        let app = app(&t).await;
        schedule(&app, "rot@example.com").await;
        app.log_in("rot@example.com", PASSWORD, false).await;
        let before = app.cookie("sigra_session").unwrap();
        let r = app.submit_owned("/users/settings/delete/cancel", &[]).await;
        assert_eq!(r.location, "/users/settings?notice=deletion_cancelled");
        let after = app.cookie("sigra_session").unwrap();
        assert_ne!(after, before, "a privilege change issues a new token");
        let auth = &app.state().auth;
        assert!(
            session_flow::authenticate(auth, &before)
                .await
                .unwrap()
                .is_none(),
            "the old token is dead"
        );
        assert_eq!(app.body("/dashboard").await.0, Status::Ok);
        t
    }
);

/// Outbox rows whose mail went to `email` (by the recipient digest the row keeps).
async fn outbox_rows_to(app: &TestApp, t: &TestDb, email: &str) -> i64 {
    let digest = app.state().auth.recipient_digest(email);
    assert!(digest.bytes().all(|b| b.is_ascii_hexdigit()));
    let table = format!("sigra_outbox WHERE recipient_digest = '{digest}'");
    crate::retention::count(&t.db, &table).await
}

conformance!(
    async fn executing_a_deletion_purges_the_accounts_outbox_rows(t: TestDb) -> TestDb {
        // Retention would delete the rows after 30 days; the deletion does it at once.
        let config = figment(&t)
            .merge(("sigra.deletion.grace_days", 1))
            .merge(("sigra.retention.outbox_days", 30));
        let app = app_with(config).await;
        schedule(&app, "purged@example.com").await;
        let bystander = app.other_browser().await;
        bystander.signed_up("bystander@example.com").await;
        assert_eq!(app.mails_to("purged@example.com").await.len(), 2);
        assert_eq!(
            outbox_rows_to(&app, &t, "purged@example.com").await,
            2,
            "confirmation, deletion notice"
        );
        assert_eq!(outbox_rows_to(&app, &t, "bystander@example.com").await, 1);

        app.clock.advance(Duration::days(1));
        assert_eq!(app.state().run_due_jobs().await.unwrap().swept, 1);
        assert_eq!(
            outbox_rows_to(&app, &t, "purged@example.com").await,
            1,
            "only the last notice is left"
        );
        let mails = app.mails_to("purged@example.com").await;
        assert!(mails.iter().any(|m| m.subject.contains("was deleted")));
        assert_eq!(
            outbox_rows_to(&app, &t, "bystander@example.com").await,
            1,
            "other accounts keep theirs"
        );
        t
    }
);
