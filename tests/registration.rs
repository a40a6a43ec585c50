//! Registration: pages, validation, enumeration safety, mail and audit.

use rocket::http::Status;
use sigra_core::store::{audit, users};

use time::Duration;

use crate::common::TestDb;
use crate::common::app::{PASSWORD, app, location};

conformance!(
    async fn registrations_at_once_on_two_instances_all_succeed(t: TestDb) -> TestDb {
        // Each registration deletes the account's earlier confirmation tokens (none) and
        // inserts one: under MySQL's REPEATABLE READ those empty-range deletes took gap
        // locks that deadlocked concurrent registrations.
        let one = app(&t).await;
        let two = one.other_browser().await;
        let register = |app: &'static str, n: usize| {
            let browser = if app == "one" { &one } else { &two };
            async move {
                let email = format!("rush-{app}-{n}@example.com");
                browser.register(&email, PASSWORD).await.status()
            }
        };
        for round in 0..4 {
            let (a, b, c, d) = tokio::join!(
                register("one", round * 2),
                register("two", round * 2),
                register("one", round * 2 + 1),
                register("two", round * 2 + 1)
            );
            assert_eq!([a, b, c, d], [Status::Ok; 4], "round {round}");
        }
        t
    }

    async fn register_page_renders_a_form_with_csrf(t: TestDb) -> TestDb {
        let app = app(&t).await;
        let (status, html) = app.body("/users/register").await;
        assert_eq!(status, Status::Ok);
        assert!(html.contains("name=\"_csrf\""));
        assert!(html.contains("autocomplete=\"new-password\""));
        assert!(
            app.cookie("sigra_csrf").is_some(),
            "pre-session CSRF cookie set"
        );
        t
    }

    async fn registering_creates_the_account_and_sends_a_confirmation_mail(t: TestDb) -> TestDb {
        let app = app(&t).await;
        let r = app.register(" Ada@Example.com ", PASSWORD).await;
        assert_eq!(r.status(), Status::Ok);
        let html = r.into_string().await.unwrap();
        assert!(html.contains("Check your email"), "{html}");
        let user = users::find_by_email(&t.db, "ada@example.com")
            .await
            .unwrap()
            .unwrap();
        assert!(user.hashed_password().unwrap().starts_with("$argon2id$"));
        let mails = app.mails_to("ada@example.com").await;
        assert_eq!(mails.len(), 1);
        assert!(
            mails[0].text.contains("/users/confirm/"),
            "{}",
            mails[0].text
        );
        let events = audit::list(&t.db, &audit::AuditFilter::for_user(user.id))
            .await
            .unwrap();
        assert_eq!(events[0].action, "registration");
        assert!(events[0].ip.is_some());
        t
    }

    async fn an_existing_email_gets_the_same_answer_and_a_notice_by_mail(t: TestDb) -> TestDb {
        let app = app(&t).await;
        let first = app.register("known@example.com", PASSWORD).await;
        let first_status = first.status();
        let first_body = first.into_string().await.unwrap();
        let second = app
            .register("KNOWN@example.com", "another long password 42")
            .await;
        assert_eq!(second.status(), first_status);
        let second_body = second.into_string().await.unwrap();
        assert_eq!(second_body, first_body, "identical page for a known email");
        let unknown = app.register("unknown@example.com", PASSWORD).await;
        let unknown_body = unknown.into_string().await.unwrap();
        assert_eq!(
            unknown_body
                .replace("unknown@", "known@")
                .replace("unknown%40", "known%40"),
            first_body
        );

        let mails = app.mails_to("known@example.com").await;
        assert_eq!(mails.len(), 2);
        assert!(mails.iter().any(|m| m.text.contains("already") || m.subject.to_lowercase().contains("already")),
            "{:?}", mails.iter().map(|m| &m.subject).collect::<Vec<_>>());
        let user = users::find_by_email(&t.db, "known@example.com")
            .await
            .unwrap()
            .unwrap();
        let events = audit::list(
            &t.db,
            &audit::AuditFilter::for_user(user.id).action("registration.existing_email"),
        )
        .await
        .unwrap();
        assert_eq!(events.len(), 1);
        t
    }

    async fn repeated_registrations_of_a_known_address_mail_its_owner_once_per_throttle_window(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        app.register("flood@example.com", PASSWORD).await;
        let notices = |mails: Vec<sigra_core::mail::StoredMail>| {
            mails
                .into_iter()
                .filter(|m| m.text.contains("already"))
                .count()
        };
        let first = app
            .register("flood@example.com", "another long password 42")
            .await;
        let (status, body) = (first.status(), first.into_string().await.unwrap());
        assert_eq!(notices(app.mails_to("flood@example.com").await), 1);
        for _ in 0..3 {
            app.clock.advance(Duration::seconds(60));
            let again = app
                .register("flood@example.com", "another long password 42")
                .await;
            assert_eq!(
                again.status(),
                status,
                "same status whether or not a mail goes out"
            );
            assert_eq!(
                again.into_string().await.unwrap(),
                body,
                "same page whether or not a mail goes out"
            );
        }
        assert_eq!(
            notices(app.mails_to("flood@example.com").await),
            1,
            "one notice per 5 minutes"
        );
        app.clock.advance(Duration::seconds(120));
        app.register("flood@example.com", "another long password 42")
            .await;
        assert_eq!(
            notices(app.mails_to("flood@example.com").await),
            2,
            "the next window sends again"
        );
        let user = users::find_by_email(&t.db, "flood@example.com")
            .await
            .unwrap()
            .unwrap();
        let events = audit::list(
            &t.db,
            &audit::AuditFilter::for_user(user.id).action("registration.existing_email"),
        )
        .await
        .unwrap();
        assert_eq!(events.len(), 5, "every attempt is audited");
        assert_eq!(
            events
                .iter()
                .filter(|e| e.metadata.0["sent"] == true)
                .count(),
            2
        );
        t
    }

    async fn invalid_input_rerenders_the_form_with_messages_and_keeps_the_email(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        for (email, password, expected) in [
            ("not-an-email", PASSWORD, "valid email"),
            ("ok@example.com", "short", "at least 12 characters"),
            ("ok@example.com", &"x".repeat(257), "at most 256 characters"),
            ("ok@example.com", "password1234", "too common"),
        ] {
            let r = app.register(email, password).await;
            assert_eq!(r.status(), Status::UnprocessableEntity, "{email}");
            let html = r.into_string().await.unwrap();
            assert!(html.contains(expected), "{expected}: {html}");
            assert!(html.contains(&format!("value=\"{email}\"")), "email kept");
            assert!(
                !html.contains(password) || password == "short",
                "password never echoed"
            );
        }
        assert!(
            users::find_by_email(&t.db, "ok@example.com")
                .await
                .unwrap()
                .is_none()
        );
        t
    }

    async fn a_logged_in_user_is_sent_on_from_the_register_page(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("in@example.com").await;
        let r = app.client.get("/users/register").dispatch().await;
        assert_eq!(r.status(), Status::SeeOther);
        assert_eq!(location(&r), "/");
        t
    }
);
