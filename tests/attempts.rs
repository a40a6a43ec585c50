//! Attempt limits under concurrency: fifty wrong guesses sent at once (second-factor
//! codes, confirmation codes, passwords) on one account are judged at most as often as
//! the limit allows. Each guess is a task of its own over the core flows, so on
//! PostgreSQL and MySQL they really overlap; SQLite serialises the writes.

use serde_json::json;
use sigra_core::Clock;
use sigra_core::features::audit::{self, AuditFilter};
use sigra_core::features::login::{LoginInput, LoginOutcome, log_in};
use sigra_core::features::mfa::{ChallengeOutcome, verify};
use sigra_core::features::mfa_totp::{self, EnrollmentOutcome};
use sigra_core::features::{RequestMeta, confirmation, sessions};
use sigra_core::store::{mfa, users};
use tokio::task::JoinSet;
use totp_rs::Builder;

use crate::common::TestDb;
use crate::common::app::{PASSWORD, app, code_in};

const GUESSES: usize = 50;
const SECRET: &[u8; 20] = b"12345678901234567890";

/// A 6-digit code that is not valid now (nor one step either side).
fn wrong_code(now: time::OffsetDateTime) -> String {
    let totp = Builder::new().with_secret(SECRET.to_vec()).build().unwrap();
    let at = now.unix_timestamp() as u64;
    let valid: Vec<String> = [at - 30, at, at + 30]
        .iter()
        .map(|t| totp.generate(*t).to_string())
        .collect();
    (0..10)
        .map(|d| d.to_string().repeat(6))
        .find(|c| !valid.contains(c))
        .unwrap()
}

