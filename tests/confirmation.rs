//! Email confirmation by link and by code, resend and its throttle, require_confirmation.

use rocket::http::Status;
use sigra_core::features::audit::{self, AuditFilter};
use sigra_core::features::confirmation;
use sigra_core::store::users;
use time::Duration;

use crate::common::TestDb;
use crate::common::app::{Answer, PASSWORD, app, app_with, code_in, figment, link_in};

conformance!(
    async fn the_link_opens_a_page_whose_button_confirms(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.register("cl@example.com", PASSWORD).await;
        let mail = app.mails_to("cl@example.com").await.remove(0);
        let link = link_in(&mail.text, "/users/confirm/");
        // A prefetch (GET) confirms nothing.
        let (status, html) = app.body(&link).await;
        assert_eq!(status, Status::Ok);
        assert!(
            html.contains("no-referrer"),
            "token pages keep the token out of Referer"
        );
        assert!(
            users::find_by_email(&t.db, "cl@example.com")
                .await
                .unwrap()
                .unwrap()
                .confirmed_at
                .is_none()
        );
        let r = app.submit_owned(&link, &[]).await;
        assert_eq!(r.status, Status::SeeOther);
        assert_eq!(r.location, "/users/log_in?notice=confirmed");
        assert!(
            users::find_by_email(&t.db, "cl@example.com")
                .await
                .unwrap()
                .unwrap()
                .confirmed_at
                .is_some()
        );
        // Replayed: dead.
        assert_eq!(app.body(&link).await.0, Status::NotFound);
        assert_eq!(app.submit(&link, &[]).await.status(), Status::NotFound);
        t
    }

    async fn the_code_confirms_and_five_wrong_codes_void_it(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.register("cc@example.com", PASSWORD).await;
        let mail = app.mails_to("cc@example.com").await.remove(0);
        let code = code_in(&mail.text);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..4 {
            let r = app
                .submit(
                    "/users/confirm",
                    &[("email", "cc@example.com"), ("code", wrong)],
                )
                .await;
            assert_eq!(r.status(), Status::UnprocessableEntity);
        }
        let r = app
            .submit_owned(
                "/users/confirm",
                &[("email", "cc@example.com"), ("code", &code)],
            )
            .await;
        assert_eq!(
            r.status,
            Status::SeeOther,
            "four wrong tries leave the code alive"
        );
        assert!(
            users::find_by_email(&t.db, "cc@example.com")
                .await
                .unwrap()
                .unwrap()
                .confirmed_at
                .is_some()
        );

        app.register("void@example.com", PASSWORD).await;
        let code = code_in(&app.mails_to("void@example.com").await.remove(0).text);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..5 {
            app.submit(
                "/users/confirm",
                &[("email", "void@example.com"), ("code", wrong)],
            )
            .await;
        }
        let r = app
            .submit(
                "/users/confirm",
                &[("email", "void@example.com"), ("code", &code)],
            )
            .await;
        assert_eq!(
            r.status(),
            Status::UnprocessableEntity,
            "void after five wrong codes"
        );
        t
    }

    async fn confirmation_tokens_expire_and_are_bound_to_their_kind(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.register("ex@example.com", PASSWORD).await;
        let mail = app.mails_to("ex@example.com").await.remove(0);
        let link = link_in(&mail.text, "/users/confirm/");
        let token = link.rsplit('/').next().unwrap().to_owned();
        // Wrong kind: a confirmation token is worthless as a reset or magic link.
        assert_eq!(
            app.body(&format!("/users/reset-password/{token}")).await.0,
            Status::NotFound
        );
        assert_eq!(
            app.submit(&format!("/users/magic-link/{token}"), &[])
                .await
                .status(),
            Status::NotFound
        );
        // Tampered.
        let mut bytes = token.clone().into_bytes();
        bytes[5] = if bytes[5] == b'a' { b'b' } else { b'a' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert_eq!(
            app.submit(&format!("/users/confirm/{tampered}"), &[])
                .await
                .status(),
            Status::NotFound
        );
        // Expired.
        app.clock.advance(Duration::hours(24));
        assert_eq!(app.submit(&link, &[]).await.status(), Status::NotFound);
        assert!(
            users::find_by_email(&t.db, "ex@example.com")
                .await
                .unwrap()
                .unwrap()
                .confirmed_at
                .is_none()
        );
        t
    }

    async fn resend_is_enumeration_safe_and_throttled(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.register("rs@example.com", PASSWORD).await;
        assert_eq!(app.mails_to("rs@example.com").await.len(), 1);
        let known = app
            .submit("/users/confirm/resend", &[("email", "rs@example.com")])
            .await;
        let known_status = known.status();
        let known_body = known.into_string().await.unwrap();
        let unknown = app
            .submit("/users/confirm/resend", &[("email", "zz@example.com")])
            .await;
        assert_eq!(unknown.status(), known_status);
        assert_eq!(
            unknown
                .into_string()
                .await
                .unwrap()
                .replace("zz@", "rs@")
                .replace("zz%40", "rs%40"),
            known_body
        );
        assert_eq!(
            app.mails_to("rs@example.com").await.len(),
            1,
            "throttled: within 5 minutes of the last mail"
        );
        app.clock.advance(Duration::minutes(5));
        app.submit("/users/confirm/resend", &[("email", "rs@example.com")])
            .await;
        let mails = app.mails_to("rs@example.com").await;
        assert_eq!(mails.len(), 2);
        // The new code replaces the old one.
        let old = code_in(&mails[1].text);
        let new = code_in(&mails[0].text);
        if old != new {
            let r = app
                .submit(
                    "/users/confirm",
                    &[("email", "rs@example.com"), ("code", &old)],
                )
                .await;
            assert_eq!(r.status(), Status::UnprocessableEntity);
        }
        let r = app
            .submit(
                "/users/confirm",
                &[("email", "rs@example.com"), ("code", &new)],
            )
            .await;
        assert_eq!(r.status(), Status::SeeOther);
        t
    }

    async fn require_confirmation_refuses_log_in_until_confirmed(t: TestDb) -> TestDb {
        let app = app_with(figment(&t).merge(("sigra.require_confirmation", true))).await;
        app.register("rc@example.com", PASSWORD).await;
        let r = app.log_in("rc@example.com", PASSWORD, false).await;
        assert_eq!(r.status(), Status::Forbidden);
        let html = r.into_string().await.unwrap();
        assert!(html.contains("confirm/resend"), "offers a resend");
        assert!(app.cookie("sigra_session").is_none());
        let code = code_in(&app.mails_to("rc@example.com").await.remove(0).text);
        app.submit(
            "/users/confirm",
            &[("email", "rc@example.com"), ("code", &code)],
        )
        .await;
        assert_eq!(
            app.log_in("rc@example.com", PASSWORD, false).await.status(),
            Status::SeeOther
        );
        t
    }

    async fn confirmed_user_guard_sends_unconfirmed_accounts_to_the_confirmation_page(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        app.signed_up("cg@example.com").await;
        let r = Answer::read(app.client.get("/confirmed").dispatch().await).await;
        assert_eq!(r.status, Status::SeeOther);
        assert_eq!(r.location, "/users/confirm");
        let r = Answer::read(
            app.client
                .get("/confirmed")
                .header(crate::common::app::json_accept())
                .dispatch()
                .await,
        )
        .await;
        assert_eq!(r.status, Status::Forbidden);
        let code = code_in(&app.mails_to("cg@example.com").await.remove(0).text);
        app.submit(
            "/users/confirm",
            &[("email", "cg@example.com"), ("code", &code)],
        )
        .await;
        assert_eq!(
            app.body("/confirmed").await,
            (Status::Ok, "confirmed cg@example.com".into())
        );
        t
    }

    async fn confirm_by_code_for_an_unknown_email_does_the_same_committed_work(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        app.register("uk@example.com", PASSWORD).await;
        let code = code_in(&app.mails_to("uk@example.com").await.remove(0).text);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let known = app
            .submit(
                "/users/confirm",
                &[("email", "uk@example.com"), ("code", wrong)],
            )
            .await;
        let known_status = known.status();
        let known_body = known.into_string().await.unwrap();
        let unknown = app
            .submit(
                "/users/confirm",
                &[("email", "nobody-uk@example.com"), ("code", wrong)],
            )
            .await;
        assert_eq!(unknown.status(), known_status);
        assert_eq!(
            unknown
                .into_string()
                .await
                .unwrap()
                .replace("nobody-uk@", "uk@"),
            known_body
        );
        // The same committed write: a failure event for each, the unknown one about nobody.
        let failures = audit::list(
            &t.db,
            &AuditFilter::default().action(audit::CONFIRMATION_FAILURE),
        )
        .await
        .unwrap();
        assert_eq!(failures.len(), 2, "{failures:?}");
        assert_eq!(failures.iter().filter(|e| e.target_id.is_none()).count(), 1);
        t
    }

    async fn resent_codes_share_a_daily_cap_of_wrong_tries(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.register("cap@example.com", PASSWORD).await;
        let per_day = confirmation::MAX_CODE_ATTEMPTS_PER_DAY;
        let per_code = confirmation::MAX_CODE_ATTEMPTS;
        let mut tries = 0;
        // Each resend (every five minutes) brings a fresh code with fresh tries, but the
        // account's tries of the day run out all the same.
        while tries < per_day {
            let code = code_in(&app.mails_to("cap@example.com").await.remove(0).text);
            let wrong = if code == "000000" { "111111" } else { "000000" };
            for _ in 0..per_code.min(per_day - tries) {
                let r = app
                    .submit(
                        "/users/confirm",
                        &[("email", "cap@example.com"), ("code", wrong)],
                    )
                    .await;
                assert_eq!(r.status(), Status::UnprocessableEntity);
                tries += 1;
            }
            app.clock.advance(Duration::minutes(5));
            app.submit("/users/confirm/resend", &[("email", "cap@example.com")])
                .await;
        }
        let fresh = code_in(&app.mails_to("cap@example.com").await.remove(0).text);
        let r = app
            .submit_owned(
                "/users/confirm",
                &[("email", "cap@example.com"), ("code", &fresh)],
            )
            .await;
        assert_eq!(
            r.status,
            Status::UnprocessableEntity,
            "the day's tries are used up, even for a fresh right code"
        );
        assert!(
            users::find_by_email(&t.db, "cap@example.com")
                .await
                .unwrap()
                .unwrap()
                .confirmed_at
                .is_none()
        );

        // A day later the account may try again.
        app.clock.advance(Duration::days(1));
        app.submit("/users/confirm/resend", &[("email", "cap@example.com")])
            .await;
        let code = code_in(&app.mails_to("cap@example.com").await.remove(0).text);
        let r = app
            .submit_owned(
                "/users/confirm",
                &[("email", "cap@example.com"), ("code", &code)],
            )
            .await;
        assert_eq!(r.status, Status::SeeOther);
        assert!(
            users::find_by_email(&t.db, "cap@example.com")
                .await
                .unwrap()
                .unwrap()
                .confirmed_at
                .is_some()
        );
        t
    }
);

conformance!(
    async fn the_first_proof_of_an_address_ends_the_sessions_of_whoever_registered_it(
        t: TestDb,
    ) -> TestDb {
        // The attacker registers the owner's address first and keeps two sessions.
        let owner = app(&t).await;
        let attacker = owner.other_browser().await;
        attacker.signed_up("victim@corp.example").await;
        let second = owner.other_browser().await;
        assert_eq!(
            second
                .log_in("victim@corp.example", PASSWORD, true)
                .await
                .status(),
            Status::SeeOther
        );
        assert!(
            second.cookie("sigra_remember_me").is_none(),
            "no remember-me before the address is proven"
        );
        // The owner proves the address with the confirmation link.
        let link = owner
            .link_for("victim@corp.example", "/users/confirm/")
            .await;
        let r = owner.submit_owned(&link, &[]).await;
        assert_eq!(r.location, "/users/log_in?notice=confirmed");
        assert_eq!(
            attacker.body("/dashboard").await.0,
            Status::SeeOther,
            "the attacker's session ended"
        );
        assert_eq!(
            second.body("/dashboard").await.0,
            Status::SeeOther,
            "every session ended"
        );
        let id = users::find_by_email(&t.db, "victim@corp.example")
            .await
            .unwrap()
            .unwrap()
            .id;
        assert!(
            sigra_core::store::sessions::list_for_user(
                &t.db,
                id,
                sigra_core::Clock::now(&owner.clock)
            )
            .await
            .unwrap()
            .is_empty()
        );

        // By code: the same.
        let intruder = owner.other_browser().await;
        intruder.signed_up("victim2@corp.example").await;
        let code = code_in(&owner.mails_to("victim2@corp.example").await[0].text);
        let r = owner
            .submit_owned(
                "/users/confirm",
                &[("email", "victim2@corp.example"), ("code", &code)],
            )
            .await;
        assert_eq!(r.location, "/users/log_in?notice=confirmed");
        assert_eq!(
            intruder.body("/dashboard").await.0,
            Status::SeeOther,
            "ended by a code too"
        );
        t
    }

    async fn confirming_from_a_signed_in_browser_rotates_its_session_token(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("rot-conf@example.com").await;
        let before = app.cookie("sigra_session").unwrap();
        let link = app
            .link_for("rot-conf@example.com", "/users/confirm/")
            .await;
        let r = app.submit_owned(&link, &[]).await;
        assert_eq!(r.location, "/users/settings?notice=confirmed");
        let after = app.cookie("sigra_session").unwrap();
        assert_ne!(after, before, "a privilege change issues a new token");
        assert!(
            sigra_core::features::sessions::authenticate(&app.state().auth, &before)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            app.body("/confirmed").await.0,
            Status::Ok,
            "the same browser is signed in and confirmed"
        );
        assert!(
            app.body("/users/settings?notice=confirmed")
                .await
                .1
                .contains("Your email is confirmed.")
        );
        t
    }
);
