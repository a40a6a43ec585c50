//! Change email: link to the new address, confirm by button, sessions end, old address told.

use rocket::http::Status;
use sigra_core::store::users;
use time::Duration;

use crate::common::TestDb;
use crate::common::app::{PASSWORD, app, location};

conformance!(
    async fn the_email_changes_only_when_the_new_address_confirms(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("old@example.com").await;
        let phone = app.other_browser().await;
        phone.log_in("old@example.com", PASSWORD, false).await;
        app.clock.advance(Duration::minutes(16));
        let r = app
            .submit(
                "/users/settings/email",
                &[
                    ("email", "new@example.com"),
                    ("current_password", "wrong wrong wrong"),
                ],
            )
            .await;
        assert_eq!(
            r.status(),
            Status::UnprocessableEntity,
            "outside sudo the password is required"
        );
        assert!(
            r.into_string()
                .await
                .unwrap()
                .contains("not your current password")
        );
        let r = app
            .submit_owned(
                "/users/settings/email",
                &[("email", "New@Example.com"), ("current_password", PASSWORD)],
            )
            .await;
        assert_eq!(r.location, "/users/settings?notice=email_pending");
        let (_, html) = app.body("/users/settings").await;
        assert!(
            html.contains("new@example.com"),
            "the pending address shows"
        );
        assert_eq!(
            users::find_by_email(&t.db, "old@example.com")
                .await
                .unwrap()
                .unwrap()
                .email,
            "old@example.com"
        );

        let link = app
            .link_for("new@example.com", "/users/settings/confirm-email/")
            .await;
        let (status, html) = app.body(&link).await;
        assert_eq!(status, Status::Ok);
        assert!(html.contains("no-referrer"));
        let r = app.submit_owned(&link, &[]).await;
        assert_eq!(r.location, "/users/log_in?notice=email_changed");
        assert!(
            users::find_by_email(&t.db, "new@example.com")
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            users::find_by_email(&t.db, "old@example.com")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            phone.body("/dashboard").await.0,
            Status::SeeOther,
            "every session ends"
        );
        let notice = app.mails_to("old@example.com").await;
        assert!(
            notice.iter().any(|m| m.text.contains("new@example.com")),
            "the old address is told"
        );
        assert_eq!(
            app.log_in("old@example.com", PASSWORD, false)
                .await
                .status(),
            Status::Unauthorized
        );
        assert_eq!(
            app.log_in("new@example.com", PASSWORD, false)
                .await
                .status(),
            Status::SeeOther
        );
        assert_eq!(
            app.submit(&link, &[]).await.status(),
            Status::NotFound,
            "single use"
        );
        t
    }

    async fn a_pending_change_can_be_cancelled_and_links_expire(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("keep@example.com").await;
        app.submit("/users/settings/email", &[("email", "other@example.com")])
            .await;
        let link = app
            .link_for("other@example.com", "/users/settings/confirm-email/")
            .await;
        let r = app.submit_owned("/users/settings/email/cancel", &[]).await;
        assert_eq!(r.location, "/users/settings?notice=email_change_cancelled");
        assert_eq!(app.body(&link).await.0, Status::NotFound);
        let (_, html) = app.body("/users/settings").await;
        assert!(!html.contains("other@example.com"));

        app.clock.advance(Duration::minutes(6));
        app.submit(
            "/users/settings/email",
            &[
                ("email", "later@example.com"),
                ("current_password", PASSWORD),
            ],
        )
        .await;
        let link = app
            .link_for("later@example.com", "/users/settings/confirm-email/")
            .await;
        app.clock.advance(Duration::hours(24));
        assert_eq!(
            app.submit(&link, &[]).await.status(),
            Status::NotFound,
            "24 hours"
        );
        assert!(
            users::find_by_email(&t.db, "keep@example.com")
                .await
                .unwrap()
                .is_some()
        );
        t
    }

    async fn a_taken_address_answers_alike_and_gets_no_mail(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.register("taken@example.com", PASSWORD).await;
        app.signed_up("mover@example.com").await;
        let r = app
            .submit_owned("/users/settings/email", &[("email", "taken@example.com")])
            .await;
        assert_eq!(r.location, "/users/settings?notice=email_pending");
        let mails = app.mails_to("taken@example.com").await;
        assert!(
            mails.iter().all(|m| !m.text.contains("confirm-email")),
            "no link goes to another account"
        );
        t
    }

    async fn change_email_links_to_one_address_are_throttled_per_address(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("mover1@example.com").await;
        let other = app.other_browser().await;
        other.signed_up("mover2@example.com").await;
        let links = |mails: Vec<sigra_core::mail::StoredMail>| {
            mails
                .into_iter()
                .filter(|m| m.text.contains("/users/settings/confirm-email/"))
                .count()
        };
        let r = app
            .submit_owned("/users/settings/email", &[("email", "victim@example.com")])
            .await;
        let first = (r.status, r.location);
        let link = app
            .link_for("victim@example.com", "/users/settings/confirm-email/")
            .await;
        for browser in [&app, &other, &app] {
            app.clock.advance(Duration::seconds(30));
            let r = browser
                .submit("/users/settings/email", &[("email", "victim@example.com")])
                .await;
            assert_eq!(
                (r.status(), location(&r)),
                first,
                "the same answer whether or not a mail goes out"
            );
        }
        assert_eq!(
            links(app.mails_to("victim@example.com").await),
            1,
            "one link per address per 5 minutes"
        );
        assert_eq!(
            app.body(&link).await.0,
            Status::Ok,
            "a throttled request leaves the mailed link good"
        );
        app.submit_owned(
            "/users/settings/email",
            &[("email", "elsewhere@example.com")],
        )
        .await;
        assert_eq!(
            links(app.mails_to("elsewhere@example.com").await),
            1,
            "other addresses are not held up"
        );
        app.clock.advance(Duration::minutes(5));
        other
            .submit("/users/settings/email", &[("email", "victim@example.com")])
            .await;
        assert_eq!(
            links(app.mails_to("victim@example.com").await),
            2,
            "the next window sends again"
        );
        t
    }
);

