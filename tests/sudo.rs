//! Sudo mode: `SudoUser` lasts fifteen minutes after an interactive log-in, then asks
//! for the password again at `/users/sudo`.

use rocket::http::Status;
use time::Duration;

use crate::common::TestDb;
use crate::common::app::{Answer, PASSWORD, app, json_accept};

conformance!(
    async fn sudo_user_lasts_fifteen_minutes_after_log_in_then_asks_again(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("s@example.com").await;
        assert_eq!(
            app.body("/danger").await,
            (Status::Ok, "sudo page for s@example.com".into())
        );
        app.clock.advance(Duration::minutes(15));
        let r = Answer::read(app.client.get("/danger").dispatch().await).await;
        assert_eq!(r.status, Status::SeeOther);
        assert_eq!(r.location, "/users/sudo?return_to=%2Fdanger");
        let r = app
            .client
            .get("/danger")
            .header(json_accept())
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Forbidden);
        assert_eq!(
            r.into_json::<serde_json::Value>().await.unwrap()["error"],
            "sudo_required"
        );

        let (status, html) = app.body("/users/sudo?return_to=/danger").await;
        assert_eq!(status, Status::Ok);
        assert!(html.contains("autocomplete=\"current-password\""));
        let before = app.cookie("sigra_session").unwrap();
        let r = app
            .submit_owned(
                "/users/sudo?return_to=/danger",
                &[("password", "wrong wrong wrong")],
            )
            .await;
        assert_eq!(r.status, Status::Unauthorized);
        let r = app
            .submit_owned("/users/sudo?return_to=/danger", &[("password", PASSWORD)])
            .await;
        assert_eq!(r.status, Status::SeeOther);
        assert_eq!(r.location, "/danger");
        assert_ne!(
            app.cookie("sigra_session").unwrap(),
            before,
            "sudo issues a fresh session token"
        );
        assert_eq!(app.body("/danger").await.0, Status::Ok);
        let r = app.submit("/danger", &[("note", "x")]).await;
        assert_eq!(
            r.into_string().await.unwrap(),
            "sudo ok for s@example.com x"
        );
        let events = sigra_core::store::audit::list(
            &t.db,
            &sigra_core::store::audit::AuditFilter::default(),
        )
        .await
        .unwrap();
        let actions: Vec<_> = events.iter().map(|e| e.action.as_str()).collect();
        assert!(
            actions.contains(&"sudo") && actions.contains(&"sudo.failure"),
            "{actions:?}"
        );
        t
    }
);
