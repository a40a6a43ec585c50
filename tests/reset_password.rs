//! Password reset: enumeration safety, the landing page, the new password, and what it revokes.

use rocket::http::Status;
use sigra_core::store::{sessions, users};
use time::Duration;

use crate::common::TestDb;
use crate::common::app::{PASSWORD, app};

const NEW: &str = "a brand new passphrase 77";

conformance!(
    async fn forgot_password_answers_alike_for_known_and_unknown_emails(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.register("fp@example.com", PASSWORD).await;
        let (status, html) = app.body("/users/reset-password").await;
        assert_eq!(status, Status::Ok);
        assert!(html.contains("name=\"email\""));
        let known = app
            .submit("/users/reset-password", &[("email", "fp@example.com")])
            .await;
        let known_status = known.status();
        let known_body = known.into_string().await.unwrap();
        let unknown = app
            .submit("/users/reset-password", &[("email", "nn@example.com")])
            .await;
        assert_eq!(unknown.status(), known_status);
        assert_eq!(
            unknown
                .into_string()
                .await
                .unwrap()
                .replace("nn@", "fp@")
                .replace("nn%40", "fp%40"),
            known_body
        );
        let mails = app.mails_to("fp@example.com").await;
        assert!(
            mails
                .iter()
                .any(|m| m.text.contains("/users/reset-password/"))
        );
        assert!(app.mails_to("nn@example.com").await.is_empty());
        // Throttled: a second request within 5 minutes sends nothing.
        app.submit("/users/reset-password", &[("email", "fp@example.com")])
            .await;
        assert_eq!(app.mails_to("fp@example.com").await.len(), mails.len());
        t
    }

    async fn a_reset_sets_the_password_and_revokes_every_session_and_token(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("rp@example.com").await;
        let phone = app.other_browser().await;
        phone.log_in("rp@example.com", PASSWORD, true).await;
        phone
            .submit("/users/magic-link", &[("email", "rp@example.com")])
            .await;
        let magic = app.link_for("rp@example.com", "/users/magic-link/").await;

        app.clock.advance(Duration::minutes(1));
        app.log_out().await;
        app.submit("/users/reset-password", &[("email", "rp@example.com")])
            .await;
        let link = app
            .link_for("rp@example.com", "/users/reset-password/")
            .await;
        let (status, html) = app.body(&link).await;
        assert_eq!(status, Status::Ok);
        assert!(html.contains("rp@example.com"));
        assert!(html.contains("no-referrer"));

        for (password, confirmation, message) in [
            ("short", "short", "at least 12 characters"),
            ("password1234", "password1234", "too common"),
            (NEW, "something else entirely", "do not match"),
        ] {
            let r = app
                .submit(
                    &link,
                    &[
                        ("password", password),
                        ("password_confirmation", confirmation),
                    ],
                )
                .await;
            assert_eq!(r.status(), Status::UnprocessableEntity, "{message}");
            assert!(
                r.into_string().await.unwrap().contains(message),
                "{message}"
            );
        }
        let r = app
            .submit_owned(&link, &[("password", NEW), ("password_confirmation", NEW)])
            .await;
        assert_eq!(r.status, Status::SeeOther);
        assert_eq!(r.location, "/users/log_in?notice=password_reset");
        assert!(app.cookie("sigra_session").is_none(), "no automatic log-in");

        let user = users::find_by_email(&t.db, "rp@example.com")
            .await
            .unwrap()
            .unwrap();
        assert!(
            sessions::list_for_user(&t.db, user.id, sigra_core::Clock::now(&app.clock))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            phone.body("/dashboard").await.0,
            Status::SeeOther,
            "other sessions end"
        );
        assert_eq!(
            app.submit(&magic, &[]).await.status(),
            Status::NotFound,
            "outstanding tokens die"
        );
        assert_eq!(
            app.submit(&link, &[("password", NEW), ("password_confirmation", NEW)])
                .await
                .status(),
            Status::NotFound,
            "single use"
        );
        let mails = app.mails_to("rp@example.com").await;
        assert!(
            mails[0].subject.to_lowercase().contains("password"),
            "{}",
            mails[0].subject
        );

        assert_eq!(
            app.log_in("rp@example.com", PASSWORD, false).await.status(),
            Status::Unauthorized
        );
        assert_eq!(
            app.log_in("rp@example.com", NEW, false).await.status(),
            Status::SeeOther
        );
        t
    }

    async fn reset_links_expire_after_an_hour(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.register("rx@example.com", PASSWORD).await;
        app.submit("/users/reset-password", &[("email", "rx@example.com")])
            .await;
        let link = app
            .link_for("rx@example.com", "/users/reset-password/")
            .await;
        app.clock.advance(Duration::minutes(60));
        assert_eq!(app.body(&link).await.0, Status::NotFound);
        let r = app
            .submit(&link, &[("password", NEW), ("password_confirmation", NEW)])
            .await;
        assert_eq!(r.status(), Status::NotFound);
        t
    }
);

conformance!(
    async fn the_reset_mail_states_the_configured_lifetime_and_the_link_keeps_it(
        t: TestDb,
    ) -> TestDb {
        use crate::common::app::{app_with, figment};

        let two_hours = figment(&t).merge(("sigra.tokens.reset_password_secs", 2 * 3600));
        let app = app_with(two_hours).await;
        app.register("rl@example.com", PASSWORD).await;
        let page = app
            .submit_owned("/users/reset-password", &[("email", "rl@example.com")])
            .await;
        assert!(
            page.body.contains("It expires in 2 hours."),
            "{}",
            page.body
        );
        let mails = app.mails_to("rl@example.com").await;
        let reset = mails
            .iter()
            .find(|m| m.text.contains("/users/reset-password/"))
            .expect("a reset mail");
        assert!(
            reset.text.contains("It is valid for 2 hours."),
            "{}",
            reset.text
        );
        let html = reset.html.as_deref().unwrap_or_default();
        assert!(html.contains("It is valid for 2 hours."), "{html}");

        let link = app
            .link_for("rl@example.com", "/users/reset-password/")
            .await;
        // Past the default hour, within the two the mail promised: still good.
        app.clock.advance(Duration::minutes(119));
        let (_, html) = app.body(&link).await;
        assert!(
            html.contains("rl@example.com"),
            "the link works for 2 hours"
        );
        app.clock.advance(Duration::minutes(2));
        let (_, html) = app.body(&link).await;
        assert!(!html.contains("rl@example.com"), "and no longer");
        assert!(html.contains("work once and for 2 hours"), "{html}");
        t
    }
);
