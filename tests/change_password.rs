//! Change password from the settings page.

use rocket::http::Status;
use sigra_core::crypto::TokenHash;
use sigra_core::store::sessions;

use crate::common::TestDb;
use crate::common::app::{Answer, PASSWORD, app, cookie};

const NEW: &str = "the second long passphrase";

conformance!(
    async fn change_password_keeps_the_current_session_and_kills_the_rest(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("cp@example.com").await;
        app.confirm_email("cp@example.com").await;
        let phone = app.other_browser().await;
        phone.log_in("cp@example.com", PASSWORD, true).await;
        let phone_remember = phone.cookie("sigra_remember_me").unwrap();
        app.submit("/users/reset-password", &[("email", "cp@example.com")])
            .await;
        let reset = app
            .link_for("cp@example.com", "/users/reset-password/")
            .await;
        let before = app.cookie("sigra_session").unwrap();

        let (_, html) = app.body("/users/settings").await;
        assert!(html.contains("Change password"));
        let r = app
            .submit_owned(
                "/users/settings/password",
                &[
                    ("current_password", PASSWORD),
                    ("password", NEW),
                    ("password_confirmation", NEW),
                ],
            )
            .await;
        assert_eq!(r.status, Status::SeeOther);
        assert_eq!(r.location, "/users/settings?notice=password_changed");
        let after = app.cookie("sigra_session").unwrap();
        assert_ne!(
            after, before,
            "a privilege change issues a fresh session token"
        );
        assert!(
            sessions::find_by_hash(&t.db, &TokenHash::of_encoded(&before).unwrap())
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            app.body("/dashboard").await.0,
            Status::Ok,
            "this session stays"
        );
        assert_eq!(
            phone.body("/dashboard").await.0,
            Status::SeeOther,
            "other sessions end"
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
        assert_eq!(
            r.status,
            Status::SeeOther,
            "other devices' remember-me cookies end"
        );
        assert_eq!(
            app.body(&reset).await.0,
            Status::NotFound,
            "emailed tokens die with the old password"
        );
        let mails = app.mails_to("cp@example.com").await;
        assert!(
            mails.iter().any(
                |m| m.subject.to_lowercase().contains("password was changed")
                    || m.text.to_lowercase().contains("password was changed")
            ),
            "{:?}",
            mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
        );
        app.log_out().await;
        assert_eq!(
            app.log_in("cp@example.com", PASSWORD, false).await.status(),
            Status::Unauthorized
        );
        assert_eq!(
            app.log_in("cp@example.com", NEW, false).await.status(),
            Status::SeeOther
        );
        t
    }

    async fn change_password_needs_the_current_password_and_a_good_new_one(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("cw@example.com").await;
        for (current, new, confirm, message) in [
            ("wrong wrong wrong", NEW, NEW, "not your current password"),
            (PASSWORD, "short", "short", "at least 12 characters"),
            (PASSWORD, NEW, "something else entirely", "do not match"),
        ] {
            let r = app
                .submit(
                    "/users/settings/password",
                    &[
                        ("current_password", current),
                        ("password", new),
                        ("password_confirmation", confirm),
                    ],
                )
                .await;
            assert_eq!(r.status(), Status::UnprocessableEntity, "{message}");
            let html = r.into_string().await.unwrap();
            assert!(html.contains(message), "{message}: {html}");
        }
        app.log_out().await;
        assert_eq!(
            app.log_in("cw@example.com", PASSWORD, false).await.status(),
            Status::SeeOther,
            "nothing changed"
        );
        t
    }
);
