//! The audit log: what it records of what a user typed.

use rocket::http::Status;
use sigra_core::store::audit;

use crate::common::TestDb;
use crate::common::app::{PASSWORD, app};

conformance!(
    async fn failed_log_ins_audit_only_a_valid_address_or_a_keyed_digest_never_the_typed_text(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        app.register("typed@example.com", PASSWORD).await;
        let typed_password = "my secret passphrase 77";
        let long_address = format!("{}@example.com", "a".repeat(250));
        let huge = "x".repeat(30_000);
        for typed in [
            " Typed@Example.com ",
            typed_password,
            long_address.as_str(),
            huge.as_str(),
            typed_password,
        ] {
            let r = app.log_in(typed, "not the password at all", false).await;
            assert_eq!(r.status(), Status::Unauthorized);
        }
        // Forgot password and magic link audit the address typed there the same way.
        app.submit("/users/reset-password", &[("email", typed_password)])
            .await;
        app.submit("/users/magic-link", &[("email", typed_password)])
            .await;

        let mut recorded = Vec::new();
        for action in [
            "login.failure",
            "reset_password.requested",
            "magic_link.requested",
        ] {
            let events = audit::list(&t.db, &audit::AuditFilter::default().action(action))
                .await
                .unwrap();
            recorded.extend(
                events
                    .into_iter()
                    .map(|e| e.metadata.0["email"].as_str().unwrap().to_owned()),
            );
        }
        assert_eq!(recorded.len(), 7, "{recorded:?}");
        assert!(
            recorded.contains(&"typed@example.com".to_owned()),
            "a valid address is kept, normalized"
        );
        for value in &recorded {
            assert!(
                !value.contains("secret passphrase"),
                "typed text never stored: {value}"
            );
            assert!(value.len() <= 254, "{} characters stored", value.len());
            assert!(
                value == "typed@example.com" || value.starts_with("hmac:"),
                "{value}"
            );
        }
        assert_eq!(
            recorded.iter().filter(|v| v.starts_with("hmac:")).count(),
            6
        );
        // The same typed text gives the same digest (audit is newest first: the last two
        // are the forgot-password and magic-link requests).
        let password_digest = &recorded[recorded.len() - 1];
        assert_eq!(&recorded[recorded.len() - 2], password_digest);
        assert_eq!(recorded.iter().filter(|v| *v == password_digest).count(), 4);
        t
    }
);
