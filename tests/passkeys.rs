//! Passkeys through the core API, answered by a software authenticator: registration
//! (discoverable, user verification, existing credentials excluded), usernameless sign-in
//! to a full session, the second factor and sudo with a passkey, and what is refused: a
//! replayed or foreign ceremony, another origin, another account's credential, a
//! signature counter that went backwards, removing the last way in. Mails, audit events
//! and rows are checked alongside.

use rocket::http::{Method, Status};
use serde_json::json;
use sigra_core::Clock;
use sigra_core::features::audit::{self, AuditFilter};
use sigra_core::features::passkeys::{
    self, CEREMONY_SECS, PasskeyError, PasskeyView, RegisterInput, SignInOptions, SignInOutcome,
    StepUp, StepUpOutcome,
};
use sigra_core::features::sessions::{self, Authenticated, IssuedSession};
use sigra_core::features::{Auth, RequestMeta, deletion, mfa_totp};
use sigra_core::store::passkeys as passkey_store;
use sigra_core::store::{AuditEvent, mfa as mfa_store, users};
use time::Duration;
use uuid::Uuid;

use crate::common::TestDb;
use crate::common::app::{PASSWORD, TestApp, app_with, figment};
use crate::common::json::JsonAnswer;
use crate::common::passkey::{ORIGIN, SoftAuthenticator};

/// An app whose public URL is a domain (WebAuthn takes no IP address).
async fn passkey_app(t: &TestDb) -> TestApp {
    app_with(figment(t).merge(("sigra.public_url", ORIGIN))).await
}

fn auth(app: &TestApp) -> &Auth {
    &app.state().auth
}

/// The requests of these tests come from the same device as the app's own.
fn meta() -> RequestMeta {
    RequestMeta {
        ip: Some("203.0.113.7".into()),
        ..RequestMeta::default()
    }
}

async fn session_of(app: &TestApp, token: &str) -> Option<Authenticated> {
    sessions::authenticate(auth(app), token).await.unwrap()
}

/// The session the app's browser holds.
async fn me(app: &TestApp) -> Authenticated {
    let cookie = app.cookie("sigra_session").expect("a session cookie");
    session_of(app, &cookie).await.expect("a live session")
}

async fn try_register(
    app: &TestApp,
    current: &Authenticated,
    key: &mut SoftAuthenticator,
    name: &str,
) -> Result<PasskeyView, PasskeyError> {
    let ceremony = passkeys::start_registration(auth(app), current, &meta())
        .await
        .unwrap();
    let credential = key
        .register(&ceremony.options)
        .expect("the authenticator answers");
    let input = RegisterInput {
        name: name.into(),
        credential,
    };
    passkeys::finish_registration(auth(app), current, ceremony.token.as_str(), &input, &meta())
        .await
        .unwrap()
}

/// Adds a passkey made by `key` to the account of the app's session.
async fn register(app: &TestApp, key: &mut SoftAuthenticator, name: &str) -> PasskeyView {
    let current = me(app).await;
    try_register(app, &current, key, name).await.unwrap()
}

/// A discoverable sign-in answered by `key` (with `credential`, or its newest).
async fn sign_in(
    app: &TestApp,
    key: &mut SoftAuthenticator,
    credential: Option<&[u8]>,
) -> SignInOutcome {
    let ceremony = passkeys::start_sign_in(auth(app), &meta()).await.unwrap();
    let answer = key.assert(&ceremony.options, credential);
    passkeys::finish_sign_in(auth(app), ceremony.token.as_str(), &answer, &meta())
        .await
        .unwrap()
}

fn signed_in(outcome: SignInOutcome) -> Box<IssuedSession> {
    match outcome {
        SignInOutcome::Success(issued) => issued,
        other => panic!("not signed in: {other:?}"),
    }
}

fn refused(outcome: SignInOutcome) -> PasskeyError {
    match outcome {
        SignInOutcome::Refused(error) => error,
        other => panic!("not refused: {other:?}"),
    }
}

async fn step_up(
    app: &TestApp,
    current: &Authenticated,
    step: StepUp,
    key: &mut SoftAuthenticator,
    credential: Option<&[u8]>,
) -> StepUpOutcome {
    let ceremony = passkeys::start_step_up(auth(app), current, step, &meta())
        .await
        .unwrap();
    let answer = key.assert(&ceremony.options, credential);
    passkeys::finish_step_up(
        auth(app),
        current,
        step,
        ceremony.token.as_str(),
        &answer,
        &meta(),
    )
    .await
    .unwrap()
}

