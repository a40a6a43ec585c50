//! The second-factor challenge at `/users/mfa`: after every log-in method, replay and
//! drift, lockout, and remembered sessions.

use rocket::http::{Header, Status};
use sigra_core::features::audit::{self, AuditFilter};
use time::Duration;

use crate::common::TestDb;
use crate::common::app::{Answer, PASSWORD, TestApp, app, cookie, json_accept, location};
use crate::mfa_totp::{code, enrolled, user_id};

/// Logs out, moves to the next time step (a step is usable once) and logs in again with
/// the password: the session is partial.
pub(crate) async fn partial(app: &TestApp, email: &str) {
    app.log_out().await;
    app.clock.advance(Duration::seconds(30));
    let r = app.log_in(email, PASSWORD, false).await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(location(&r), "/users/mfa?return_to=%2F");
}

pub(crate) async fn challenge<'a>(
    app: &'a TestApp,
    code: &str,
) -> rocket::local::asynchronous::LocalResponse<'a> {
    app.submit("/users/mfa", &[("code", code)]).await
}

conformance!(
    async fn every_log_in_method_leads_to_the_challenge(t: TestDb) -> TestDb {
        let app = app(&t).await;
        let (secret, _) = enrolled(&app, "ch@example.com").await;
        let phone = app.other_browser().await;
        assert_eq!(
            phone
                .log_in("ch@example.com", PASSWORD, false)
                .await
                .status(),
            Status::SeeOther
        );
        let r = Answer::read(phone.client.get("/dashboard").dispatch().await).await;
        assert_eq!(
            r.location, "/users/mfa?return_to=%2Fdashboard",
            "a partial session is not logged in"
        );
        let r = phone
            .client
            .get("/dashboard")
            .header(json_accept())
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Unauthorized);
        assert!(r.into_string().await.unwrap().contains("mfa_required"));
        assert_eq!(phone.body("/maybe").await.1, "hello stranger");
        assert_eq!(phone.body("/users/settings").await.0, Status::SeeOther);
        let r = Answer::read(phone.client.get("/users/sudo").dispatch().await).await;
        assert!(
            r.location.starts_with("/users/mfa"),
            "no sudo before the second factor"
        );
        let (status, html) = phone.body("/users/mfa?return_to=/dashboard").await;
        assert_eq!(status, Status::Ok);
        assert!(html.contains("Trust this browser for 30 days"));
        let r = phone
            .submit_owned(
                "/users/mfa",
                &[
                    ("code", &code(&phone, &secret, 1)),
                    ("return_to", "/dashboard"),
                ],
            )
            .await;
        assert_eq!(r.location, "/dashboard");
        assert_eq!(phone.body("/dashboard").await.0, Status::Ok);

        // Magic link.
        let ml = app.other_browser().await;
        ml.submit("/users/magic-link", &[("email", "ch@example.com")])
            .await;
        let link = ml.link_for("ch@example.com", "/users/magic-link/").await;
        let r = ml.submit_owned(&link, &[]).await;
        assert_eq!(r.location, "/users/mfa?return_to=%2F");
        assert_eq!(ml.body("/dashboard").await.0, Status::SeeOther);

        // Password reset keeps the second factor.
        let rp = app.other_browser().await;
        rp.clock.advance(Duration::minutes(6));
        rp.submit("/users/reset-password", &[("email", "ch@example.com")])
            .await;
        let link = rp
            .link_for("ch@example.com", "/users/reset-password/")
            .await;
        let new = "a brand new long passphrase";
        let r = rp
            .submit_owned(&link, &[("password", new), ("password_confirmation", new)])
            .await;
        assert_eq!(r.status, Status::SeeOther);
        let r = rp.log_in_owned("ch@example.com", new, false).await;
        assert_eq!(
            r.location, "/users/mfa?return_to=%2F",
            "a reset never removes the second factor"
        );
        assert_eq!(rp.body("/dashboard").await.0, Status::SeeOther);
        t
    }

    async fn a_step_is_accepted_once_even_across_instances_and_drift_is_one_step(
        t: TestDb,
    ) -> TestDb {
        let a = app(&t).await;
        let (secret, _) = enrolled(&a, "rp@example.com").await;
        partial(&a, "rp@example.com").await;
        let b = a.other_browser().await;
        b.log_in("rp@example.com", PASSWORD, false).await;
        let now = code(&a, &secret, 0);
        assert_eq!(challenge(&a, &now).await.status(), Status::SeeOther);
        assert_eq!(
            challenge(&b, &now).await.status(),
            Status::Unauthorized,
            "replayed on another instance"
        );
        assert_eq!(
            challenge(&b, &code(&b, &secret, -1)).await.status(),
            Status::Unauthorized,
            "an older step after a newer one"
        );
        assert_eq!(
            challenge(&b, &code(&b, &secret, 2)).await.status(),
            Status::Unauthorized,
            "two steps ahead"
        );
        assert_eq!(
            challenge(&b, &code(&b, &secret, 1)).await.status(),
            Status::SeeOther,
            "one step ahead is drift"
        );
        assert_eq!(b.body("/dashboard").await.0, Status::Ok);

        let c = a.other_browser().await;
        c.clock.advance(Duration::minutes(5));
        c.log_in("rp@example.com", PASSWORD, false).await;
        assert_eq!(
            challenge(&c, &code(&c, &secret, -2)).await.status(),
            Status::Unauthorized,
            "two steps behind"
        );
        assert_eq!(
            challenge(&c, &code(&c, &secret, -1)).await.status(),
            Status::SeeOther,
            "one step behind is drift"
        );
        let failures = audit::list(
            &t.db,
            &AuditFilter::for_user(user_id(&t, "rp@example.com").await).action(audit::MFA_FAILURE),
        )
        .await
        .unwrap();
        assert_eq!(failures.len(), 4);
        t
    }

    async fn five_wrong_codes_lock_the_second_factor_for_fifteen_minutes(t: TestDb) -> TestDb {
        let app = app(&t).await;
        let (secret, codes) = enrolled(&app, "lk@example.com").await;
        partial(&app, "lk@example.com").await;
        for i in 1..=4 {
            assert_eq!(
                challenge(&app, "111111").await.status(),
                Status::Unauthorized,
                "wrong code {i}"
            );
        }
        let r = challenge(&app, "111111").await;
        assert_eq!(r.status(), Status::TooManyRequests);
        assert!(
            r.into_string()
                .await
                .unwrap()
                .contains("Too many wrong codes")
        );
        assert_eq!(
            challenge(&app, &code(&app, &secret, 0)).await.status(),
            Status::TooManyRequests,
            "even a right code waits"
        );
        assert_eq!(
            challenge(&app, &codes[0]).await.status(),
            Status::TooManyRequests,
            "and a backup code"
        );
        let mails = app.mails_to("lk@example.com").await;
        assert!(
            mails
                .iter()
                .any(|m| m.subject.contains("Too many wrong codes"))
        );
        app.clock.advance(Duration::minutes(14));
        assert_eq!(
            challenge(&app, &code(&app, &secret, 0)).await.status(),
            Status::TooManyRequests
        );
        app.clock.advance(Duration::minutes(1));
        assert_eq!(
            challenge(&app, &code(&app, &secret, 0)).await.status(),
            Status::SeeOther,
            "unlocked after 15 minutes"
        );
        assert_eq!(
            audit::list(
                &t.db,
                &AuditFilter::for_user(user_id(&t, "lk@example.com").await)
                    .action(audit::MFA_LOCKED)
            )
            .await
            .unwrap()
            .len(),
            1
        );
        t
    }

    async fn a_remembered_session_owes_the_second_factor_again(t: TestDb) -> TestDb {
        let app = app(&t).await;
        let (secret, _) = enrolled(&app, "rm@example.com").await;
        app.confirm_email("rm@example.com").await;
        app.log_out().await;
        app.clock.advance(Duration::seconds(30));
        app.log_in("rm@example.com", PASSWORD, true).await;
        challenge(&app, &code(&app, &secret, 0)).await;
        let remember = app.cookie("sigra_remember_me").unwrap();
        let later = app.other_browser().await;
        let r = Answer::read(
            later
                .client
                .get("/dashboard")
                .cookie(cookie("sigra_remember_me", &remember))
                .header(Header::new("Accept", "text/html"))
                .dispatch()
                .await,
        )
        .await;
        assert!(
            r.location.starts_with("/users/mfa"),
            "restored, but partial"
        );
        t
    }
);
