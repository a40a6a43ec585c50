//! Log-in and remember-me.

use rocket::http::Status;
use sigra_core::store::{audit, sessions, users};
use time::Duration;

use crate::common::TestDb;
use crate::common::app::{Answer, PASSWORD, app, cookie, location};

conformance!(
    async fn log_in_issues_a_fresh_session_cookie_and_redirects(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.register("li@example.com", PASSWORD).await;
        let r = app.log_in("li@example.com", PASSWORD, false).await;
        assert_eq!(r.status(), Status::SeeOther);
        assert_eq!(location(&r), "/");
        let first = app.cookie("sigra_session").expect("session cookie");
        assert!(app.cookie("sigra_remember_me").is_none());
        let (status, body) = app.body("/dashboard").await;
        assert_eq!(
            (status, body.as_str()),
            (Status::Ok, "dashboard of li@example.com")
        );

        // Logging in again (already logged in) replaces the session.
        let r = app.log_in("li@example.com", PASSWORD, false).await;
        assert_eq!(r.status(), Status::SeeOther);
        let second = app.cookie("sigra_session").unwrap();
        assert_ne!(first, second, "the session cookie changes on log-in");
        let old = sigra_core::crypto::TokenHash::of_encoded(&first).unwrap();
        assert!(
            sessions::find_by_hash(&t.db, &old).await.unwrap().is_none(),
            "old session ended"
        );
        t
    }

    async fn wrong_password_and_unknown_email_answer_alike(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.register("wp@example.com", PASSWORD).await;
        let wrong = app
            .log_in("wp@example.com", "not the password at all", false)
            .await;
        assert_eq!(wrong.status(), Status::Unauthorized);
        let wrong_body = wrong.into_string().await.unwrap();
        assert!(wrong_body.contains("Invalid email or password."));
        let unknown = app
            .log_in("nobody@example.com", "not the password at all", false)
            .await;
        assert_eq!(unknown.status(), Status::Unauthorized);
        let unknown_body = unknown.into_string().await.unwrap();
        assert_eq!(unknown_body.replace("nobody@", "wp@"), wrong_body);
        assert!(app.cookie("sigra_session").is_none());

        let user = users::find_by_email(&t.db, "wp@example.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.failed_login_count, 1);
        let failures = audit::list(
            &t.db,
            &audit::AuditFilter::default().action("login.failure"),
        )
        .await
        .unwrap();
        assert_eq!(failures.len(), 2);
        assert!(failures.iter().all(|e| e.ip.is_some()));
        t
    }

    async fn remember_me_restores_a_session_after_the_session_cookie_is_gone(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.register("rm@example.com", PASSWORD).await;
        app.confirm_email("rm@example.com").await;
        app.log_in("rm@example.com", PASSWORD, true).await;
        let remember = app.cookie("sigra_remember_me").expect("remember-me cookie");
        let session = app.cookie("sigra_session").unwrap();

        // The browser was closed: only the remember-me cookie is left.
        let later = app.other_browser().await;
        let r = Answer::read(
            later
                .client
                .get("/dashboard")
                .cookie(cookie("sigra_remember_me", &remember))
                .dispatch()
                .await,
        )
        .await;
        assert_eq!(r.status, Status::Ok);
        let restored = later.cookie("sigra_session").expect("a new session cookie");
        assert_ne!(restored, session);
        let rotated = later.cookie("sigra_remember_me").unwrap();
        assert_ne!(rotated, remember, "the remember-me token rotates on use");
        let (status, _) = later.body("/dashboard").await;
        assert_eq!(status, Status::Ok, "the restored session works on its own");

        // A restored session is not a fresh authentication: no sudo.
        let r = Answer::read(later.client.get("/danger").dispatch().await).await;
        assert_eq!(r.status, Status::SeeOther);
        assert!(r.location.starts_with("/users/sudo"), "{}", r.location);

        // The old remember-me token is spent (its replay ends the family: tests/remember_me.rs).
        let thief = app.other_browser().await;
        let r = thief
            .client
            .get("/dashboard")
            .cookie(cookie("sigra_remember_me", &remember))
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::SeeOther);
        t
    }

    async fn remember_me_expires_after_its_lifetime(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.register("rx@example.com", PASSWORD).await;
        app.confirm_email("rx@example.com").await;
        app.log_in("rx@example.com", PASSWORD, true).await;
        let remember = app.cookie("sigra_remember_me").unwrap();
        app.clock.advance(Duration::days(30));
        let later = app.other_browser().await;
        let r = Answer::read(
            later
                .client
                .get("/dashboard")
                .cookie(cookie("sigra_remember_me", &remember))
                .dispatch()
                .await,
        )
        .await;
        assert_eq!(r.status, Status::SeeOther);
        assert!(
            later.cookie("sigra_remember_me").is_none(),
            "a dead remember-me cookie is cleared"
        );
        t
    }
);

conformance!(
    async fn a_return_to_that_no_location_header_can_carry_falls_back_safely(t: TestDb) -> TestDb {
        let app = crate::common::app::app(&t).await;
        app.register("rt@example.com", crate::common::app::PASSWORD)
            .await;
        for bad in ["/dash\"board", "/caf\u{e9}", "/a<b>", "/a{b}"] {
            let (status, html) = app
                .body(&format!(
                    "/users/log_in?return_to={}",
                    crate::common::app::form(&[("x", bad)]).trim_start_matches("x=")
                ))
                .await;
            assert_eq!(status, rocket::http::Status::Ok, "{bad}");
            assert!(!html.contains("name=\"return_to\""), "{bad} is not echoed");
            let r = app
                .submit_owned(
                    "/users/log_in",
                    &[
                        ("email", "rt@example.com"),
                        ("password", crate::common::app::PASSWORD),
                        ("return_to", bad),
                    ],
                )
                .await;
            assert_eq!(r.status, rocket::http::Status::SeeOther, "{bad}");
            assert_eq!(r.location, "/", "{bad}");
            assert_eq!(
                app.body("/dashboard").await.0,
                rocket::http::Status::Ok,
                "{bad}: logged in"
            );
            app.log_out().await;
        }
        let r = app
            .submit(
                "/users/log_in",
                &[
                    ("email", "rt@example.com"),
                    ("password", crate::common::app::PASSWORD),
                    ("return_to", "/caf%C3%A9?q=%22"),
                ],
            )
            .await;
        assert_eq!(
            crate::common::app::location(&r),
            "/caf%C3%A9?q=%22",
            "percent-encoded is kept"
        );
        t
    }
);

conformance!(
    async fn debug_output_of_a_user_never_shows_the_password_hash(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.register("dbg@example.com", PASSWORD).await;
        let user = users::find_by_email(&t.db, "dbg@example.com")
            .await
            .unwrap()
            .unwrap();
        let hash = user.hashed_password().unwrap().to_owned();
        let dbg = format!("{user:?} {user:#?}");
        assert!(!dbg.contains(&hash) && !dbg.contains("$argon2"), "{dbg}");
        assert!(
            dbg.contains("dbg@example.com") && dbg.contains("[redacted]"),
            "{dbg}"
        );
        t
    }
);