async fn user_id(t: &TestDb, email: &str) -> Uuid {
    users::find_by_email(&t.db, email)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn events(t: &TestDb, user: Uuid, action: &str) -> Vec<AuditEvent> {
    audit::list(&t.db, &AuditFilter::for_user(user).action(action))
        .await
        .unwrap()
}

async fn sessions_count(app: &TestApp, user: &Authenticated) -> usize {
    sessions::list(auth(app), user).await.unwrap().len()
}

conformance!(
    async fn a_passkey_is_registered_discoverable_and_verified_then_listed_mailed_and_audited(
        t: TestDb,
    ) -> TestDb {
        let app = passkey_app(&t).await;
        app.signed_up("pk@example.com").await;
        let current = me(&app).await;
        let ceremony = passkeys::start_registration(auth(&app), &current, &meta())
            .await
            .unwrap();
        let options = &ceremony.options["publicKey"];
        assert_eq!(options["rp"]["id"], "localhost");
        assert_eq!(options["rp"]["name"], "Sigra");
        assert_eq!(options["user"]["name"], "pk@example.com");
        let selection = &options["authenticatorSelection"];
        assert_eq!(selection["residentKey"], "required");
        assert_eq!(selection["requireResidentKey"], true);
        assert_eq!(selection["userVerification"], "required");
        assert_eq!(options["excludeCredentials"], json!([]));
        assert_eq!(options["timeout"], json!(CEREMONY_SECS * 1000));
        assert!(
            !ceremony
                .options
                .to_string()
                .contains(ceremony.token.as_str()),
            "the ceremony token is not in the options"
        );

        let mut key = SoftAuthenticator::new();
        let credential = key.register(&ceremony.options).unwrap();
        let input = RegisterInput {
            name: "  work laptop  ".into(),
            credential,
        };
        let view = passkeys::finish_registration(
            auth(&app),
            &current,
            ceremony.token.as_str(),
            &input,
            &meta(),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(view.name, "work laptop");
        assert!(
            !view.synced,
            "the soft authenticator is bound to one device"
        );
        assert_eq!(view.authenticator, None, "its AAGUID is all zeros");
        assert!(!view.used_for_mfa && view.last_used_at.is_none());
        assert_eq!(
            passkeys::list(auth(&app), &current).await.unwrap(),
            std::slice::from_ref(&view)
        );

        let id = current.user.id;
        let rows = passkey_store::list_for_user(&t.db, id).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].credential_id, key.held()[0].credential_id);
        assert_eq!(
            key.held()[0].user_handle,
            id.as_bytes(),
            "user handle = account id"
        );
        assert_eq!(rows[0].sign_count, 0);

        let mails = app.mails_to("pk@example.com").await;
        let mail = mails
            .iter()
            .find(|m| m.subject.contains("passkey was added"))
            .expect("a mail about the new passkey");
        assert!(mail.text.contains("work laptop"), "{}", mail.text);
        assert!(
            mail.text
                .contains("http://localhost:8000/users/settings/passkeys")
        );
        let added = events(&t, id, audit::PASSKEY_ADDED).await;
        assert_eq!(added.len(), 1);
        assert_eq!(added[0].metadata.0["passkey_id"], json!(view.id));
        assert_eq!(added[0].metadata.0["name"], "work laptop");

        // The same authenticator again: the options exclude its credential, so it refuses.
        let again = passkeys::start_registration(auth(&app), &current, &meta())
            .await
            .unwrap();
        let excluded = again.options["publicKey"]["excludeCredentials"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(excluded.len(), 1);
        assert!(key.register(&again.options).is_err(), "registered twice");
        // Another authenticator is welcome.
        let mut phone = SoftAuthenticator::new();
        register(&app, &mut phone, "phone").await;
        assert_eq!(passkeys::list(auth(&app), &current).await.unwrap().len(), 2);
        t
    }

    async fn a_ceremony_is_used_once_within_five_minutes_by_the_session_that_started_it(
        t: TestDb,
    ) -> TestDb {
        let app = passkey_app(&t).await;
        app.signed_up("cer@example.com").await;
        let current = me(&app).await;
        let mut key = SoftAuthenticator::new();
        let finish = |token: String, credential: serde_json::Value, who: Authenticated| {
            let app = &app;
            async move {
                let input = RegisterInput {
                    name: "key".into(),
                    credential,
                };
                passkeys::finish_registration(auth(app), &who, &token, &input, &meta())
                    .await
                    .unwrap()
            }
        };

        // Another session (another browser of the same account) cannot finish it, and a
        // name problem is told without using the ceremony up.
        let ceremony = passkeys::start_registration(auth(&app), &current, &meta())
            .await
            .unwrap();
        let answer = key.register(&ceremony.options).unwrap();
        let other = app.other_browser().await;
        other.log_in("cer@example.com", PASSWORD, false).await;
        let other = me(&other).await;
        let token = ceremony.token.as_str().to_owned();
        assert_eq!(
            finish(token.clone(), answer.clone(), other).await,
            Err(PasskeyError::CeremonyExpired)
        );
        let input = RegisterInput {
            name: " ".into(),
            credential: answer.clone(),
        };
        let blank = passkeys::finish_registration(auth(&app), &current, &token, &input, &meta())
            .await
            .unwrap();
        assert_eq!(blank, Err(PasskeyError::NameInvalid));
        assert!(
            finish(token.clone(), answer.clone(), current.clone())
                .await
                .is_ok()
        );
        // Replayed: used already.
        assert_eq!(
            finish(token.clone(), answer.clone(), current.clone()).await,
            Err(PasskeyError::CeremonyExpired)
        );
        assert_eq!(
            finish("not-a-token".into(), answer, current.clone()).await,
            Err(PasskeyError::CeremonyExpired)
        );

        // Expired after five minutes.
        let mut second = SoftAuthenticator::new();
        let ceremony = passkeys::start_registration(auth(&app), &current, &meta())
            .await
            .unwrap();
        let answer = second.register(&ceremony.options).unwrap();
        app.clock.advance(Duration::seconds(CEREMONY_SECS));
        let token = ceremony.token.as_str().to_owned();
        assert_eq!(
            finish(token, answer, current.clone()).await,
            Err(PasskeyError::CeremonyExpired)
        );

        // A sign-in ceremony is no step-up ceremony, and the reverse.
        let ceremony = passkeys::start_sign_in(auth(&app), &meta()).await.unwrap();
        let answer = key.assert(&ceremony.options, None);
        let step = passkeys::finish_step_up(
            auth(&app),
            &current,
            StepUp::Sudo,
            ceremony.token.as_str(),
            &answer,
            &meta(),
        )
        .await
        .unwrap();
        assert!(matches!(
            step,
            StepUpOutcome::Refused(PasskeyError::CeremonyExpired)
        ));
        let ceremony = passkeys::start_step_up(auth(&app), &current, StepUp::Sudo, &meta())
            .await
            .unwrap();
        let answer = key.assert(&ceremony.options, None);
        let outcome =
            passkeys::finish_sign_in(auth(&app), ceremony.token.as_str(), &answer, &meta())
                .await
                .unwrap();
        assert_eq!(refused(outcome), PasskeyError::CeremonyExpired);
        assert_eq!(passkeys::list(auth(&app), &current).await.unwrap().len(), 1);
        t
    }

    async fn a_usernameless_sign_in_starts_a_full_session_with_mfa_and_sudo(t: TestDb) -> TestDb {
        let app = passkey_app(&t).await;
        app.signed_up("si@example.com").await;
        let mut key = SoftAuthenticator::new();
        let view = register(&app, &mut key, "laptop").await;
        app.log_out().await;
        app.clock.advance(Duration::hours(1));

        let ceremony = passkeys::start_sign_in(auth(&app), &meta()).await.unwrap();
        let options = &ceremony.options;
        assert_eq!(options["publicKey"]["allowCredentials"], json!([]));
        assert_eq!(options["publicKey"]["userVerification"], "required");
        assert_eq!(options["publicKey"]["rpId"], "localhost");
        assert_eq!(options["mediation"], "conditional");
        let answer = key.assert(options, None);
        let outcome =
            passkeys::finish_sign_in(auth(&app), ceremony.token.as_str(), &answer, &meta())
                .await
                .unwrap();
        let issued = signed_in(outcome);
        let now = app.clock.now();
        assert_eq!(
            issued.session.sudo_at,
            Some(now),
            "an interactive authentication"
        );
        assert_eq!(
            issued.session.mfa_at,
            Some(now),
            "the passkey verified the user"
        );
        assert!(issued.remember_token.is_none());
        let session = session_of(&app, issued.token.as_str()).await.unwrap();
        assert_eq!(session.user.email, "si@example.com");
        assert!(!session.mfa_pending() && session.sudo_active(auth(&app)));

        let id = session.user.id;
        let logins = events(&t, id, audit::LOGIN_PASSKEY).await;
        assert_eq!(logins.len(), 1);
        let details = &logins[0].metadata.0;
        assert_eq!(details["session_id"], json!(issued.session.id));
        assert_eq!(details["passkey_id"], json!(view.id));
        assert_eq!(details["mfa"], "none");
        let row = &passkey_store::list_for_user(&t.db, id).await.unwrap()[0];
        assert_eq!(row.last_used_at, Some(now));
        assert_eq!(row.sign_count, 1);
        let listed = passkeys::list(auth(&app), &session).await.unwrap();
        assert_eq!(listed[0].last_used_at, Some(now));

        // With remember-me (a confirmed address only) and a previous session to end.
        let unconfirmed = SignInOptions {
            remember_me: true,
            previous: None,
        };
        let ceremony = passkeys::start_sign_in(auth(&app), &meta()).await.unwrap();
        let answer = key.assert(&ceremony.options, None);
        let outcome = passkeys::finish_sign_in_with(
            auth(&app),
            ceremony.token.as_str(),
            &answer,
            &unconfirmed,
            &meta(),
        )
        .await
        .unwrap();
        assert!(signed_in(outcome).remember_token.is_none(), "unconfirmed");
        app.confirm_email("si@example.com").await;
        let fresh_issued = signed_in(sign_in(&app, &mut key, None).await);
        let fresh = session_of(&app, fresh_issued.token.as_str()).await.unwrap();
        let options = SignInOptions {
            remember_me: true,
            previous: Some(&fresh),
        };
        let ceremony = passkeys::start_sign_in(auth(&app), &meta()).await.unwrap();
        let answer = key.assert(&ceremony.options, None);
        let outcome = passkeys::finish_sign_in_with(
            auth(&app),
            ceremony.token.as_str(),
            &answer,
            &options,
            &meta(),
        )
        .await
        .unwrap();
        let second = signed_in(outcome);
        assert!(second.remember_token.is_some());
        assert!(
            session_of(&app, fresh_issued.token.as_str())
                .await
                .is_none(),
            "previous ended"
        );
        assert!(session_of(&app, second.token.as_str()).await.is_some());
        t
    }

    async fn a_passkey_sign_in_passes_the_second_factor_unless_configured_not_to(
        t: TestDb,
    ) -> TestDb {
        let app = passkey_app(&t).await;
        crate::mfa_totp::enrolled(&app, "two@example.com").await;
        let mut key = SoftAuthenticator::new();
        register(&app, &mut key, "laptop").await;
        let issued = signed_in(sign_in(&app, &mut key, None).await);
        let session = session_of(&app, issued.token.as_str()).await.unwrap();
        assert!(!session.mfa_pending(), "no code owed after a passkey");
        let id = session.user.id;
        let logins = events(&t, id, audit::LOGIN_PASSKEY).await;
        assert_eq!(logins[0].metadata.0["mfa"], "passkey");

        let strict = app_with(
            figment(&t)
                .merge(("sigra.public_url", ORIGIN))
                .merge(("sigra.passkeys.satisfies_mfa", false)),
        )
        .await;
        let outcome = sign_in(&strict, &mut key, None).await;
        let SignInOutcome::MfaRequired(partial) = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(partial.session.mfa_at, None);
        let partial = session_of(&strict, partial.token.as_str()).await.unwrap();
        assert!(partial.mfa_pending());
        let logins = events(&t, id, audit::LOGIN_PASSKEY).await;
        assert!(logins.iter().any(|e| e.metadata.0["mfa"] == "pending"));
        t
    }

    async fn a_passkey_passes_the_second_factor_of_a_partial_session(t: TestDb) -> TestDb {
        let app = passkey_app(&t).await;
        crate::mfa_totp::enrolled(&app, "st@example.com").await;
        let mut key = SoftAuthenticator::new();
        let view = register(&app, &mut key, "laptop").await;
        crate::mfa::partial(&app, "st@example.com").await;
        let partial = me(&app).await;
        assert!(partial.mfa_pending());
        let ceremony = passkeys::start_step_up(auth(&app), &partial, StepUp::Mfa, &meta())
            .await
            .unwrap();
        let allowed = ceremony.options["publicKey"]["allowCredentials"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(allowed.len(), 1, "the account's passkeys only");
        assert_eq!(
            ceremony.options["publicKey"]["userVerification"],
            "required"
        );

        let outcome = step_up(&app, &partial, StepUp::Mfa, &mut key, None).await;
        let StepUpOutcome::Verified(Some(issued)) = outcome else {
            panic!("{outcome:?}");
        };
        assert!(issued.remember_token.is_none());
        let cookie = app.cookie("sigra_session").unwrap();
        assert!(
            session_of(&app, &cookie).await.is_none(),
            "the old token is dead"
        );
        let full = session_of(&app, issued.token.as_str()).await.unwrap();
        assert_eq!(full.session.id, partial.session.id);
        assert!(!full.mfa_pending());
        let id = full.user.id;
        let passed = events(&t, id, audit::MFA_SUCCESS).await;
        let by_passkey: Vec<_> = passed
            .iter()
            .filter(|e| e.metadata.0["method"] == "passkey")
            .collect();
        assert_eq!(by_passkey.len(), 1);
        assert_eq!(by_passkey[0].metadata.0["passkey_id"], json!(view.id));

        // A session that owes nothing: verified, nothing rotated.
        let outcome = step_up(&app, &full, StepUp::Mfa, &mut key, None).await;
        assert!(
            matches!(outcome, StepUpOutcome::Verified(None)),
            "{outcome:?}"
        );
        assert!(session_of(&app, issued.token.as_str()).await.is_some());
        t
    }

    async fn a_passkey_reopens_sudo(t: TestDb) -> TestDb {
        let app = passkey_app(&t).await;
        app.signed_up("sudo@example.com").await;
        let mut key = SoftAuthenticator::new();
        register(&app, &mut key, "laptop").await;
        app.clock.advance(Duration::minutes(16));
        let current = me(&app).await;
        assert!(!current.sudo_active(auth(&app)));
        let outcome = step_up(&app, &current, StepUp::Sudo, &mut key, None).await;
        let StepUpOutcome::Verified(Some(issued)) = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(issued.session.sudo_at, Some(app.clock.now()));
        let now = session_of(&app, issued.token.as_str()).await.unwrap();
        assert!(now.sudo_active(auth(&app)));
        assert!(
            session_of(&app, &app.cookie("sigra_session").unwrap())
                .await
                .is_none(),
            "rotated"
        );
        let sudo = events(&t, now.user.id, audit::SUDO).await;
        assert!(sudo.iter().any(|e| e.metadata.0["method"] == "passkey"));
        t
    }

    async fn a_signature_counter_that_goes_backwards_is_refused_and_audited(t: TestDb) -> TestDb {
        let app = passkey_app(&t).await;
        app.signed_up("ctr@example.com").await;
        let current = me(&app).await;
        let mut key = SoftAuthenticator::new();
        let view = register(&app, &mut key, "laptop").await;
        signed_in(sign_in(&app, &mut key, None).await);
        signed_in(sign_in(&app, &mut key, None).await);
        let id = current.user.id;
        let row = passkey_store::find_for_user(&t.db, id, view.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.sign_count, 2);

        // A copy of the key signed in elsewhere and took the counter to 100.
        let mut copied = row.passkey.0.clone();
        copied["cred"]["counter"] = json!(100);
        let elsewhere = passkey_store::PasskeyUse {
            passkey: &copied,
            sign_count: 100,
            backup_eligible: false,
            backup_state: false,
            at: app.clock.now(),
        };
        assert_eq!(
            passkey_store::record_use(&t.db, view.id, &elsewhere)
                .await
                .unwrap(),
            1
        );
        // The same counter cannot be recorded twice: of two copies racing, one wins.
        assert_eq!(
            passkey_store::record_use(&t.db, view.id, &elsewhere)
                .await
                .unwrap(),
            0
        );

        let before = sessions_count(&app, &current).await;
        let outcome = sign_in(&app, &mut key, None).await;
        assert_eq!(refused(outcome), PasskeyError::CounterRegression);
        assert_eq!(sessions_count(&app, &current).await, before, "no session");
        let regressions = events(&t, id, audit::PASSKEY_COUNTER_REGRESSION).await;
        assert_eq!(regressions.len(), 1);
        let details = &regressions[0].metadata.0;
        assert_eq!(details["passkey_id"], json!(view.id));
        assert_eq!(details["stored"], 100);
        assert_eq!(details["presented"], 3);
        assert!(events(&t, id, audit::LOGIN_PASSKEY).await.len() == 2);

        // In a step-up too.
        let outcome = step_up(&app, &current, StepUp::Sudo, &mut key, None).await;
        assert!(
            matches!(
                outcome,
                StepUpOutcome::Refused(PasskeyError::CounterRegression)
            ),
            "{outcome:?}"
        );
        assert_eq!(
            events(&t, id, audit::PASSKEY_COUNTER_REGRESSION)
                .await
                .len(),
            2
        );
        let row = passkey_store::find_for_user(&t.db, id, view.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.sign_count, 100, "a refused use records nothing");
        t
    }

    async fn an_answer_made_for_another_origin_is_refused(t: TestDb) -> TestDb {
        let app = passkey_app(&t).await;
        app.signed_up("or@example.com").await;
        let current = me(&app).await;
        // A page on another port of the same host: same relying party, another origin.
        let mut phished = SoftAuthenticator::new();
        phished.answer_from("http://localhost:9000");
        assert_eq!(
            try_register(&app, &current, &mut phished, "phished").await,
            Err(PasskeyError::Invalid)
        );
        assert!(
            passkeys::list(auth(&app), &current)
                .await
                .unwrap()
                .is_empty()
        );

        let mut key = SoftAuthenticator::new();
        register(&app, &mut key, "laptop").await;
        key.answer_from("http://localhost:9000");
        assert_eq!(
            refused(sign_in(&app, &mut key, None).await),
            PasskeyError::Invalid
        );
        let outcome = step_up(&app, &current, StepUp::Sudo, &mut key, None).await;
        assert!(matches!(
            outcome,
            StepUpOutcome::Refused(PasskeyError::Invalid)
        ));
        let id = current.user.id;
        let failures = events(&t, id, audit::LOGIN_PASSKEY_FAILURE).await;
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].metadata.0["reason"], "passkey_invalid");
        assert_eq!(events(&t, id, audit::SUDO_FAILURE).await.len(), 1);
        key.answer_from(ORIGIN);
        signed_in(sign_in(&app, &mut key, None).await);
        t
    }

    async fn another_accounts_passkey_is_refused(t: TestDb) -> TestDb {
        let app = passkey_app(&t).await;
        // One authenticator holds a passkey of each account.
        let mut key = SoftAuthenticator::new();
        app.signed_up("ann@example.com").await;
        register(&app, &mut key, "ann's").await;
        let ann = key.held()[0].clone();
        let bob_app = app.other_browser().await;
        bob_app.signed_up("bob@example.com").await;
        register(&bob_app, &mut key, "bob's").await;
        let bob = me(&bob_app).await;

        // Bob's step-up answered with Ann's credential.
        let outcome = step_up(
            &bob_app,
            &bob,
            StepUp::Sudo,
            &mut key,
            Some(&ann.credential_id),
        )
        .await;
        assert!(
            matches!(outcome, StepUpOutcome::Refused(PasskeyError::Invalid)),
            "{outcome:?}"
        );
        let outcome = step_up(
            &bob_app,
            &bob,
            StepUp::Mfa,
            &mut key,
            Some(&ann.credential_id),
        )
        .await;
        assert!(
            matches!(outcome, StepUpOutcome::Refused(PasskeyError::Invalid)),
            "{outcome:?}"
        );
        assert_eq!(events(&t, bob.user.id, audit::SUDO_FAILURE).await.len(), 1);

        // A sign-in whose user handle names Bob but whose credential is Ann's.
        let ceremony = passkeys::start_sign_in(auth(&app), &meta()).await.unwrap();
        let mut answer = key.assert(&ceremony.options, Some(&ann.credential_id));
        let bob_handle = key.held()[1].user_handle.clone();
        answer["response"]["userHandle"] = json!(base64_url(&bob_handle));
        let outcome =
            passkeys::finish_sign_in(auth(&app), ceremony.token.as_str(), &answer, &meta())
                .await
                .unwrap();
        assert_eq!(refused(outcome), PasskeyError::Invalid);
        // Each with its own.
        let issued = signed_in(sign_in(&app, &mut key, Some(&ann.credential_id)).await);
        let who = session_of(&app, issued.token.as_str()).await.unwrap();
        assert_eq!(who.user.email, "ann@example.com");
        let outcome = step_up(&bob_app, &bob, StepUp::Sudo, &mut key, None).await;
        assert!(
            matches!(outcome, StepUpOutcome::Verified(Some(_))),
            "{outcome:?}"
        );
        t
    }

    async fn passkeys_are_renamed_and_removed_by_their_owner_only(t: TestDb) -> TestDb {
        let app = passkey_app(&t).await;
        app.signed_up("rm@example.com").await;
        let current = me(&app).await;
        let mut key = SoftAuthenticator::new();
        let view = register(&app, &mut key, "laptop").await;
        let auth = auth(&app);
        let rename = passkeys::rename(auth, &current, view.id, " desk ", &meta()).await;
        assert_eq!(rename.unwrap(), Ok(()));
        assert_eq!(
            passkeys::list(auth, &current).await.unwrap()[0].name,
            "desk"
        );
        let long = "x".repeat(101);
        let rename = passkeys::rename(auth, &current, view.id, &long, &meta()).await;
        assert_eq!(rename.unwrap(), Err(PasskeyError::NameInvalid));
        let renamed = events(&t, current.user.id, audit::PASSKEY_RENAMED).await;
        assert_eq!(renamed.len(), 1);
        assert_eq!(renamed[0].metadata.0["from"], "laptop");

        let other = app.other_browser().await;
        other.signed_up("other@example.com").await;
        let stranger = me(&other).await;
        for id in [view.id, Uuid::nil()] {
            let removed = passkeys::remove(auth, &stranger, id, &meta())
                .await
                .unwrap();
            assert_eq!(removed, Err(PasskeyError::NotFound));
            let renamed = passkeys::rename(auth, &stranger, id, "mine", &meta()).await;
            assert_eq!(renamed.unwrap(), Err(PasskeyError::NotFound));
        }
        assert_eq!(passkeys::list(auth, &current).await.unwrap().len(), 1);

        assert_eq!(
            passkeys::remove(auth, &current, view.id, &meta())
                .await
                .unwrap(),
            Ok(())
        );
        assert!(passkeys::list(auth, &current).await.unwrap().is_empty());
        let mails = app.mails_to("rm@example.com").await;
        let mail = mails
            .iter()
            .find(|m| m.subject.contains("passkey was removed"))
            .expect("a mail about the removal");
        assert!(mail.text.contains("desk"));
        let removed = events(&t, current.user.id, audit::PASSKEY_REMOVED).await;
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0].metadata.0["passkey_id"], json!(view.id));
        // A removed passkey signs nobody in.
        assert_eq!(
            refused(sign_in(&app, &mut key, None).await),
            PasskeyError::Invalid
        );
        t
    }

    async fn the_last_way_to_sign_in_cannot_be_removed(t: TestDb) -> TestDb {
        let app = passkey_app(&t).await;
        app.signed_up("last@example.com").await;
        let mut laptop = SoftAuthenticator::new();
        let mut phone = SoftAuthenticator::new();
        let first = register(&app, &mut laptop, "laptop").await;
        let second = register(&app, &mut phone, "phone").await;
        let id = user_id(&t, "last@example.com").await;
        // An account without a password (made by magic link, say).
        users::set_password_hash(&t.db, id, None, app.clock.now())
            .await
            .unwrap();
        let current = me(&app).await;
        let auth = auth(&app);
        assert_eq!(
            passkeys::remove(auth, &current, first.id, &meta())
                .await
                .unwrap(),
            Ok(())
        );
        assert_eq!(
            passkeys::remove(auth, &current, second.id, &meta())
                .await
                .unwrap(),
            Err(PasskeyError::LastMethod)
        );
        assert_eq!(
            passkeys::list(auth, &current).await.unwrap(),
            std::slice::from_ref(&second)
        );
        assert_eq!(events(&t, id, audit::PASSKEY_REMOVED).await.len(), 1);
        signed_in(sign_in(&app, &mut phone, None).await);
        t
    }

    async fn a_passkey_can_be_the_accounts_second_factor(t: TestDb) -> TestDb {
        let app = passkey_app(&t).await;
        app.signed_up("only@example.com").await;
        let mut key = SoftAuthenticator::new();
        let view = register(&app, &mut key, "laptop").await;
        let current = me(&app).await;
        let auth = auth(&app);
        assert_eq!(
            passkeys::set_mfa(auth, &current, view.id, true, &meta())
                .await
                .unwrap(),
            Ok(())
        );
        let id = current.user.id;
        let user = users::find_by_id(&t.db, id).await.unwrap().unwrap();
        assert!(
            user.mfa_enabled_at.is_some(),
            "the account owes a second factor now"
        );
        assert!(
            !me(&app).await.mfa_pending(),
            "the session that turned it on passed it"
        );
        assert!(passkeys::list(auth, &current).await.unwrap()[0].used_for_mfa);
        let mails = app.mails_to("only@example.com").await;
        let told = mails
            .iter()
            .find(|m| m.subject.contains("now your two-step verification"))
            .expect("the owner is told");
        assert!(told.text.contains("\"laptop\""), "{}", told.text);
        assert!(
            told.text.contains("Two-step verification is on."),
            "{}",
            told.text
        );
        assert_eq!(events(&t, id, audit::MFA_ENABLED).await.len(), 1);
        assert_eq!(events(&t, id, audit::PASSKEY_MFA_CHANGED).await.len(), 1);

        // A password log-in now owes it, and the passkey pays it.
        crate::mfa::partial(&app, "only@example.com").await;
        let partial = me(&app).await;
        assert!(partial.mfa_pending());
        let outcome = step_up(&app, &partial, StepUp::Mfa, &mut key, None).await;
        let StepUpOutcome::Verified(Some(issued)) = outcome else {
            panic!("{outcome:?}");
        };
        let full = session_of(&app, issued.token.as_str()).await.unwrap();
        assert!(!full.mfa_pending());

        // Off again: no authenticator app, so the account's second factor goes.
        assert_eq!(
            passkeys::set_mfa(auth, &full, view.id, false, &meta())
                .await
                .unwrap(),
            Ok(())
        );
        let user = users::find_by_id(&t.db, id).await.unwrap().unwrap();
        assert!(user.mfa_enabled_at.is_none());
        assert_eq!(events(&t, id, audit::MFA_DISABLED).await.len(), 1);
        assert!(mfa_store::find_totp(&t.db, id).await.unwrap().is_none());
        let missing = passkeys::set_mfa(auth, &full, Uuid::nil(), true, &meta()).await;
        assert_eq!(missing.unwrap(), Err(PasskeyError::NotFound));

        // Turning two-step verification off turns it off for passkeys too: no flag is
        // left claiming a second factor the account no longer owes.
        passkeys::set_mfa(auth, &full, view.id, true, &meta())
            .await
            .unwrap()
            .unwrap();
        let full = session_of(&app, issued.token.as_str()).await.unwrap();
        let off = mfa_totp::disable(auth, &full, &meta()).await.unwrap();
        assert_eq!(off, mfa_totp::DisableOutcome::Disabled);
        let user = users::find_by_id(&t.db, id).await.unwrap().unwrap();
        assert!(user.mfa_enabled_at.is_none());
        assert!(!passkeys::list(auth, &full).await.unwrap()[0].used_for_mfa);
        t
    }

    async fn deleting_an_account_removes_its_passkeys(t: TestDb) -> TestDb {
        let app = passkey_app(&t).await;
        app.signed_up("del@example.com").await;
        let mut key = SoftAuthenticator::new();
        register(&app, &mut key, "laptop").await;
        let current = me(&app).await;
        let id = current.user.id;
        deletion::schedule_deletion(auth(&app), &current, &meta())
            .await
            .unwrap();
        app.clock.advance(Duration::days(15));
        assert_eq!(
            deletion::execute_deletion(auth(&app), id).await.unwrap(),
            deletion::ExecutionOutcome::Executed
        );
        assert!(
            passkey_store::list_for_user(&t.db, id)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            refused(sign_in(&app, &mut key, None).await),
            PasskeyError::Invalid
        );
        t
    }

    async fn a_credential_id_belongs_to_one_account(t: TestDb) -> TestDb {
        let app = passkey_app(&t).await;
        app.signed_up("one@example.com").await;
        let mut key = SoftAuthenticator::new();
        register(&app, &mut key, "laptop").await;
        let other = app.other_browser().await;
        other.signed_up("two@example.com").await;
        let two = user_id(&t, "two@example.com").await;
        let one = user_id(&t, "one@example.com").await;
        let row = &passkey_store::list_for_user(&t.db, one).await.unwrap()[0];
        let copy = passkey_store::NewPasskey {
            id: Uuid::now_v7(),
            user_id: two,
            credential_id: &row.credential_id,
            name: "copied",
            passkey: &row.passkey.0,
            aaguid: None,
            backup_eligible: false,
            backup_state: false,
            sign_count: 0,
            created_at: app.clock.now(),
        };
        let err = passkey_store::insert(&t.db, &copy).await.unwrap_err();
        assert!(
            matches!(err, sigra_core::store::StoreError::Conflict),
            "{err:?}"
        );
        assert!(
            passkey_store::list_for_user(&t.db, two)
                .await
                .unwrap()
                .is_empty()
        );
        t
    }
);

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The routes' JSON answer's options, after checking the §4a success shape.
fn options_of(r: &JsonAnswer) -> serde_json::Value {
    r.assert_ok(Status::Ok)["options"].clone()
}

