//! The second factor: enrollment, the challenge after every log-in method, replay and
//! drift, lockout, backup codes, trusted browsers, turning it off, and `MfaUser`.

use rocket::http::{Header, Status};
use sigra_core::Clock;
use sigra_core::features::audit::{self, AuditFilter};
use sigra_core::store::{mfa, users};
use time::Duration;
use totp_rs::{Builder, Secret};

use crate::common::TestDb;
use crate::common::app::{PASSWORD, TestApp, app, cookie, json_accept, location};

/// The code an authenticator app shows at `offset_steps` from the app's clock.
pub(crate) fn code(app: &TestApp, secret: &str, offset_steps: i64) -> String {
    let totp = Builder::new()
        .with_secret(Secret::try_from_base32(secret).unwrap())
        .build()
        .unwrap();
    let at = app.clock.now().unix_timestamp() + offset_steps * 30;
    totp.generate(at as u64).to_string()
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {html}"))
        + start.len();
    &html[from..from + html[from..].find(end).unwrap()]
}

/// Signs up `email`, turns the second factor on and answers (secret, backup codes).
pub(crate) async fn enrolled(app: &TestApp, email: &str) -> (String, Vec<String>) {
    app.signed_up(email).await;
    let r = app.submit("/users/settings/mfa/totp/setup", &[]).await;
    assert_eq!(r.status(), Status::Ok);
    let html = r.into_string().await.unwrap();
    let secret = between(&html, "id=\"totp-secret\" class=\"secret\">", "<").to_owned();
    let r = app
        .submit(
            "/users/settings/mfa/totp",
            &[("code", &code(app, &secret, 0))],
        )
        .await;
    assert_eq!(r.status(), Status::Ok);
    let html = r.into_string().await.unwrap();
    let codes: Vec<String> = between(&html, "id=\"backup-codes\">", "</ul>")
        .split("<code>")
        .skip(1)
        .map(|c| c.split('<').next().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10, "{html}");
    (secret, codes)
}

/// Logs out, moves to the next time step (a step is usable once) and logs in again with
/// the password: the session is partial.
async fn partial(app: &TestApp, email: &str) {
    app.log_out().await;
    app.clock.advance(Duration::seconds(30));
    let r = app.log_in(email, PASSWORD, false).await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(location(&r), "/users/mfa?return_to=%2F");
}

async fn challenge<'a>(
    app: &'a TestApp,
    code: &str,
) -> rocket::local::asynchronous::LocalResponse<'a> {
    app.submit("/users/mfa", &[("code", code)]).await
}

async fn user_id(t: &TestDb, email: &str) -> uuid::Uuid {
    users::find_by_email(&t.db, email)
        .await
        .unwrap()
        .unwrap()
        .id
}

