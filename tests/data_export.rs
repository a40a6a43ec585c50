//! Personal data export (sudo).

use rocket::http::{ContentType, Status};
use time::Duration;

use crate::common::TestDb;
use crate::common::app::{Answer, PASSWORD, app};

conformance!(
    async fn data_export_is_a_sudo_gated_json_download_without_secrets(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("ex@example.com").await;
        let r = app.client.get("/users/settings/export").dispatch().await;
        assert_eq!(r.status(), Status::Ok, "a fresh log-in counts as sudo");
        assert_eq!(r.content_type(), Some(ContentType::JSON));
        assert!(
            r.headers()
                .get_one("Content-Disposition")
                .unwrap()
                .starts_with("attachment")
        );
        let body = r.into_string().await.unwrap();
        let data: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(data["account"]["email"], "ex@example.com");
        assert_eq!(data["sessions"].as_array().unwrap().len(), 1);
        let actions: Vec<&str> = data["audit_events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert!(
            actions.contains(&"registration") && actions.contains(&"login.success"),
            "{actions:?}"
        );
        assert!(
            !body.contains("$argon2")
                && !body.contains("hashed_password")
                && !body.contains("token_hash")
        );

        app.clock.advance(Duration::minutes(16));
        let r = Answer::read(app.client.get("/users/settings/export").dispatch().await).await;
        assert_eq!(r.status, Status::SeeOther);
        assert_eq!(
            r.location,
            "/users/sudo?return_to=%2Fusers%2Fsettings%2Fexport"
        );
        let r = app
            .submit_owned(
                "/users/sudo?return_to=/users/settings/export",
                &[("password", PASSWORD)],
            )
            .await;
        assert_eq!(
            r.location, "/users/settings/export",
            "sudo returns to what the user was doing"
        );
        assert_eq!(app.body("/users/settings/export").await.0, Status::Ok);
        t
    }
);