conformance!(
    async fn the_settings_page_shows_a_pending_change_alike_for_taken_and_free_addresses(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        app.register("owner-taken@example.com", PASSWORD).await;
        app.signed_up("prober@example.com").await;
        let mut pages = Vec::new();
        for address in ["owner-taken@example.com", "nobody-free@example.com"] {
            let r = app
                .submit_owned("/users/settings/email", &[("email", address)])
                .await;
            assert_eq!(r.location, "/users/settings?notice=email_pending");
            let (status, html) = app.body("/users/settings?notice=email_pending").await;
            assert_eq!(status, Status::Ok);
            assert!(html.contains(address), "{address} shows as pending");
            pages.push(html.replace(address, "ADDRESS"));
            assert_eq!(
                app.submit("/users/settings/email/cancel", &[])
                    .await
                    .status(),
                Status::SeeOther
            );
        }
        // Tokens differ per page (CSRF); the pending state must not.
        let strip = |html: &str| {
            html.lines()
                .filter(|l| !l.contains("_csrf") && !l.contains("csrf-token"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(strip(&pages[0]), strip(&pages[1]));
        let mails = app.mails_to("owner-taken@example.com").await;
        assert!(
            mails.iter().all(|m| !m.text.contains("confirm-email")),
            "still no link to another account"
        );
        t
    }

    async fn confirming_a_change_to_an_address_taken_since_answers_that_it_is_taken(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        app.signed_up("mover2@example.com").await;
        let r = app
            .submit_owned("/users/settings/email", &[("email", "wanted@example.com")])
            .await;
        assert_eq!(r.location, "/users/settings?notice=email_pending");
        let link = app
            .link_for("wanted@example.com", "/users/settings/confirm-email/")
            .await;
        let other = app.other_browser().await;
        other.register("wanted@example.com", PASSWORD).await;
        let r = app.submit_owned(&link, &[]).await;
        assert_eq!(r.status, Status::Conflict);
        assert!(r.body.contains("id=\"address-taken\""));
        assert!(
            users::find_by_email(&t.db, "mover2@example.com")
                .await
                .unwrap()
                .is_some(),
            "nothing changed"
        );
        assert_eq!(
            app.body("/dashboard").await.0,
            Status::Ok,
            "still signed in"
        );
        assert_eq!(
            app.submit(&link, &[]).await.status(),
            Status::NotFound,
            "the link is used up"
        );
        t
    }
);
