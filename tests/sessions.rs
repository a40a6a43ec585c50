//! Sessions: idle and absolute expiry, last-seen writes, revoking one or all but this
//! one, what a remember-me restore issues survives error answers, signed-in responses
//! are never cached.

use rocket::http::Status;
use sigra_core::store::sessions;
use time::Duration;

use crate::common::TestDb;
use crate::common::app::{Answer, CLIENT, PASSWORD, app, app_with, cookie, figment};
use crate::mfa_totp::{code, enrolled};

conformance!(
    async fn remember_me_cookies_survive_an_error_answer(t: TestDb) -> TestDb {
        // An account with a second factor: a restored session owes it, so the first
        // request answers with the guard's 401 (a redirect to the challenge). Rocket
        // drops cookies set before a catcher runs; Sigra sets them again.
        let app = app(&t).await;
        let (secret, _) = enrolled(&app, "rm@example.com").await;
        app.confirm_email("rm@example.com").await;
        app.log_out().await;
        app.clock.advance(Duration::seconds(30));
        app.log_in("rm@example.com", PASSWORD, true).await;
        let remember = app.cookie("sigra_remember_me").expect("remember-me cookie");
        assert_eq!(
            app.submit("/users/mfa", &[("code", &code(&app, &secret, 0))])
                .await
                .status(),
            Status::SeeOther
        );

        let browser = app.other_browser().await;
        let r = Answer::read(
            browser
                .client
                .get("/dashboard")
                .remote(CLIENT)
                .cookie(cookie("sigra_remember_me", &remember))
                .dispatch()
                .await,
        )
        .await;
        assert_eq!(r.status, Status::SeeOther);
        assert_eq!(r.location, "/users/mfa?return_to=%2Fdashboard");
        let set: Vec<String> = r.cookies.iter().map(ToString::to_string).collect();
        assert!(
            set.iter().any(|c| c.starts_with("sigra_session=")),
            "{set:?}"
        );
        assert!(
            set.iter()
                .any(|c| c.starts_with("sigra_remember_me=") && !c.contains(&remember)),
            "{set:?}"
        );
        let (status, html) = browser.body("/users/mfa?return_to=%2Fdashboard").await;
        assert_eq!(
            status,
            Status::Ok,
            "lands on the challenge, not the log-in page"
        );
        assert!(html.contains("name=\"code\""), "{html}");

        // Without a second factor: the first request goes to a SudoUser route (403).
        let plain = app_with(figment(&t)).await;
        plain.signed_up("rs@example.com").await;
        plain.confirm_email("rs@example.com").await;
        plain.log_out().await;
        plain.log_in("rs@example.com", PASSWORD, true).await;
        let remember = plain.cookie("sigra_remember_me").unwrap();
        let browser = plain.other_browser().await;
        let r = Answer::read(
            browser
                .client
                .get("/danger")
                .remote(CLIENT)
                .cookie(cookie("sigra_remember_me", &remember))
                .dispatch()
                .await,
        )
        .await;
        assert_eq!(r.status, Status::SeeOther);
        assert!(r.location.starts_with("/users/sudo"), "{}", r.location);
        let (status, html) = browser.body("/users/sudo?return_to=%2Fdanger").await;
        assert_eq!(status, Status::Ok, "still signed in");
        assert!(html.contains("name=\"password\""));
        assert_eq!(browser.body("/dashboard").await.0, Status::Ok);
        t
    }

    async fn signed_in_responses_are_never_cached(t: TestDb) -> TestDb {
        let app = app(&t).await;
        let anonymous = app.client.get("/maybe").remote(CLIENT).dispatch().await;
        assert_eq!(
            anonymous.headers().get_one("Cache-Control"),
            None,
            "nothing to protect"
        );
        drop(anonymous);
        app.signed_up("nc@example.com").await;
        for path in ["/dashboard", "/maybe"] {
            let r = app.client.get(path).remote(CLIENT).dispatch().await;
            assert_eq!(r.status(), Status::Ok);
            assert_eq!(
                r.headers().get_one("Cache-Control"),
                Some("no-store"),
                "{path}"
            );
        }
        let off = app_with(figment(&t).merge(("sigra.session.no_store", false))).await;
        off.signed_up("nc2@example.com").await;
        let r = off.client.get("/dashboard").remote(CLIENT).dispatch().await;
        assert_eq!(r.status(), Status::Ok);
        assert_eq!(
            r.headers().get_one("Cache-Control"),
            None,
            "configurable off"
        );
        t
    }
);

conformance!(
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
        let r = Answer::read(
            again
                .client
                .get("/dashboard")
                .cookie(crate::common::app::cookie("sigra_remember_me", &remember))
                .dispatch()
                .await,
        )
        .await;
        assert_eq!(
            r.status,
            Status::SeeOther,
            "its remember-me cookie died with it"
        );
        assert_eq!(app.body("/dashboard").await.0, Status::Ok);
        t
    }
);
