//! Sessions: what a remember-me restore issues survives error answers, signed-in
//! responses are never cached, and the sessions a flow replaces end everywhere.

use rocket::http::Status;
use time::Duration;

use crate::common::TestDb;
use crate::common::app::{CLIENT, PASSWORD, app, app_with, cookie, figment, location};
use crate::mfa_totp::{code, enrolled};

conformance!(
    async fn remember_me_cookies_survive_an_error_answer(t: TestDb) -> TestDb {
        // An account with a second factor: a restored session owes it, so the first
        // request answers with the guard's 401 (a redirect to the challenge). Rocket
        // drops cookies set before a catcher runs; Sigra sets them again.
        let app = app(&t).await;
        let (secret, _) = enrolled(&app, "rm@example.com").await;
        app.confirm_email("rm@example.com").await;
        app.log_out().await;
        app.clock.advance(Duration::seconds(30));
        app.log_in("rm@example.com", PASSWORD, true).await;
        let remember = app.cookie("sigra_remember_me").expect("remember-me cookie");
        assert_eq!(
            app.submit("/users/mfa", &[("code", &code(&app, &secret, 0))])
                .await
                .status(),
            Status::SeeOther
        );

        let browser = app.other_browser().await;
        let r = browser
            .client
            .get("/dashboard")
            .remote(CLIENT)
            .cookie(cookie("sigra_remember_me", &remember))
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::SeeOther);
        assert_eq!(location(&r), "/users/mfa?return_to=%2Fdashboard");
        let set: Vec<String> = r.headers().get("Set-Cookie").map(str::to_owned).collect();
        assert!(
            set.iter().any(|c| c.starts_with("sigra_session=")),
            "{set:?}"
        );
        assert!(
            set.iter()
                .any(|c| c.starts_with("sigra_remember_me=") && !c.contains(&remember)),
            "{set:?}"
        );
        drop(r);
        let (status, html) = browser.body("/users/mfa?return_to=%2Fdashboard").await;
        assert_eq!(
            status,
            Status::Ok,
            "lands on the challenge, not the log-in page"
        );
        assert!(html.contains("name=\"code\""), "{html}");

        // Without a second factor: the first request goes to a SudoUser route (403).
        let plain = app_with(figment(&t)).await;
        plain.signed_up("rs@example.com").await;
        plain.confirm_email("rs@example.com").await;
        plain.log_out().await;
        plain.log_in("rs@example.com", PASSWORD, true).await;
        let remember = plain.cookie("sigra_remember_me").unwrap();
        let browser = plain.other_browser().await;
        let r = browser
            .client
            .get("/danger")
            .remote(CLIENT)
            .cookie(cookie("sigra_remember_me", &remember))
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::SeeOther);
        assert!(location(&r).starts_with("/users/sudo"), "{}", location(&r));
        drop(r);
        let (status, html) = browser.body("/users/sudo?return_to=%2Fdanger").await;
        assert_eq!(status, Status::Ok, "still signed in");
        assert!(html.contains("name=\"password\""));
        assert_eq!(browser.body("/dashboard").await.0, Status::Ok);
        t
    }

    async fn signed_in_responses_are_never_cached(t: TestDb) -> TestDb {
        let app = app(&t).await;
        let anonymous = app.client.get("/maybe").remote(CLIENT).dispatch().await;
        assert_eq!(
            anonymous.headers().get_one("Cache-Control"),
            None,
            "nothing to protect"
        );
        drop(anonymous);
        app.signed_up("nc@example.com").await;
        for path in ["/dashboard", "/maybe"] {
            let r = app.client.get(path).remote(CLIENT).dispatch().await;
            assert_eq!(r.status(), Status::Ok);
            assert_eq!(
                r.headers().get_one("Cache-Control"),
                Some("no-store"),
                "{path}"
            );
        }
        let off = app_with(figment(&t).merge(("sigra.session.no_store", false))).await;
        off.signed_up("nc2@example.com").await;
        let r = off.client.get("/dashboard").remote(CLIENT).dispatch().await;
        assert_eq!(r.status(), Status::Ok);
        assert_eq!(
            r.headers().get_one("Cache-Control"),
            None,
            "configurable off"
        );
        t
    }
);
