//! Log out: the session and its cookie end, and the event is audited.

use rocket::http::Status;
use sigra_core::store::{audit, sessions};

use crate::common::TestDb;
use crate::common::app::{app, location};

conformance!(
    async fn log_out_ends_the_session_and_its_cookie(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("lo@example.com").await;
        let token = app.cookie("sigra_session").unwrap();
        let r = app.log_out().await;
        assert_eq!(r.status(), Status::SeeOther);
        assert_eq!(location(&r), "/");
        assert!(app.cookie("sigra_session").is_none());
        let hash = sigra_core::crypto::TokenHash::of_encoded(&token).unwrap();
        assert!(
            sessions::find_by_hash(&t.db, &hash)
                .await
                .unwrap()
                .is_none()
        );
        let r = app.client.get("/dashboard").dispatch().await;
        assert_eq!(r.status(), Status::SeeOther);
        assert!(location(&r).starts_with("/users/log_in"));
        let logouts = audit::list(&t.db, &audit::AuditFilter::default().action("logout"))
            .await
            .unwrap();
        assert_eq!(logouts.len(), 1);
        t
    }
);