conformance!(
    async fn fifty_concurrent_wrong_mfa_codes_are_judged_at_most_max_failed_times(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        app.signed_up("race-mfa@example.com").await;
        let auth = app.state().auth.clone();
        let me = sessions::authenticate(&auth, &app.cookie("sigra_session").unwrap())
            .await
            .unwrap()
            .unwrap();
        let id = me.user.id;
        let aad = [b"sigra/mfa_totp\0".as_slice(), id.as_bytes()].concat();
        let sealed = auth.cipher.encrypt(SECRET, &aad).unwrap();
        mfa::put_pending_totp(&t.db, id, &sealed, app.clock.now())
            .await
            .unwrap();
        let totp = Builder::new().with_secret(SECRET.to_vec()).build().unwrap();
        let right = totp
            .generate(app.clock.now().unix_timestamp() as u64)
            .to_string();
        let enrolled = mfa_totp::confirm_enrollment(&auth, &me, &right, &RequestMeta::default())
            .await
            .unwrap();
        assert!(
            matches!(enrolled, EnrollmentOutcome::Enabled { .. }),
            "{enrolled:?}"
        );

        let input = LoginInput {
            email: "race-mfa@example.com".into(),
            password: PASSWORD.into(),
            remember_me: false,
            trusted_browser: None,
        };
        let LoginOutcome::MfaRequired(issued) =
            log_in(&auth, &input, None, &RequestMeta::default())
                .await
                .unwrap()
        else {
            panic!("the second factor is owed");
        };
        let partial = sessions::authenticate(&auth, issued.token.as_str())
            .await
            .unwrap()
            .unwrap();
        let wrong = wrong_code(app.clock.now());

        let mut guesses = JoinSet::new();
        for _ in 0..GUESSES {
            let (auth, partial, wrong) = (auth.clone(), partial.clone(), wrong.clone());
            guesses.spawn(async move {
                verify(&auth, &partial, &wrong, false, &RequestMeta::default())
                    .await
                    .unwrap()
            });
        }
        while let Some(outcome) = guesses.join_next().await {
            let outcome = outcome.unwrap();
            assert!(
                matches!(
                    outcome,
                    ChallengeOutcome::Invalid | ChallengeOutcome::Locked { .. }
                ),
                "{outcome:?}"
            );
        }

        let max = auth.config.mfa.max_failed as usize;
        let judged = audit::list(&t.db, &AuditFilter::for_user(id).action(audit::MFA_FAILURE))
            .await
            .unwrap();
        assert_eq!(judged.len(), max, "exactly the limit of codes was judged");
        let locks = audit::list(&t.db, &AuditFilter::for_user(id).action(audit::MFA_LOCKED))
            .await
            .unwrap();
        assert_eq!(locks.len(), 1, "one lock");
        let row = mfa::find_totp(&t.db, id).await.unwrap().unwrap();
        assert!(
            row.locked_until
                .is_some_and(|until| app.clock.now() < until)
        );
        let next_step = app.clock.now().unix_timestamp() / 30 + 1;
        assert_eq!(
            mfa::accept_step(&t.db, id, next_step, app.clock.now())
                .await
                .unwrap(),
            0,
            "no step is accepted while locked"
        );
        // Even the right code is refused while locked.
        let code = totp
            .generate(app.clock.now().unix_timestamp() as u64 + 30)
            .to_string();
        let outcome = verify(&auth, &partial, &code, false, &RequestMeta::default())
            .await
            .unwrap();
        assert!(
            matches!(outcome, ChallengeOutcome::Locked { .. }),
            "{outcome:?}"
        );
        t
    }

    async fn fifty_concurrent_wrong_confirmation_codes_are_judged_at_most_five_times(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        app.register("race-conf@example.com", PASSWORD).await;
        let code = code_in(&app.mails_to("race-conf@example.com").await.remove(0).text);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let auth = app.state().auth.clone();

        let mut guesses = JoinSet::new();
        for _ in 0..GUESSES {
            let auth = auth.clone();
            guesses.spawn(async move {
                confirmation::confirm_by_code(
                    &auth,
                    "race-conf@example.com",
                    wrong,
                    None,
                    &RequestMeta::default(),
                )
                .await
                .unwrap()
                .is_some()
            });
        }
        while let Some(confirmed) = guesses.join_next().await {
            assert!(!confirmed.unwrap());
        }

        let id = users::find_by_email(&t.db, "race-conf@example.com")
            .await
            .unwrap()
            .unwrap()
            .id;
        let failures = audit::list(
            &t.db,
            &AuditFilter::for_user(id).action(audit::CONFIRMATION_FAILURE),
        )
        .await
        .unwrap();
        assert_eq!(failures.len(), GUESSES, "every try is recorded");
        let judged = failures
            .iter()
            .filter(|e| e.metadata.0.get("judged") != Some(&json!(false)))
            .count();
        assert_eq!(
            judged,
            confirmation::MAX_CODE_ATTEMPTS as usize,
            "only the code's tries were judged"
        );
        // The code is void: the right one no longer confirms.
        assert!(
            confirmation::confirm_by_code(
                &auth,
                "race-conf@example.com",
                &code,
                None,
                &RequestMeta::default()
            )
            .await
            .unwrap()
            .is_none()
        );
        assert!(
            users::find_by_email(&t.db, "race-conf@example.com")
                .await
                .unwrap()
                .unwrap()
                .confirmed_at
                .is_none()
        );
        t
    }

    async fn fifty_concurrent_wrong_passwords_are_judged_at_most_max_failed_times(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        app.register("race-pw@example.com", PASSWORD).await;
        let auth = app.state().auth.clone();

        let mut guesses = JoinSet::new();
        for i in 0..GUESSES {
            let auth = auth.clone();
            guesses.spawn(async move {
                let input = LoginInput {
                    email: "race-pw@example.com".into(),
                    password: format!("wrong guess number {i}").into(),
                    remember_me: false,
                    trusted_browser: None,
                };
                log_in(&auth, &input, None, &RequestMeta::default())
                    .await
                    .unwrap()
            });
        }
        while let Some(outcome) = guesses.join_next().await {
            let outcome = outcome.unwrap();
            assert!(
                matches!(outcome, LoginOutcome::InvalidCredentials),
                "{outcome:?}"
            );
        }

        let user = users::find_by_email(&t.db, "race-pw@example.com")
            .await
            .unwrap()
            .unwrap();
        let failures = audit::list(
            &t.db,
            &AuditFilter::for_user(user.id).action(audit::LOGIN_FAILURE),
        )
        .await
        .unwrap();
        assert_eq!(failures.len(), GUESSES);
        let judged = failures
            .iter()
            .filter(|e| e.metadata.0.get("locked") != Some(&json!(true)))
            .count();
        assert_eq!(
            judged, auth.config.lockout.max_failed as usize,
            "only the limit of passwords was judged"
        );
        assert_eq!(user.lock_count, 1, "locked once");
        assert!(
            user.locked_until
                .is_some_and(|until| app.clock.now() < until)
        );
        let locks = audit::list(
            &t.db,
            &AuditFilter::for_user(user.id).action(audit::LOCKOUT),
        )
        .await
        .unwrap();
        assert_eq!(locks.len(), 1);
        t
    }
);