conformance!(
    async fn every_passkey_ceremony_runs_through_the_routes_in_json_as_a_mobile_app_would(
        t: TestDb,
    ) -> TestDb {
        let app = passkey_app(&t).await;
        app.signed_up("json-pk@example.com").await;
        let id = user_id(&t, "json-pk@example.com").await;
        let mut key = SoftAuthenticator::new();
        let after_login = app.state().auth.config.after_login_path.clone();

        // Add: options (the log-in opened sudo), the authenticator, the finish.
        let r = app
            .json(Method::Post, "/users/settings/passkeys/options", json!({}))
            .await;
        let options = options_of(&r);
        assert_eq!(options["publicKey"]["rp"]["id"], "localhost");
        assert!(
            r.cookies.iter().any(|c| c.starts_with("sigra_passkey=")
                && c.contains("HttpOnly")
                && c.contains("Max-Age=300")),
            "the ceremony token is an HttpOnly cookie: {:?}",
            r.cookies
        );
        let credential = key.register(&options).unwrap();
        // A bad name keeps the ceremony: the same answer is taken with a good one.
        let r = app
            .json(
                Method::Post,
                "/users/settings/passkeys",
                json!({ "name": " ", "credential": credential }),
            )
            .await;
        r.assert_refused(Status::UnprocessableEntity, "invalid_fields");
        assert_eq!(r.field_reason("name"), "name_invalid");
        let r = app
            .json(
                Method::Post,
                "/users/settings/passkeys",
                json!({ "name": "phone", "credential": credential }),
            )
            .await;
        let body = r.assert_ok(Status::Ok);
        assert_eq!(body["next"], "/users/settings/passkeys?notice=added");
        assert_eq!(body["passkey"]["name"], "phone");
        let passkey_id = body["passkey"]["id"].as_str().unwrap().to_owned();
        let listed = app.json_get("/users/settings/passkeys").await;
        assert_eq!(listed.assert_ok(Status::Ok)["passkeys"][0]["name"], "phone");
        // The same answer again: its ceremony is used up.
        let r = app
            .json(
                Method::Post,
                "/users/settings/passkeys",
                json!({ "name": "again", "credential": credential }),
            )
            .await;
        r.assert_refused(Status::BadRequest, "passkey_ceremony_expired");

        // The pages offer it: the settings list, the log-in button and autofill.
        let (_, html) = app.body("/users/settings/passkeys").await;
        assert!(html.contains(r#"class="session passkey""#), "{html}");
        assert!(html.contains(r#"id="passkey-add""#));
        assert!(html.contains("assets/sigra-webauthn.js\" defer"), "{html}");
        app.json(Method::Delete, "/users/log_out", json!({}))
            .await
            .assert_ok(Status::Ok);
        let (_, html) = app.body("/users/log_in").await;
        assert!(html.contains(r#"id="passkey-sign-in""#), "{html}");
        assert!(
            html.contains(r#"autocomplete="username webauthn""#),
            "{html}"
        );

        // Usernameless sign-in: a full session with both factors and sudo.
        let options = options_of(
            &app.json(Method::Post, "/users/passkeys/options", json!({}))
                .await,
        );
        assert!(
            options["publicKey"]["allowCredentials"]
                .as_array()
                .is_none_or(|a| a.is_empty())
        );
        let answer = key.assert(&options, None);
        let r = app
            .json(
                Method::Post,
                "/users/passkeys/log_in",
                json!({ "credential": answer }),
            )
            .await;
        assert_eq!(r.assert_ok(Status::Ok)["next"], after_login.as_str());
        assert_eq!(app.body("/dashboard").await.0, Status::Ok);
        assert_eq!(
            app.json(
                Method::Post,
                "/users/passkeys/log_in",
                json!({ "credential": answer })
            )
            .await
            .reason(),
            "passkey_ceremony_expired",
            "a replayed answer"
        );

        // Rename; an unknown id is refused.
        let path = format!("/users/settings/passkeys/{passkey_id}");
        let r = app
            .json(Method::Patch, &path, json!({ "name": "work phone" }))
            .await;
        assert_eq!(
            r.assert_ok(Status::Ok)["next"],
            "/users/settings/passkeys?notice=renamed"
        );
        let unknown = format!("/users/settings/passkeys/{}", Uuid::now_v7());
        app.json(Method::Patch, &unknown, json!({ "name": "x" }))
            .await
            .assert_refused(Status::NotFound, "passkey_not_found");

        // Sudo with the passkey once the window has closed.
        app.clock.advance(Duration::minutes(16));
        let r = app
            .json(Method::Post, "/users/settings/passkeys/options", json!({}))
            .await;
        r.assert_refused(Status::Forbidden, "sudo_required");
        let (_, html) = app.body("/users/sudo").await;
        assert!(html.contains(r#"id="passkey-sudo""#), "{html}");
        let options = options_of(
            &app.json(Method::Post, "/users/sudo/passkey/options", json!({}))
                .await,
        );
        let r = app
            .json(
                Method::Post,
                "/users/sudo/passkey",
                json!({ "credential": key.assert(&options, None), "return_to": "/users/settings/passkeys" }),
            )
            .await;
        assert_eq!(r.assert_ok(Status::Ok)["next"], "/users/settings/passkeys");

        // Use it as the second factor, then log in with the password: the passkey passes it.
        let r = app
            .json(
                Method::Post,
                &format!("{path}/mfa"),
                json!({ "enabled": true }),
            )
            .await;
        assert_eq!(
            r.assert_ok(Status::Ok)["next"],
            "/users/settings/passkeys?notice=mfa_on"
        );
        app.json(Method::Delete, "/users/log_out", json!({}))
            .await
            .assert_ok(Status::Ok);
        let r = app
            .json(
                Method::Post,
                "/users/log_in",
                json!({ "email": "json-pk@example.com", "password": PASSWORD }),
            )
            .await;
        assert_eq!(r.assert_ok(Status::Ok)["mfa_required"], true);
        assert_ne!(
            app.body("/dashboard").await.0,
            Status::Ok,
            "the second factor is owed"
        );
        let (_, html) = app.body("/users/mfa").await;
        assert!(html.contains(r#"id="passkey-mfa""#), "{html}");
        let options = options_of(
            &app.json(Method::Post, "/users/mfa/passkey/options", json!({}))
                .await,
        );
        let r = app
            .json(
                Method::Post,
                "/users/mfa/passkey",
                json!({ "credential": key.assert(&options, None) }),
            )
            .await;
        assert_eq!(r.assert_ok(Status::Ok)["next"], after_login.as_str());
        assert_eq!(app.body("/dashboard").await.0, Status::Ok);

        // The last way in cannot be removed; with a password it can.
        users::set_password_hash(&t.db, id, None, app.clock.now())
            .await
            .unwrap();
        app.json(Method::Delete, &path, json!({}))
            .await
            .assert_refused(Status::Conflict, "passkey_last_method");
        assert_eq!(
            passkey_store::list_for_user(&t.db, id).await.unwrap().len(),
            1
        );
        t
    }

    async fn with_an_ip_address_as_public_url_passkeys_are_off_and_their_routes_absent(
        t: TestDb,
    ) -> TestDb {
        let app = crate::common::app::app(&t).await;
        let (_, html) = app.body("/users/log_in").await;
        assert!(!html.contains("passkey-sign-in"), "{html}");
        assert!(html.contains(r#"autocomplete="username""#), "{html}");
        app.json(Method::Post, "/users/passkeys/options", json!({}))
            .await
            .assert_refused(Status::NotFound, "not_found");
        t
    }
);

/// Every passkey refusal a route answers, each met by a JSON request to the routes (for
/// the reason table's test): `(reason, status)`.
pub async fn refusals_over_http(t: &TestDb) -> Vec<(String, u16)> {
    let app = passkey_app(t).await;
    app.signed_up("reasons-pk@example.com").await;
    let id = user_id(t, "reasons-pk@example.com").await;
    let mut seen = Vec::new();
    let mut note = |a: JsonAnswer| seen.push((a.reason().to_owned(), a.status.code));
    let mut key = SoftAuthenticator::new();
    let add = async |key: &mut SoftAuthenticator, name: &str| {
        let options = options_of(
            &app.json(Method::Post, "/users/settings/passkeys/options", json!({}))
                .await,
        );
        let credential = key.register(&options).unwrap();
        (credential, name.to_owned())
    };
    // A credential another account holds already (an authenticator that ignored the
    // exclusion list would present one): `passkey_duplicate`.
    let (credential, name) = add(&mut key, "phone").await;
    let raw = credential["rawId"].as_str().unwrap();
    let raw = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw)
            .unwrap()
    };
    let other = app.other_browser().await;
    other.signed_up("reasons-other@example.com").await;
    let taken = passkey_store::NewPasskey {
        id: Uuid::now_v7(),
        user_id: user_id(t, "reasons-other@example.com").await,
        credential_id: &raw,
        name: "theirs",
        passkey: &json!({}),
        aaguid: None,
        backup_eligible: false,
        backup_state: false,
        sign_count: 0,
        created_at: app.clock.now(),
    };
    passkey_store::insert(&t.db, &taken).await.unwrap();
    let body = json!({ "name": name, "credential": credential });
    note(
        app.json(Method::Post, "/users/settings/passkeys", body)
            .await,
    );
    // Registered for real, then: no ceremony, a forged answer, an unknown id.
    let (credential, name) = add(&mut key, "laptop").await;
    let body = json!({ "name": name, "credential": credential });
    let added = app
        .json(Method::Post, "/users/settings/passkeys", body)
        .await;
    let passkey_id = added.assert_ok(Status::Ok)["passkey"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!({ "credential": {} });
    note(app.json(Method::Post, "/users/passkeys/log_in", body).await);
    app.json(Method::Post, "/users/passkeys/options", json!({}))
        .await
        .assert_ok(Status::Ok);
    let forged = json!({ "credential": { "id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {} } });
    note(
        app.json(Method::Post, "/users/passkeys/log_in", forged)
            .await,
    );
    let unknown = format!("/users/settings/passkeys/{}", Uuid::now_v7());
    note(
        app.json(Method::Patch, &unknown, json!({ "name": "x" }))
            .await,
    );
    // A copy of the key took the counter ahead: `passkey_counter_regression`.
    let passkey_id: Uuid = passkey_id.parse().unwrap();
    let row = passkey_store::find_for_user(&t.db, id, passkey_id)
        .await
        .unwrap()
        .unwrap();
    let mut copied = row.passkey.0.clone();
    copied["cred"]["counter"] = json!(100);
    let elsewhere = passkey_store::PasskeyUse {
        passkey: &copied,
        sign_count: 100,
        backup_eligible: false,
        backup_state: false,
        at: app.clock.now(),
    };
    passkey_store::record_use(&t.db, passkey_id, &elsewhere)
        .await
        .unwrap();
    let options = options_of(
        &app.json(Method::Post, "/users/passkeys/options", json!({}))
            .await,
    );
    let body = json!({ "credential": key.assert(&options, None) });
    note(app.json(Method::Post, "/users/passkeys/log_in", body).await);
    // The last way in: `passkey_last_method`.
    users::set_password_hash(&t.db, id, None, app.clock.now())
        .await
        .unwrap();
    let path = format!("/users/settings/passkeys/{passkey_id}");
    note(app.json(Method::Delete, &path, json!({})).await);
    seen
}

conformance!(
    async fn the_retention_sweep_deletes_expired_ceremonies(t: TestDb) -> TestDb {
        let app = passkey_app(&t).await;
        let count = || crate::retention::count(&t.db, "sigra_webauthn_ceremonies");
        passkeys::start_sign_in(auth(&app), &meta()).await.unwrap();
        app.state().run_due_jobs().await.unwrap();
        assert_eq!(count().await, 1, "a live ceremony stays");
        app.clock.advance(Duration::seconds(CEREMONY_SECS + 1));
        app.state().run_due_jobs().await.unwrap();
        assert_eq!(count().await, 0, "an expired one goes");
        t
    }
);

conformance!(
    async fn an_account_whose_second_factor_is_a_passkey_can_add_an_app_and_backup_codes(
        t: TestDb,
    ) -> TestDb {
        let app = passkey_app(&t).await;
        app.signed_up("both@example.com").await;
        let mut key = SoftAuthenticator::new();
        let view = register(&app, &mut key, "laptop").await;
        let current = me(&app).await;
        passkeys::set_mfa(auth(&app), &current, view.id, true, &meta())
            .await
            .unwrap()
            .unwrap();
        // The app page says the app is off, and setting one up works.
        let page = app.json_get("/users/settings/mfa").await;
        assert_eq!(page.assert_ok(Status::Ok)["enabled"], false);
        let setup = app
            .json(Method::Post, "/users/settings/mfa/totp/setup", json!({}))
            .await;
        let secret = setup.assert_ok(Status::Ok)["secret"]
            .as_str()
            .expect("a secret to enter in the app")
            .to_owned();
        let code = crate::common::json::totp_code(&app, &secret);
        let on = app
            .json(
                Method::Post,
                "/users/settings/mfa/totp",
                json!({ "code": code }),
            )
            .await;
        let codes = on.assert_ok(Status::Ok)["backup_codes"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(codes, 10, "backup codes at last");
        let page = app.json_get("/users/settings/mfa").await;
        assert_eq!(page.assert_ok(Status::Ok)["enabled"], true);
        let listed = passkeys::list(auth(&app), &me(&app).await).await.unwrap();
        assert!(listed[0].used_for_mfa, "the passkey stays a second factor");
        // A second app is refused while one is on.
        let again = mfa_totp::start_enrollment(auth(&app), &me(&app).await)
            .await
            .unwrap();
        assert!(again.is_none());
        t
    }
);
