//! Remember-me: families, replay of a spent token, the lifetime fixed at log-in, and no
//! remember-me before the address is confirmed.

use rocket::http::Status;
use sigra_core::Clock;
use sigra_core::crypto::TokenHash;
use sigra_core::features::audit as actions;
use sigra_core::store::{audit, sessions, tokens, users};
use time::Duration;

use crate::common::TestDb;
use crate::common::app::{PASSWORD, TestApp, app, cookie};

/// Opens `/dashboard` in a fresh browser that holds only `remember` (the browser was
/// closed); answers the status and that browser.
async fn come_back(app: &TestApp, remember: &str) -> (Status, TestApp) {
    let browser = app.other_browser().await;
    let status = browser
        .client
        .get("/dashboard")
        .cookie(cookie("sigra_remember_me", remember))
        .dispatch()
        .await
        .status();
    (status, browser)
}

async fn confirmed_with_remember_me(app: &TestApp, email: &str) -> String {
    app.register(email, PASSWORD).await;
    app.confirm_email(email).await;
    assert_eq!(
        app.log_in(email, PASSWORD, true).await.status(),
        Status::SeeOther
    );
    app.cookie("sigra_remember_me").expect("remember-me cookie")
}

conformance!(
    async fn a_replayed_spent_remember_me_token_ends_its_whole_family_and_its_sessions(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        let first = confirmed_with_remember_me(&app, "rr@example.com").await;
        let user = users::find_by_email(&t.db, "rr@example.com")
            .await
            .unwrap()
            .unwrap();
        // A remember-me log-in on another device is another family.
        let tablet = app.other_browser().await;
        tablet.log_in("rr@example.com", PASSWORD, true).await;

        // The owner comes back: the cookie rotates, the spent token is kept, marked used.
        let (status, owner) = come_back(&app, &first).await;
        assert_eq!(status, Status::Ok);
        let second = owner.cookie("sigra_remember_me").unwrap();
        assert_ne!(second, first);
        let spent = tokens::find_remember(&t.db, &TokenHash::of_encoded(&first).unwrap())
            .await
            .unwrap();
        assert!(
            spent.is_some_and(|t| t.used_at.is_some()),
            "spent tokens are kept, marked used"
        );

        // A copy of the first cookie comes back: it is refused, and the family ends.
        let (status, thief) = come_back(&app, &first).await;
        assert_eq!(status, Status::SeeOther);
        assert!(thief.cookie("sigra_session").is_none());
        assert_eq!(
            owner.body("/dashboard").await.0,
            Status::SeeOther,
            "the restored session ended"
        );
        let (status, _) = come_back(&app, &second).await;
        assert_eq!(
            status,
            Status::SeeOther,
            "the family's newest cookie ended too"
        );
        assert!(
            tokens::find_remember(&t.db, &TokenHash::of_encoded(&second).unwrap())
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            tablet.body("/dashboard").await.0,
            Status::Ok,
            "other families stay"
        );

        let reuse = audit::list(
            &t.db,
            &audit::AuditFilter::for_user(user.id).action(actions::SESSION_REMEMBER_ME_REUSE),
        )
        .await
        .unwrap();
        assert_eq!(reuse.len(), 1);
        assert_eq!(reuse[0].metadata.0["sessions_ended"], 1);
        t
    }

    async fn a_restore_never_outlives_the_remember_me_lifetime_set_at_log_in(t: TestDb) -> TestDb {
        let app = app(&t).await;
        let logged_in_at = app.clock.now();
        let mut remember = confirmed_with_remember_me(&app, "rl@example.com").await;
        let limit = logged_in_at + Duration::days(30);

        // The owner comes back on days 10, 20 and 29 (the session has gone idle each time).
        for days in [10, 10, 9] {
            app.clock.advance(Duration::days(days));
            let (status, browser) = come_back(&app, &remember).await;
            assert_eq!(status, Status::Ok);
            remember = browser.cookie("sigra_remember_me").unwrap();
            let token = tokens::find_remember(&t.db, &TokenHash::of_encoded(&remember).unwrap())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                token.expires_at, limit,
                "the new cookie keeps the family's expiry"
            );
            let session = browser.cookie("sigra_session").unwrap();
            let (session, _) =
                sessions::find_by_hash(&t.db, &TokenHash::of_encoded(&session).unwrap())
                    .await
                    .unwrap()
                    .unwrap();
            assert!(
                session.expires_at <= limit,
                "{} > {limit}",
                session.expires_at
            );
        }
        // Day 29: the restored session ends with the family, not 14 days later.
        let session = sessions::list_for_user(
            &t.db,
            users::find_by_email(&t.db, "rl@example.com")
                .await
                .unwrap()
                .unwrap()
                .id,
            app.clock.now(),
        )
        .await
        .unwrap();
        assert_eq!(session.iter().map(|s| s.expires_at).max(), Some(limit));

        app.clock.advance(Duration::days(1));
        let (status, browser) = come_back(&app, &remember).await;
        assert_eq!(
            status,
            Status::SeeOther,
            "30 days after log-in, remember-me is over"
        );
        assert!(browser.cookie("sigra_session").is_none());
        t
    }

    async fn a_restored_remember_me_cookie_expires_with_its_family(t: TestDb) -> TestDb {
        let app = app(&t).await;
        let remember = confirmed_with_remember_me(&app, "ra@example.com").await;
        app.clock.advance(Duration::days(10));
        let browser = app.other_browser().await;
        let r = browser
            .client
            .get("/dashboard")
            .cookie(cookie("sigra_remember_me", &remember))
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Ok);
        let set: Vec<String> = r.headers().get("Set-Cookie").map(str::to_owned).collect();
        let twenty_days = 20 * 86_400;
        assert!(
            set.iter().any(|c| c.starts_with("sigra_remember_me=")
                && c.contains(&format!("Max-Age={twenty_days}"))),
            "{set:?}"
        );
        t
    }

    async fn remember_me_is_not_issued_to_an_unconfirmed_account(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.register("ru@example.com", PASSWORD).await;
        assert_eq!(
            app.log_in("ru@example.com", PASSWORD, true).await.status(),
            Status::SeeOther
        );
        assert_eq!(
            app.body("/dashboard").await.0,
            Status::Ok,
            "the log-in itself works"
        );
        assert!(
            app.cookie("sigra_remember_me").is_none(),
            "no remember-me before the address is proven"
        );
        let user = users::find_by_email(&t.db, "ru@example.com")
            .await
            .unwrap()
            .unwrap();
        let live = sessions::list_for_user(&t.db, user.id, app.clock.now())
            .await
            .unwrap();
        assert!(live.iter().all(|s| !s.remember_me));

        app.confirm_email("ru@example.com").await;
        app.log_in("ru@example.com", PASSWORD, true).await;
        assert!(
            app.cookie("sigra_remember_me").is_some(),
            "once confirmed, remember-me works"
        );
        t
    }
);
