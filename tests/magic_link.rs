//! Magic-link log-in.

use rocket::http::Status;
use sigra_core::store::users;
use time::Duration;

use crate::common::app::{PASSWORD, app, location};

conformance! {
    async fn a_magic_link_logs_in_once_and_confirms_the_email(t) {
        let app = app(&t).await;
        app.register("ml@example.com", PASSWORD).await;
        let known = app.submit("/users/magic-link", &[("email", "ml@example.com")]).await;
        let known_status = known.status();
        let known_body = known.into_string().await.unwrap();
        let unknown = app.submit("/users/magic-link", &[("email", "uu@example.com")]).await;
        assert_eq!(unknown.status(), known_status);
        assert_eq!(unknown.into_string().await.unwrap().replace("uu@", "ml@").replace("uu%40", "ml%40"), known_body);

        let link = app.link_for("ml@example.com", "/users/magic-link/").await;
        let (status, html) = app.body(&link).await;
        assert_eq!(status, Status::Ok, "GET only shows the button");
        assert!(html.contains("no-referrer"));
        assert!(app.cookie("sigra_session").is_none());
        let r = app.submit(&link, &[]).await;
        assert_eq!(r.status(), Status::SeeOther);
        assert_eq!(location(&r), "/");
        drop(r);
        assert_eq!(app.body("/dashboard").await.0, Status::Ok);
        assert!(users::find_by_email(&t.db, "ml@example.com").await.unwrap().unwrap().confirmed_at.is_some());
        assert_eq!(app.submit(&link, &[]).await.status(), Status::NotFound, "single use");
        t
    }

    async fn magic_links_expire_after_fifteen_minutes(t) {
        let app = app(&t).await;
        app.register("me@example.com", PASSWORD).await;
        app.submit("/users/magic-link", &[("email", "me@example.com")]).await;
        let link = app.link_for("me@example.com", "/users/magic-link/").await;
        app.clock.advance(Duration::minutes(15));
        assert_eq!(app.submit(&link, &[]).await.status(), Status::NotFound);
        assert!(app.cookie("sigra_session").is_none());
        t
    }
}
