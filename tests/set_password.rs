//! Setting a first password (sudo), for an account that has none.

use rocket::http::{ContentType, Status};
use sigra_core::store::users;
use time::Duration;

use crate::common::TestDb;
use crate::common::app::{PASSWORD, app, location};

conformance!(
    async fn an_account_without_a_password_can_set_one_under_sudo(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.register("np@example.com", PASSWORD).await;
        let user = users::find_by_email(&t.db, "np@example.com")
            .await
            .unwrap()
            .unwrap();
        users::set_password_hash(&t.db, user.id, None, sigra_core::Clock::now(&app.clock))
            .await
            .unwrap();
        // No password: log in by magic link (an interactive log-in, so sudo is open).
        app.submit("/users/magic-link", &[("email", "np@example.com")])
            .await;
        let link = app.link_for("np@example.com", "/users/magic-link/").await;
        app.submit(&link, &[]).await;
        let (_, html) = app.body("/users/settings").await;
        assert!(html.contains("Set a password"), "{html}");
        let new = "my very first passphrase";
        let r = app
            .submit_owned(
                "/users/settings/set-password",
                &[("password", new), ("password_confirmation", "nope")],
            )
            .await;
        assert_eq!(r.status, Status::UnprocessableEntity);
        let r = app
            .submit_owned(
                "/users/settings/set-password",
                &[("password", new), ("password_confirmation", new)],
            )
            .await;
        assert_eq!(r.location, "/users/settings?notice=password_set");
        app.log_out().await;
        assert_eq!(
            app.log_in("np@example.com", new, false).await.status(),
            Status::SeeOther
        );
        // Once there is a password, this form refuses and points to change password.
        let r = app
            .submit(
                "/users/settings/set-password",
                &[("password", new), ("password_confirmation", new)],
            )
            .await;
        assert_eq!(r.status(), Status::UnprocessableEntity);
        assert!(
            r.into_string()
                .await
                .unwrap()
                .contains("already has a password")
        );
        t
    }

    async fn set_password_needs_sudo(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("ns@example.com").await;
        app.clock.advance(Duration::minutes(16));
        let r = app
            .client
            .post("/users/settings/set-password")
            .header(ContentType::Form)
            .header(rocket::http::Header::new(
                "Referer",
                "http://127.0.0.1:8000/users/settings",
            ))
            .body("password=x")
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::SeeOther);
        assert_eq!(location(&r), "/users/sudo?return_to=%2Fusers%2Fsettings");
        t
    }
);
