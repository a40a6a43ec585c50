//! The settings overview at `/users/settings`: the account, its sessions, a pending
//! email change and the second factor, gathered by `settings::overview`.

use rocket::http::Status;
use sigra_core::features::{sessions, settings};

use crate::common::TestDb;
use crate::common::app::{PASSWORD, TestApp, app};
use crate::mfa_totp::enrolled;

async fn overview(app: &TestApp) -> settings::Overview {
    let auth = &app.state().auth;
    let me = sessions::authenticate(auth, &app.cookie("sigra_session").unwrap())
        .await
        .unwrap()
        .unwrap();
    settings::overview(auth, &me).await.unwrap()
}

conformance!(
    async fn the_overview_shows_the_account_its_sessions_and_a_pending_email_change(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        assert_eq!(
            app.body("/users/settings").await.0,
            Status::SeeOther,
            "signed out: no overview"
        );
        app.signed_up("ov@example.com").await;
        let phone = app.other_browser().await;
        phone.log_in("ov@example.com", PASSWORD, false).await;

        let seen = overview(&app).await;
        assert_eq!(seen.email, "ov@example.com");
        assert!(seen.has_password);
        assert_eq!(seen.pending_email, None);
        assert_eq!(seen.sessions.len(), 2);
        assert_eq!(seen.sessions.iter().filter(|s| s.current).count(), 1);
        assert!(!seen.mfa_enabled);
        assert_eq!(seen.backup_codes_left, None);
        let (status, html) = app.body("/users/settings").await;
        assert_eq!(status, Status::Ok);
        assert!(html.contains("ov@example.com"));
        assert_eq!(html.matches("<li class=\"session").count(), 2, "{html}");
        assert_eq!(html.matches("This device").count(), 1);
        assert!(html.contains("Sign out everywhere else"));
        let other = seen.sessions.iter().find(|s| !s.current).unwrap();
        assert!(html.contains(&other.id.to_string()), "its revoke button");

        let r = app
            .submit_owned(
                "/users/settings/email",
                &[
                    ("email", "next@example.com"),
                    ("current_password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(r.status, Status::SeeOther);
        assert_eq!(
            overview(&app).await.pending_email.as_deref(),
            Some("next@example.com")
        );
        let (_, html) = app.body("/users/settings").await;
        assert!(html.contains("A change to <strong class=\"break\">next@example.com</strong>"));
        t
    }

    async fn the_overview_counts_backup_codes_once_the_second_factor_is_on(t: TestDb) -> TestDb {
        let app = app(&t).await;
        enrolled(&app, "of@example.com").await;
        let seen = overview(&app).await;
        assert!(seen.mfa_enabled);
        assert_eq!(seen.backup_codes_left, Some(10));
        let (status, html) = app.body("/users/settings").await;
        assert_eq!(status, Status::Ok);
        assert!(html.contains("10 unused backup codes left."), "{html}");
        assert!(html.contains("Manage two-step verification"));
        t
    }
);
