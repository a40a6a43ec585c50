//! Guards: AuthenticatedUser and OptionalUser; HTML vs JSON failures. `SudoUser` is in
//! `sudo.rs`, session expiry in `sessions.rs`.

use rocket::http::Status;

use crate::common::TestDb;
use crate::common::app::{Answer, app, json_accept};

conformance!(
    async fn authenticated_user_redirects_html_and_answers_json_with_401(t: TestDb) -> TestDb {
        let app = app(&t).await;
        let r = Answer::read(app.client.get("/dashboard?tab=2").dispatch().await).await;
        assert_eq!(r.status, Status::SeeOther);
        assert_eq!(r.location, "/users/log_in?return_to=%2Fdashboard%3Ftab%3D2");
        let r = app
            .client
            .get("/dashboard")
            .header(json_accept())
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Unauthorized);
        let body: serde_json::Value = r.into_json().await.unwrap();
        assert_eq!(body["error"], "not_authenticated");
        app.signed_up("g@example.com").await;
        let (status, body) = app.body("/dashboard").await;
        assert_eq!(
            (status, body.as_str()),
            (Status::Ok, "dashboard of g@example.com")
        );
        t
    }

    async fn optional_user_never_fails(t: TestDb) -> TestDb {
        let app = app(&t).await;
        assert_eq!(
            app.body("/maybe").await,
            (Status::Ok, "hello stranger".into())
        );
        app.signed_up("o@example.com").await;
        assert_eq!(
            app.body("/maybe").await,
            (Status::Ok, "hello o@example.com".into())
        );
        t
    }
);
