//! The release profile is production: a secret is required, the dev mailbox is gone and
//! cookies are `Secure` with the `__Host-` prefix, unless a `danger_*` setting says
//! otherwise (DESIGN §5, "release profile").

use rocket::http::Status;

use crate::common::TestDb;
use crate::common::app::{PASSWORD, SECRET, app_with, csrf_in, release_figment};

pub(crate) async fn launch_fails(figment: rocket::figment::Figment) {
    let rocket = rocket::custom(figment).attach(sigra_rocket::Sigra::fairing());
    let Err(err) = rocket.ignite().await else {
        panic!("launch must fail")
    };
    assert!(
        matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(f) if f[0].name == "Sigra"),
        "{err:?}"
    );
}

conformance!(
    async fn release_launch_fails_without_a_secret_key(t: TestDb) -> TestDb {
        launch_fails(release_figment(&t)).await;
        t
    }

    async fn release_serves_no_dev_mailbox(t: TestDb) -> TestDb {
        let app = app_with(release_figment(&t).merge(("sigra.secret_key", SECRET))).await;
        assert!(app.state().dev_mailbox.is_none());
        assert_eq!(app.body("/dev/mailbox/json").await.0, Status::NotFound);
        assert_eq!(app.body("/dev/mailbox").await.0, Status::NotFound);
        // Asking for it without the danger setting is refused at launch; the danger
        // setting turns it on.
        launch_fails(
            release_figment(&t)
                .merge(("sigra.secret_key", SECRET))
                .merge(("sigra.dev_mailbox", true)),
        )
        .await;
        let danger = app_with(
            release_figment(&t)
                .merge(("sigra.secret_key", SECRET))
                .merge(("sigra.danger_dev_mailbox", true)),
        )
        .await;
        assert_eq!(danger.body("/dev/mailbox/json").await.0, Status::Ok);
        t
    }

    async fn release_cookies_are_secure_with_the_host_prefix(t: TestDb) -> TestDb {
        let app = app_with(
            release_figment(&t)
                .merge(("sigra.secret_key", SECRET))
                .merge(("sigra.danger_dev_mailbox", true)),
        )
        .await;
        let page = app
            .client
            .get("/users/log_in")
            .remote(crate::common::app::CLIENT)
            .dispatch()
            .await;
        let csrf_cookie = page
            .headers()
            .get("Set-Cookie")
            .find(|c| c.starts_with("__Host-sigra_csrf="))
            .map(str::to_owned);
        let html = page.into_string().await.unwrap();
        let csrf_cookie = csrf_cookie.expect("pre-session cookie has the __Host- prefix");
        assert!(csrf_cookie.contains("Secure"), "{csrf_cookie}");
        app.register("rel@example.com", PASSWORD).await;
        app.confirm_email("rel@example.com").await;
        let r = app
            .post(
                "/users/log_in",
                &[
                    ("_csrf", &csrf_in(&html)),
                    ("email", "rel@example.com"),
                    ("password", PASSWORD),
                    ("remember_me", "true"),
                ],
            )
            .await;
        assert_eq!(r.status(), Status::SeeOther);
        let cookies: Vec<String> = r.headers().get("Set-Cookie").map(str::to_owned).collect();
        for name in ["__Host-sigra_session=", "__Host-sigra_remember_me="] {
            let c = cookies
                .iter()
                .find(|c| c.starts_with(name))
                .unwrap_or_else(|| panic!("{name} in {cookies:?}"));
            assert!(c.contains("Secure") && c.contains("HttpOnly"), "{c}");
        }
        assert!(
            !cookies.iter().any(|c| c.starts_with("sigra_")),
            "no unprefixed cookie: {cookies:?}"
        );
        // `secure_cookies = false` alone is refused; only the danger setting turns it off.
        launch_fails(
            release_figment(&t)
                .merge(("sigra.secret_key", SECRET))
                .merge(("sigra.secure_cookies", false)),
        )
        .await;
        let insecure = app_with(
            release_figment(&t)
                .merge(("sigra.secret_key", SECRET))
                .merge(("sigra.danger_insecure_cookies", true)),
        )
        .await;
        let (_, _) = insecure.body("/users/log_in").await;
        assert!(insecure.cookie("sigra_csrf").is_some());
        t
    }
);
