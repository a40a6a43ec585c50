//! Guards: AuthenticatedUser, OptionalUser, SudoUser; HTML vs JSON failures; expiry.

use rocket::http::Status;
use sigra_core::store::sessions;
use time::Duration;

use crate::common::TestDb;
use crate::common::app::{PASSWORD, app, json_accept, location};

conformance!(
    async fn authenticated_user_redirects_html_and_answers_json_with_401(t: TestDb) -> TestDb {
        let app = app(&t).await;
        let r = app.client.get("/dashboard?tab=2").dispatch().await;
        assert_eq!(r.status(), Status::SeeOther);
        assert_eq!(
            location(&r),
            "/users/log_in?return_to=%2Fdashboard%3Ftab%3D2"
        );
        drop(r);
        let r = app
            .client
            .get("/dashboard")
            .header(json_accept())
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Unauthorized);
        let body: serde_json::Value = r.into_json().await.unwrap();
        assert_eq!(body["error"], "not_authenticated");
        app.signed_up("g@example.com").await;
        let (status, body) = app.body("/dashboard").await;
        assert_eq!(
            (status, body.as_str()),
            (Status::Ok, "dashboard of g@example.com")
        );
        t
    }

    async fn optional_user_never_fails(t: TestDb) -> TestDb {
        let app = app(&t).await;
        assert_eq!(
            app.body("/maybe").await,
            (Status::Ok, "hello stranger".into())
        );
        app.signed_up("o@example.com").await;
        assert_eq!(
            app.body("/maybe").await,
            (Status::Ok, "hello o@example.com".into())
        );
        t
    }

    async fn sudo_user_lasts_fifteen_minutes_after_log_in_then_asks_again(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("s@example.com").await;
        assert_eq!(
            app.body("/danger").await,
            (Status::Ok, "sudo page for s@example.com".into())
        );
        app.clock.advance(Duration::minutes(15));
        let r = app.client.get("/danger").dispatch().await;
        assert_eq!(r.status(), Status::SeeOther);
        assert_eq!(location(&r), "/users/sudo?return_to=%2Fdanger");
        drop(r);
        let r = app
            .client
            .get("/danger")
            .header(json_accept())
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Forbidden);
        assert_eq!(
            r.into_json::<serde_json::Value>().await.unwrap()["error"],
            "sudo_required"
        );

        let (status, html) = app.body("/users/sudo?return_to=/danger").await;
        assert_eq!(status, Status::Ok);
        assert!(html.contains("autocomplete=\"current-password\""));
        let before = app.cookie("sigra_session").unwrap();
        let r = app
            .submit_owned(
                "/users/sudo?return_to=/danger",
                &[("password", "wrong wrong wrong")],
            )
            .await;
        assert_eq!(r.status, Status::Unauthorized);
        let r = app
            .submit_owned("/users/sudo?return_to=/danger", &[("password", PASSWORD)])
            .await;
        assert_eq!(r.status, Status::SeeOther);
        assert_eq!(r.location, "/danger");
        assert_ne!(
            app.cookie("sigra_session").unwrap(),
            before,
            "sudo issues a fresh session token"
        );
        assert_eq!(app.body("/danger").await.0, Status::Ok);
        let r = app.submit("/danger", &[("note", "x")]).await;
        assert_eq!(
            r.into_string().await.unwrap(),
            "sudo ok for s@example.com x"
        );
        let events = sigra_core::store::audit::list(
            &t.db,
            &sigra_core::store::audit::AuditFilter::default(),
        )
        .await
        .unwrap();
        let actions: Vec<_> = events.iter().map(|e| e.action.as_str()).collect();
        assert!(
            actions.contains(&"sudo") && actions.contains(&"sudo.failure"),
            "{actions:?}"
        );
        t
    }

    async fn sessions_expire_when_idle_and_at_their_absolute_limit(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("e@example.com").await;
        app.clock.advance(Duration::hours(23));
        assert_eq!(
            app.body("/dashboard").await.0,
            Status::Ok,
            "23 h idle is fine"
        );
        app.clock.advance(Duration::hours(24));
        assert_eq!(
            app.body("/dashboard").await.0,
            Status::SeeOther,
            "24 h idle ends it"
        );

        app.log_in("e@example.com", PASSWORD, false).await;
        // Active every 23 hours: fine until 14 days after log-in (14 × 23 h = 322 h < 336 h).
        for _ in 0..14 {
            app.clock.advance(Duration::hours(23));
            assert_eq!(app.body("/dashboard").await.0, Status::Ok);
        }
        app.clock.advance(Duration::hours(23));
        assert_eq!(
            app.body("/dashboard").await.0,
            Status::SeeOther,
            "14 days is the absolute limit"
        );
        t
    }

    async fn last_seen_is_written_at_most_once_a_minute(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("ls@example.com").await;
        let hash = sigra_core::crypto::TokenHash::of_encoded(&app.cookie("sigra_session").unwrap())
            .unwrap();
        let seen = || async {
            sessions::find_by_hash(&t.db, &hash)
                .await
                .unwrap()
                .unwrap()
                .0
                .last_seen_at
        };
        let start = seen().await;
        app.clock.advance(Duration::seconds(59));
        app.body("/dashboard").await;
        assert_eq!(seen().await, start);
        app.clock.advance(Duration::seconds(1));
        app.body("/dashboard").await;
        assert_eq!(seen().await, start + Duration::seconds(60));
        t
    }

    async fn a_revoked_session_is_refused_on_its_next_request(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("rv@example.com").await;
        let phone = app.other_browser().await;
        phone.log_in("rv@example.com", PASSWORD, false).await;
        assert_eq!(phone.body("/dashboard").await.0, Status::Ok);

        let (_, html) = app.body("/users/settings").await;
        assert!(html.contains("This device"));
        let phone_id = sessions::find_by_hash(
            &t.db,
            &sigra_core::crypto::TokenHash::of_encoded(&phone.cookie("sigra_session").unwrap())
                .unwrap(),
        )
        .await
        .unwrap()
        .unwrap()
        .0
        .id;
        assert!(html.contains(&phone_id.to_string()));
        let r = app
            .submit_owned(
                &format!("/users/settings/sessions/{phone_id}"),
                &[("_method", "DELETE")],
            )
            .await;
        assert_eq!(r.status, Status::SeeOther);
        assert_eq!(r.location, "/users/settings?notice=revoked");
        assert_eq!(
            phone.body("/dashboard").await.0,
            Status::SeeOther,
            "revoked on the very next request"
        );
        assert_eq!(
            app.body("/dashboard").await.0,
            Status::Ok,
            "this device stays"
        );
        t
    }

    async fn sign_out_everywhere_else_keeps_only_this_session(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("ev@example.com").await;
        app.confirm_email("ev@example.com").await;
        let laptop = app.other_browser().await;
        laptop.log_in("ev@example.com", PASSWORD, true).await;
        let remember = laptop.cookie("sigra_remember_me").unwrap();
        let r = app
            .submit_owned("/users/settings/sessions/others", &[])
            .await;
        assert_eq!(r.location, "/users/settings?notice=others_revoked");
        assert_eq!(laptop.body("/dashboard").await.0, Status::SeeOther);
        let again = app.other_browser().await;
        let r = again
            .client
            .get("/dashboard")
            .cookie(crate::common::app::cookie("sigra_remember_me", &remember))
            .dispatch()
            .await;
        assert_eq!(
            r.status(),
            Status::SeeOther,
            "its remember-me cookie died with it"
        );
        drop(r);
        assert_eq!(app.body("/dashboard").await.0, Status::Ok);
        t
    }
);
