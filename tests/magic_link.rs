//! Magic-link log-in.

use rocket::http::Status;
use sigra_core::store::users;
use time::Duration;

use crate::common::TestDb;
use crate::common::app::{PASSWORD, app};

conformance!(
    async fn a_magic_link_logs_in_once_and_confirms_the_email(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.register("ml@example.com", PASSWORD).await;
        let known = app
            .submit("/users/magic-link", &[("email", "ml@example.com")])
            .await;
        let known_status = known.status();
        let known_body = known.into_string().await.unwrap();
        let unknown = app
            .submit("/users/magic-link", &[("email", "uu@example.com")])
            .await;
        assert_eq!(unknown.status(), known_status);
        assert_eq!(
            unknown
                .into_string()
                .await
                .unwrap()
                .replace("uu@", "ml@")
                .replace("uu%40", "ml%40"),
            known_body
        );

        let link = app.link_for("ml@example.com", "/users/magic-link/").await;
        let (status, html) = app.body(&link).await;
        assert_eq!(status, Status::Ok, "GET only shows the button");
        assert!(html.contains("no-referrer"));
        assert!(app.cookie("sigra_session").is_none());
        let r = app.submit_owned(&link, &[]).await;
        assert_eq!(r.status, Status::SeeOther);
        assert_eq!(r.location, "/");
        assert_eq!(app.body("/dashboard").await.0, Status::Ok);
        assert!(
            users::find_by_email(&t.db, "ml@example.com")
                .await
                .unwrap()
                .unwrap()
                .confirmed_at
                .is_some()
        );
        assert_eq!(
            app.submit(&link, &[]).await.status(),
            Status::NotFound,
            "single use"
        );
        t
    }

    async fn magic_links_expire_after_fifteen_minutes(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.register("me@example.com", PASSWORD).await;
        app.submit("/users/magic-link", &[("email", "me@example.com")])
            .await;
        let link = app.link_for("me@example.com", "/users/magic-link/").await;
        app.clock.advance(Duration::minutes(15));
        assert_eq!(app.submit(&link, &[]).await.status(), Status::NotFound);
        assert!(app.cookie("sigra_session").is_none());
        t
    }
);

conformance!(
    async fn a_first_magic_link_drops_the_password_and_sessions_set_before_the_address_was_proven(
        t: TestDb,
    ) -> TestDb {
        let owner = app(&t).await;
        let attacker = owner.other_browser().await;
        attacker.signed_up("prehijack@example.com").await;
        owner
            .submit("/users/magic-link", &[("email", "prehijack@example.com")])
            .await;
        let link = owner
            .link_for("prehijack@example.com", "/users/magic-link/")
            .await;
        let r = owner.submit_owned(&link, &[]).await;
        assert_eq!(r.status, Status::SeeOther);
        assert_eq!(
            owner.body("/dashboard").await.0,
            Status::Ok,
            "the owner is in"
        );
        assert_eq!(
            attacker.body("/dashboard").await.0,
            Status::SeeOther,
            "the attacker's session ended"
        );
        let user = users::find_by_email(&t.db, "prehijack@example.com")
            .await
            .unwrap()
            .unwrap();
        assert!(
            user.hashed_password().is_none(),
            "the password set before the proof is gone"
        );
        assert!(user.confirmed_at.is_some());
        assert_eq!(
            attacker
                .log_in("prehijack@example.com", PASSWORD, false)
                .await
                .status(),
            Status::Unauthorized
        );

        // A confirmed account keeps its password and other sessions on a magic link.
        owner.log_out().await;
        let phone = owner.other_browser().await;
        phone.signed_up("kept@example.com").await;
        owner.confirm_email("kept@example.com").await;
        let laptop = owner.other_browser().await;
        assert_eq!(
            laptop
                .log_in("kept@example.com", PASSWORD, false)
                .await
                .status(),
            Status::SeeOther
        );
        owner.clock.advance(Duration::minutes(6));
        owner
            .submit("/users/magic-link", &[("email", "kept@example.com")])
            .await;
        let link = owner
            .link_for("kept@example.com", "/users/magic-link/")
            .await;
        assert_eq!(owner.submit(&link, &[]).await.status(), Status::SeeOther);
        assert_eq!(
            laptop.body("/dashboard").await.0,
            Status::Ok,
            "later proofs end nothing"
        );
        assert!(
            users::find_by_email(&t.db, "kept@example.com")
                .await
                .unwrap()
                .unwrap()
                .hashed_password()
                .is_some()
        );
        t
    }
);
