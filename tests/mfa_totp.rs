//! The authenticator app (TOTP): enrollment under sudo, RFC 6238 codes, and turning it
//! off. The challenge is in `mfa.rs`, backup codes and trusted browsers in their own files.

use rocket::http::Status;
use sigra_core::Clock;
use sigra_core::features::audit::{self, AuditFilter};
use sigra_core::store::{mfa, users};
use time::Duration;
use totp_rs::{Builder, Secret};

use crate::common::TestDb;
use crate::common::app::{Answer, PASSWORD, TestApp, app, cookie, json_accept};
use crate::mfa::partial;

/// The code an authenticator app shows at `offset_steps` from the app's clock.
pub(crate) fn code(app: &TestApp, secret: &str, offset_steps: i64) -> String {
    let totp = Builder::new()
        .with_secret(Secret::try_from_base32(secret).unwrap())
        .build()
        .unwrap();
    let at = app.clock.now().unix_timestamp() + offset_steps * 30;
    totp.generate(at as u64).to_string()
}

pub(crate) fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
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

pub(crate) async fn user_id(t: &TestDb, email: &str) -> uuid::Uuid {
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
        let r = Answer::read(
            app.client
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
                .await,
        )
        .await;
        assert!(
            r.location.starts_with("/users/mfa"),
            "void after the settings changed"
        );
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
);