conformance!(
    async fn rfc_6238_test_vectors_through_enrollment(t: TestDb) -> TestDb {
        // RFC 6238 appendix B (SHA-1): the secret "12345678901234567890" gives 07081804 at
        // T = 1111111109 and 69279037 at T = 2000000000; Sigra's codes are the last six digits.
        let app = app(&t).await;
        app.signed_up("rfc@example.com").await;
        let auth = &app.state().auth;
        let me = sigra_core::features::sessions::authenticate(
            auth,
            &app.cookie("sigra_session").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
        let sealed = auth
            .cipher
            .encrypt(
                b"12345678901234567890",
                &[b"sigra/mfa_totp\0".as_slice(), me.user.id.as_bytes()].concat(),
            )
            .unwrap();
        assert_eq!(
            mfa::put_pending_totp(&t.db, me.user.id, &sealed, app.clock.now())
                .await
                .unwrap(),
            1
        );
        use sigra_core::features::RequestMeta;
        use sigra_core::features::mfa_totp::{EnrollmentOutcome, confirm_enrollment};
        app.clock
            .set(time::OffsetDateTime::from_unix_timestamp(2_000_000_000).unwrap());
        let wrong = confirm_enrollment(auth, &me, "279036", &RequestMeta::default())
            .await
            .unwrap();
        assert!(matches!(wrong, EnrollmentOutcome::InvalidCode), "{wrong:?}");
        app.clock
            .set(time::OffsetDateTime::from_unix_timestamp(1_111_111_109).unwrap());
        assert!(
            matches!(
                confirm_enrollment(auth, &me, "279037", &RequestMeta::default())
                    .await
                    .unwrap(),
                EnrollmentOutcome::InvalidCode
            ),
            "another time's code"
        );
        let right = confirm_enrollment(auth, &me, "081804", &RequestMeta::default())
            .await
            .unwrap();
        assert!(
            matches!(right, EnrollmentOutcome::Enabled { .. }),
            "{right:?}"
        );
        let row = mfa::find_totp(&t.db, me.user.id).await.unwrap().unwrap();
        assert_eq!(row.last_step, Some(1_111_111_109 / 30));
        t
    }

    async fn enrolling_an_authenticator_needs_sudo_and_starts_with_a_post(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("es@example.com").await;
        let id = user_id(&t, "es@example.com").await;
        // The page changes nothing and shows no secret: a second tab cannot replace the
        // secret being scanned, and a session without sudo cannot read one.
        let (status, html) = app.body("/users/settings/mfa").await;
        assert_eq!(status, Status::Ok);
        assert!(
            html.contains("settings/mfa/totp/setup") && !html.contains("totp-secret"),
            "{html}"
        );
        assert!(
            mfa::find_totp(&t.db, id).await.unwrap().is_none(),
            "GET stores no secret"
        );

        // A session past its sudo window (a stolen cookie) can neither start nor finish.
        let html = app
            .submit("/users/settings/mfa/totp/setup", &[])
            .await
            .into_string()
            .await
            .unwrap();
        let secret = between(&html, "id=\"totp-secret\" class=\"secret\">", "<").to_owned();
        app.clock.advance(Duration::minutes(16));
        let r = app
            .submit_owned("/users/settings/mfa/totp/setup", &[])
            .await;
        assert_eq!(r.status, Status::SeeOther);
        assert!(r.location.starts_with("/users/sudo"), "{}", r.location);
        let r = app
            .submit_owned(
                "/users/settings/mfa/totp",
                &[("code", &code(&app, &secret, 0))],
            )
            .await;
        assert_eq!(r.status, Status::SeeOther);
        assert!(r.location.starts_with("/users/sudo"), "{}", r.location);
        assert!(
            users::find_by_email(&t.db, "es@example.com")
                .await
                .unwrap()
                .unwrap()
                .mfa_enabled_at
                .is_none()
        );
        let r = app
            .client
            .post("/users/settings/mfa/totp")
            .remote(crate::common::app::CLIENT)
            .header(json_accept())
            .header(rocket::http::ContentType::Form)
            .body(crate::common::app::form(&[
                ("_csrf", &app.csrf().await),
                ("code", &code(&app, &secret, 0)),
            ]))
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Forbidden);
        assert!(r.into_string().await.unwrap().contains("sudo_required"));

        // After re-entering the password, the same pending secret turns it on.
        assert_eq!(
            app.submit("/users/sudo", &[("password", PASSWORD)])
                .await
                .status(),
            Status::SeeOther
        );
        let r = app
            .submit_owned(
                "/users/settings/mfa/totp",
                &[("code", &code(&app, &secret, 0))],
            )
            .await;
        assert_eq!(r.status, Status::Ok);
        assert!(
            users::find_by_email(&t.db, "es@example.com")
                .await
                .unwrap()
                .unwrap()
                .mfa_enabled_at
                .is_some()
        );
        t
    }

    async fn enrollment_shows_a_qr_code_and_key_and_turns_on_with_a_valid_code(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        app.signed_up("en@example.com").await;
        assert_eq!(
            app.body("/mfa-only").await.0,
            Status::SeeOther,
            "MfaUser: no second factor yet"
        );
        let r = app
            .client
            .get("/mfa-only")
            .header(json_accept())
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Forbidden);
        assert!(r.into_string().await.unwrap().contains("mfa_not_enabled"));

        let r = app.submit("/users/settings/mfa/totp/setup", &[]).await;
        assert_eq!(r.status(), Status::Ok);
        let html = r.into_string().await.unwrap();
        assert!(
            html.contains("<svg") && html.contains("<path d=\"M"),
            "inline SVG QR code"
        );
        let secret = between(&html, "id=\"totp-secret\" class=\"secret\">", "<").to_owned();
        assert_eq!(secret.len(), 32, "160-bit key in base32");
        // Tera escapes `/` in the href as `&#x2F;`; browsers read it back as `/`.
        let uri = format!(
            "otpauth://totp/Sigra:en%40example.com?secret={secret}&issuer=Sigra&algorithm=SHA1&digits=6&period=30"
        );
        let escaped = uri
            .replace('/', "&#x2F;")
            .replace('&', "&amp;")
            .replace("&amp;#x2F;", "&#x2F;");
        assert!(html.contains(&escaped), "{html}");
        let again = app
            .submit("/users/settings/mfa/totp/setup", &[])
            .await
            .into_string()
            .await
            .unwrap();
        assert!(!again.contains(&secret), "each setup makes a fresh secret");
        let secret = between(&again, "id=\"totp-secret\" class=\"secret\">", "<").to_owned();
        let id = user_id(&t, "en@example.com").await;
        let row = mfa::find_totp(&t.db, id).await.unwrap().unwrap();
        assert!(
            !row.secret.contains(&secret) && row.confirmed_at.is_none(),
            "sealed at rest, pending"
        );

        let r = app
            .submit("/users/settings/mfa/totp", &[("code", "000000")])
            .await;
        assert_eq!(r.status(), Status::UnprocessableEntity);
        let html = r.into_string().await.unwrap();
        assert!(
            html.contains("That code is not right") && html.contains(&secret),
            "same secret shown again"
        );
        assert!(
            users::find_by_email(&t.db, "en@example.com")
                .await
                .unwrap()
                .unwrap()
                .mfa_enabled_at
                .is_none()
        );

        let before = app.cookie("sigra_session").unwrap();
        let r = app
            .submit(
                "/users/settings/mfa/totp",
                &[("code", &code(&app, &secret, 0))],
            )
            .await;
        assert_eq!(r.status(), Status::Ok);
        let html = r.into_string().await.unwrap();
        assert!(
            html.contains("Your backup codes")
                && html.contains("<strong>10</strong> unused backup codes left"),
            "{html}"
        );
        assert_ne!(
            app.cookie("sigra_session").unwrap(),
            before,
            "a privilege change issues a new token"
        );
        assert_eq!(
            app.body("/dashboard").await.0,
            Status::Ok,
            "this session passed the second factor"
        );
        assert_eq!(app.body("/mfa-only").await.0, Status::Ok);
        let (_, settings) = app.body("/users/settings").await;
        assert!(settings.contains("10 unused backup codes left"));
        let mails = app.mails_to("en@example.com").await;
        assert!(
            mails
                .iter()
                .any(|m| m.subject.contains("Two-step verification is on"))
        );
        assert_eq!(
            audit::list(&t.db, &AuditFilter::for_user(id).action(audit::MFA_ENABLED))
                .await
                .unwrap()
                .len(),
            1
        );
        t
    }

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
        let r = phone.client.get("/dashboard").dispatch().await;
        assert_eq!(
            location(&r),
            "/users/mfa?return_to=%2Fdashboard",
            "a partial session is not logged in"
        );
        drop(r);
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
        let r = phone.client.get("/users/sudo").dispatch().await;
        assert!(
            location(&r).starts_with("/users/mfa"),
            "no sudo before the second factor"
        );
        drop(r);
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

    async fn backup_codes_work_once_are_counted_and_regenerate_under_sudo(t: TestDb) -> TestDb {
        let app = app(&t).await;
        let (_, codes) = enrolled(&app, "bc@example.com").await;
        partial(&app, "bc@example.com").await;
        let typed = format!(" {} ", codes[0].to_uppercase().replace('-', " "));
        assert_eq!(
            challenge(&app, &typed).await.status(),
            Status::SeeOther,
            "case, spaces and dashes do not matter"
        );
        assert_eq!(app.body("/dashboard").await.0, Status::Ok);
        let (_, settings) = app.body("/users/settings").await;
        assert!(
            settings.contains("9 unused backup codes left"),
            "{settings}"
        );
        let mails = app.mails_to("bc@example.com").await;
        let used = mails
            .iter()
            .find(|m| m.subject.contains("backup code was used"))
            .expect("mail on use");
        assert!(used.text.contains("9 unused codes are left"));
        partial(&app, "bc@example.com").await;
        assert_eq!(
            challenge(&app, &codes[0]).await.status(),
            Status::Unauthorized,
            "each code works once"
        );
        assert_eq!(challenge(&app, &codes[1]).await.status(), Status::SeeOther);

        app.clock.advance(Duration::minutes(16));
        let r = app
            .submit_owned("/users/settings/mfa/backup-codes", &[])
            .await;
        assert!(
            r.location.starts_with("/users/sudo"),
            "regenerating needs sudo"
        );
        app.submit("/users/sudo", &[("password", PASSWORD)]).await;
        let r = app.submit("/users/settings/mfa/backup-codes", &[]).await;
        assert_eq!(r.status(), Status::Ok);
        let html = r.into_string().await.unwrap();
        let fresh: Vec<&str> = between(&html, "id=\"backup-codes\">", "</ul>")
            .split("<code>")
            .skip(1)
            .map(|c| c.split('<').next().unwrap())
            .collect();
        assert_eq!(fresh.len(), 10);
        assert!(!fresh.contains(&codes[2].as_str()));
        partial(&app, "bc@example.com").await;
        assert_eq!(
            challenge(&app, &codes[2]).await.status(),
            Status::Unauthorized,
            "old codes die"
        );
        assert_eq!(challenge(&app, fresh[0]).await.status(), Status::SeeOther);
        let mails = app.mails_to("bc@example.com").await;
        assert!(mails.iter().any(|m| m.subject.contains("New backup codes")));
        t
    }

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
        let r = other
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
            .await;
        assert_eq!(
            location(&r),
            "/users/mfa?return_to=%2F",
            "bound to its own account"
        );
        drop(r);
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
        let r = app
            .client
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
            .await;
        assert!(location(&r).starts_with("/users/mfa"));
        drop(r);
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
        let r = app
            .client
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
            .await;
        assert!(
            location(&r).starts_with("/users/mfa"),
            "void after a password change"
        );
        drop(r);

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
        let r = app
            .client
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
            .await;
        assert!(
            location(&r).starts_with("/users/mfa"),
            "expired after 30 days"
        );
        drop(r);
        t
    }

    async fn turning_it_off_needs_sudo_mails_and_voids_trusted_browsers(t: TestDb) -> TestDb {
        let app = app(&t).await;
        let (secret, _) = enrolled(&app, "off@example.com").await;
        partial(&app, "off@example.com").await;
        app.submit(
            "/users/mfa",
            &[("code", &code(&app, &secret, 0)), ("trust_browser", "true")],
        )
        .await;
        let trust = app.cookie("sigra_trusted_browser").unwrap();
        app.clock.advance(Duration::minutes(16));
        let r = app
            .submit_owned("/users/settings/mfa/totp", &[("_method", "DELETE")])
            .await;
        assert!(r.location.starts_with("/users/sudo"), "{}", r.location);
        app.submit("/users/sudo", &[("password", PASSWORD)]).await;
        let r = app
            .submit_owned("/users/settings/mfa/totp", &[("_method", "DELETE")])
            .await;
        assert_eq!(r.location, "/users/settings/mfa?notice=disabled");
        let id = user_id(&t, "off@example.com").await;
        assert!(mfa::find_totp(&t.db, id).await.unwrap().is_none());
        assert_eq!(mfa::unused_backup_codes(&t.db, id).await.unwrap(), 0);
        let mails = app.mails_to("off@example.com").await;
        assert!(
            mails
                .iter()
                .any(|m| m.subject.contains("Two-step verification is off"))
        );
        app.log_out().await;
        let r = app.log_in_owned("off@example.com", PASSWORD, false).await;
        assert_eq!(r.location, "/", "no second factor any more");
        assert_eq!(app.body("/mfa-only").await.0, Status::SeeOther);

        // On again: the old trust cookie (older epoch) does not skip the new factor.
        let html = app
            .submit("/users/settings/mfa/totp/setup", &[])
            .await
            .into_string()
            .await
            .unwrap();
        let secret = between(&html, "id=\"totp-secret\" class=\"secret\">", "<").to_owned();
        app.submit(
            "/users/settings/mfa/totp",
            &[("code", &code(&app, &secret, 0))],
        )
        .await;
        app.log_out().await;
        let r = app
            .client
            .post("/users/log_in")
            .remote(crate::common::app::CLIENT)
            .header(rocket::http::ContentType::Form)
            .cookie(cookie("sigra_trusted_browser", &trust))
            .body(crate::common::app::form(&[
                ("_csrf", &app.csrf().await),
                ("email", "off@example.com"),
                ("password", PASSWORD),
            ]))
            .dispatch()
            .await;
        assert!(
            location(&r).starts_with("/users/mfa"),
            "void after the settings changed"
        );
        drop(r);
        let actions: Vec<String> = audit::list(&t.db, &AuditFilter::for_user(id))
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        for a in [audit::MFA_ENABLED, audit::MFA_DISABLED, audit::MFA_SUCCESS] {
            assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
        }
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
        let r = later
            .client
            .get("/dashboard")
            .cookie(cookie("sigra_remember_me", &remember))
            .header(Header::new("Accept", "text/html"))
            .dispatch()
            .await;
        assert!(
            location(&r).starts_with("/users/mfa"),
            "restored, but partial"
        );
        drop(r);
        t
    }
);
