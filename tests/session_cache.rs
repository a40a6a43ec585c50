//! The optional cache of validated sessions (`sigra.session.cache_ms`).

use rocket::http::Status;
use sigra_core::crypto::TokenHash;
use sigra_core::store::sessions;
use time::Duration;

use crate::common::TestDb;
use crate::common::app::{Answer, PASSWORD, app_with, figment};

conformance!(
    async fn a_revocation_on_another_instance_is_in_force_when_it_answers(t: TestDb) -> TestDb {
        let a = app_with(figment(&t).merge(("sigra.session.cache_ms", 300))).await;
        a.signed_up("sc@example.com").await;
        assert_eq!(
            a.body("/dashboard").await.0,
            Status::Ok,
            "cached on instance A"
        );
        // Another device, served by instance B, signs out everywhere else.
        let b = a.other_browser().await;
        b.log_in("sc@example.com", PASSWORD, false).await;
        let r = b.submit_owned("/users/settings/sessions/others", &[]).await;
        assert_eq!(r.status, Status::SeeOther);
        assert_eq!(
            a.body("/dashboard").await.0,
            Status::SeeOther,
            "A no longer accepts it"
        );
        assert_eq!(b.body("/dashboard").await.0, Status::Ok);
        t
    }

    async fn cached_sessions_skip_the_database_but_not_expiry(t: TestDb) -> TestDb {
        let app = app_with(figment(&t).merge(("sigra.session.cache_ms", 3000))).await;
        app.signed_up("sk@example.com").await;
        assert_eq!(app.body("/dashboard").await.0, Status::Ok);
        // Removed behind Sigra's back (no revocation flow): the cache still answers,
        // which shows the lookup was skipped.
        let hash = TokenHash::of_encoded(&app.cookie("sigra_session").unwrap()).unwrap();
        let (session, user) = sessions::find_by_hash(&t.db, &hash).await.unwrap().unwrap();
        sessions::delete(&t.db, user.id, session.id).await.unwrap();
        assert_eq!(app.body("/dashboard").await.0, Status::Ok);
        // Expiry is still judged on every request.
        app.clock.advance(Duration::hours(24));
        assert_eq!(app.body("/dashboard").await.0, Status::SeeOther);
        t
    }

    async fn log_out_takes_effect_at_once_on_its_own_instance(t: TestDb) -> TestDb {
        let app = app_with(figment(&t).merge(("sigra.session.cache_ms", 300))).await;
        app.signed_up("lo-cache@example.com").await;
        let cookie = app.cookie("sigra_session").unwrap();
        assert_eq!(app.body("/dashboard").await.0, Status::Ok);
        app.log_out().await;
        let r = app
            .client
            .get("/dashboard")
            .cookie(crate::common::app::cookie("sigra_session", &cookie))
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::SeeOther, "the stolen cookie is dead");
        t
    }

    async fn sessions_a_flow_replaces_end_on_every_instance(t: TestDb) -> TestDb {
        let fig = figment(&t).merge(("sigra.session.cache_ms", 300));
        // Log-in ends the browser's previous session: a copy of its cookie, cached on
        // instance B, dies with it.
        let a = app_with(fig.clone()).await;
        a.signed_up("re@example.com").await;
        a.confirm_email("re@example.com").await;
        let old = a.cookie("sigra_session").unwrap();
        let b = a.other_browser().await;
        assert_eq!(
            stolen(&b.client, old.clone()).await,
            Status::Ok,
            "cached on B"
        );
        a.log_in("re@example.com", PASSWORD, true).await;
        assert_eq!(
            stolen(&b.client, old).await,
            Status::SeeOther,
            "log-in ended it everywhere"
        );

        // A remember-me restore replaces the session the cookie belonged to.
        let replaced = a.cookie("sigra_session").unwrap();
        let remember = a.cookie("sigra_remember_me").unwrap();
        assert_eq!(
            stolen(&b.client, replaced.clone()).await,
            Status::Ok,
            "cached on B"
        );
        let c = a.other_browser().await;
        let r = Answer::read(
            c.client
                .get("/dashboard")
                .cookie(crate::common::app::cookie("sigra_remember_me", &remember))
                .dispatch()
                .await,
        )
        .await;
        assert_eq!(r.status, Status::Ok);
        assert_eq!(
            stolen(&b.client, replaced).await,
            Status::SeeOther,
            "the restore ended it everywhere"
        );

        // Turning the second factor off: B must not keep answering MfaUser from its cache.
        let m = app_with(fig).await;
        let (_, _) = crate::mfa_totp::enrolled(&m, "mo@example.com").await;
        let session = m.cookie("sigra_session").unwrap();
        let on_b = m.other_browser().await;
        let mfa_only = |value: String| {
            on_b.client
                .get("/mfa-only")
                .cookie(crate::common::app::cookie("sigra_session", &value))
                .dispatch()
        };
        assert_eq!(
            mfa_only(session.clone()).await.status(),
            Status::Ok,
            "cached on B"
        );
        assert_eq!(
            m.submit("/users/settings/mfa/totp", &[("_method", "DELETE")])
                .await
                .status(),
            Status::SeeOther
        );
        assert_eq!(
            mfa_only(session).await.status(),
            Status::SeeOther,
            "off everywhere"
        );
        t
    }
);

/// A request to `/dashboard` with someone else's session cookie.
async fn stolen(client: &rocket::local::asynchronous::Client, value: String) -> Status {
    client
        .get("/dashboard")
        .cookie(crate::common::app::cookie("sigra_session", &value))
        .dispatch()
        .await
        .status()
}
