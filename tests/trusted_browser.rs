//! Trusted browsers: "trust this browser" skips the challenge for 30 days, bound to its
//! account, void after a password or second-factor change.

use rocket::http::Status;
use time::Duration;

use crate::common::TestDb;
use crate::common::app::{Answer, PASSWORD, app, cookie};
use crate::mfa::{challenge, partial};
use crate::mfa_totp::{code, enrolled};

conformance!(
    async fn a_trusted_browser_skips_the_step_until_settings_or_password_change(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        let (secret, _) = enrolled(&app, "tb@example.com").await;
        partial(&app, "tb@example.com").await;
        let r = app
            .submit_owned(
                "/users/mfa",
                &[("code", &code(&app, &secret, 0)), ("trust_browser", "true")],
            )
            .await;
        assert_eq!(r.status, Status::SeeOther);
        let trust = app
            .cookie("sigra_trusted_browser")
            .expect("trusted-browser cookie");
        assert!(!trust.is_empty());
        app.log_out().await;
        let r = app.log_in_owned("tb@example.com", PASSWORD, false).await;
        assert_eq!(r.location, "/", "a trusted browser skips the challenge");
        assert_eq!(
            app.body("/mfa-only").await.0,
            Status::Ok,
            "a trusted browser counts as the second factor"
        );

        // Another account's trust cookie is refused.
        let other = app.other_browser().await;
        let (other_secret, _) = enrolled(&other, "tb2@example.com").await;
        other.log_out().await;
        let r = Answer::read(
            other
                .client
                .post("/users/log_in")
                .remote(crate::common::app::CLIENT)
                .header(rocket::http::ContentType::Form)
                .cookie(cookie("sigra_trusted_browser", &trust))
                .body(crate::common::app::form(&[
                    ("_csrf", &other.csrf().await),
                    ("email", "tb2@example.com"),
                    ("password", PASSWORD),
                ]))
                .dispatch()
                .await,
        )
        .await;
        assert_eq!(
            r.location, "/users/mfa?return_to=%2F",
            "bound to its own account"
        );
        other.clock.advance(Duration::seconds(30));
        assert_eq!(
            challenge(&other, &code(&other, &other_secret, 0))
                .await
                .status(),
            Status::SeeOther
        );

        // A tampered cookie is refused.
        app.log_out().await;
        let tampered = format!("{}x", trust);
        let r = Answer::read(
            app.client
                .post("/users/log_in")
                .remote(crate::common::app::CLIENT)
                .header(rocket::http::ContentType::Form)
                .cookie(cookie("sigra_trusted_browser", &tampered))
                .body(crate::common::app::form(&[
                    ("_csrf", &app.csrf().await),
                    ("email", "tb@example.com"),
                    ("password", PASSWORD),
                ]))
                .dispatch()
                .await,
        )
        .await;
        assert!(r.location.starts_with("/users/mfa"));
        app.clock.advance(Duration::seconds(30));
        assert_eq!(
            challenge(&app, &code(&app, &secret, 0)).await.status(),
            Status::SeeOther
        );

        // A password change voids it.
        let new = "another long passphrase!";
        app.submit(
            "/users/settings/password",
            &[
                ("current_password", PASSWORD),
                ("password", new),
                ("password_confirmation", new),
            ],
        )
        .await;
        app.log_out().await;
        let r = Answer::read(
            app.client
                .post("/users/log_in")
                .remote(crate::common::app::CLIENT)
                .header(rocket::http::ContentType::Form)
                .cookie(cookie("sigra_trusted_browser", &trust))
                .body(crate::common::app::form(&[
                    ("_csrf", &app.csrf().await),
                    ("email", "tb@example.com"),
                    ("password", new),
                ]))
                .dispatch()
                .await,
        )
        .await;
        assert!(
            r.location.starts_with("/users/mfa"),
            "void after a password change"
        );

        // Expiry after 30 days (a fresh cookie, then the clock).
        app.clock.advance(Duration::seconds(30));
        app.submit(
            "/users/mfa",
            &[("code", &code(&app, &secret, 0)), ("trust_browser", "true")],
        )
        .await;
        let fresh = app.cookie("sigra_trusted_browser").unwrap();
        app.log_out().await;
        app.clock.advance(Duration::days(30));
        let r = Answer::read(
            app.client
                .post("/users/log_in")
                .remote(crate::common::app::CLIENT)
                .header(rocket::http::ContentType::Form)
                .cookie(cookie("sigra_trusted_browser", &fresh))
                .body(crate::common::app::form(&[
                    ("_csrf", &app.csrf().await),
                    ("email", "tb@example.com"),
                    ("password", new),
                ]))
                .dispatch()
                .await,
        )
        .await;
        assert!(
            r.location.starts_with("/users/mfa"),
            "expired after 30 days"
        );
        t
    }
);
