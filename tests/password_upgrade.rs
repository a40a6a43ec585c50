//! Password upgrade: imported bcrypt hashes wrapped in Argon2id offline, in bulk.

use rocket::http::Status;
use sigra_core::Clock;
use sigra_core::crypto::password::WRAPPED_BCRYPT_PREFIX;
use sigra_core::features::password_upgrade::{WrapReport, wrap_bcrypt_hashes};
use sigra_core::store::users;

use crate::common::TestDb;
use crate::common::app::{PASSWORD, app};

/// bcrypt (cost 4) of [`IMPORTED_PASSWORD`], as another system would have stored it.
const BCRYPT: &str = "$2b$04$/reKLURyvk36vzV2a/TSeecQeKv5R8hQvtw5GGaySLg7xVbCZs4Wm";
const IMPORTED_PASSWORD: &str = "correctbatteryhorsestapler";

async fn stored_hash(t: &crate::common::TestDb, email: &str) -> String {
    let user = users::find_by_email(&t.db, email).await.unwrap().unwrap();
    user.hashed_password().unwrap().to_owned()
}

conformance!(
    async fn bcrypt_hashes_are_wrapped_in_argon2id_in_bulk_and_still_log_in(t: TestDb) -> TestDb {
        let app = app(&t).await;
        for email in [
            "native@example.com",
            "imported@example.com",
            "imported2@example.com",
        ] {
            app.register(email, PASSWORD).await;
        }
        let native = stored_hash(&t, "native@example.com").await;
        for email in ["imported@example.com", "imported2@example.com"] {
            let id = users::find_by_email(&t.db, email)
                .await
                .unwrap()
                .unwrap()
                .id;
            users::set_password_hash(&t.db, id, Some(BCRYPT.into()), app.clock.now())
                .await
                .unwrap();
        }

        // One account per batch, so the run pages through them.
        let report = wrap_bcrypt_hashes(&app.state().auth, 1).await.unwrap();
        assert_eq!(
            report,
            WrapReport {
                wrapped: 2,
                skipped: 0
            }
        );
        let wrapped = stored_hash(&t, "imported@example.com").await;
        assert!(
            wrapped.starts_with(&format!(
                "{WRAPPED_BCRYPT_PREFIX}04$/reKLURyvk36vzV2a/TSee$argon2id$"
            )),
            "{wrapped}"
        );
        assert!(
            !wrapped.contains("cQeKv5R8hQvtw5GGaySLg7xVbCZs4Wm"),
            "the bcrypt output is gone"
        );
        assert_eq!(
            stored_hash(&t, "native@example.com").await,
            native,
            "Argon2id hashes are left alone"
        );
        assert_eq!(
            wrap_bcrypt_hashes(&app.state().auth, 100).await.unwrap(),
            WrapReport::default(),
            "nothing left to wrap"
        );

        // Verified through both: a wrong password fails, the right one logs in and the
        // hash becomes plain Argon2id.
        assert_eq!(
            app.log_in("imported@example.com", "not the imported one", false)
                .await
                .status(),
            Status::Unauthorized
        );
        assert_eq!(
            app.log_in("imported@example.com", IMPORTED_PASSWORD, false)
                .await
                .status(),
            Status::SeeOther
        );
        assert!(
            stored_hash(&t, "imported@example.com")
                .await
                .starts_with("$argon2id$v=19$")
        );
        t
    }
);
