//! The optional cache of validated sessions (`sigra.session.cache_ms`).

use rocket::http::Status;
use sigra_core::crypto::TokenHash;
use sigra_core::store::sessions;
use time::Duration;

use crate::common::app::{PASSWORD, app_with, figment};

conformance! {
    async fn a_revocation_on_another_instance_is_in_force_when_it_answers(t) {
        let a = app_with(figment(&t).merge(("sigra.session.cache_ms", 300))).await;
        a.signed_up("sc@example.com").await;
        assert_eq!(a.body("/dashboard").await.0, Status::Ok, "cached on instance A");
        // Another device, served by instance B, signs out everywhere else.
        let b = a.other_browser().await;
        b.log_in("sc@example.com", PASSWORD, false).await;
        let r = b.submit("/users/settings/sessions/others", &[]).await;
        assert_eq!(r.status(), Status::SeeOther);
        drop(r);
        assert_eq!(a.body("/dashboard").await.0, Status::SeeOther, "A no longer accepts it");
        assert_eq!(b.body("/dashboard").await.0, Status::Ok);
        t
    }

    async fn cached_sessions_skip_the_database_but_not_expiry(t) {
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

    async fn log_out_takes_effect_at_once_on_its_own_instance(t) {
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
}
