//! New-device sign-in alert (`sigra.new_device_alert`): who gets a mail, what it says,
//! and the known-devices history behind it.

use rocket::http::Status;
use sigra_core::Clock;
use sigra_core::features::{
    RequestMeta, audit as actions, deletion, human_time, sessions as session_flows, trusted_browser,
};
use sigra_core::mail::StoredMail;
use sigra_core::store::{audit, sessions, users};
use time::Duration;

use crate::common::TestDb;
use crate::common::app::{Answer, PASSWORD, TestApp, app, app_with, cookie, figment};

const EMAIL: &str = "nd@example.com";
const FIREFOX_LINUX: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const FIREFOX_LINUX_NEWER: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const CHROME_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
const SAFARI_IOS: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const EDGE_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0";

/// New-device mails to [`EMAIL`], newest first.
async fn alerts(app: &TestApp) -> Vec<StoredMail> {
    app.mails_to(EMAIL)
        .await
        .into_iter()
        .filter(|m| m.subject.starts_with("New sign-in"))
        .collect()
}

/// Logs [`EMAIL`] in with its password from a fresh browser at `ip` running `user_agent`.
async fn log_in_from(app: &TestApp, ip: &str, user_agent: &str) {
    let browser = app.other_browser().await;
    let fields = [("email", EMAIL), ("password", PASSWORD)];
    let r = browser
        .form_from(ip, user_agent, "/users/log_in", &fields)
        .await
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::SeeOther);
}

conformance!(
    async fn a_sign_in_from_a_new_device_mails_the_owner_but_not_the_first_or_a_known_one(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        app.register(EMAIL, PASSWORD).await;
        log_in_from(&app, "203.0.113.7", FIREFOX_LINUX).await;
        assert!(
            alerts(&app).await.is_empty(),
            "the first log-in after registration is not news"
        );
        // The same browser family and OS from the same /24, in a fresh cookie jar.
        log_in_from(&app, "203.0.113.99", FIREFOX_LINUX_NEWER).await;
        assert!(alerts(&app).await.is_empty(), "a known device");

        // A phone on another network.
        log_in_from(&app, "198.51.100.23", SAFARI_IOS).await;
        let mails = alerts(&app).await;
        assert_eq!(mails.len(), 1);
        let when = human_time(app.clock.now());
        let html = mails[0].html.as_deref().unwrap();
        for part in [
            "Safari on iOS",
            "198.51.100.23",
            when.as_str(),
            "http://127.0.0.1:8000/users/settings",
        ] {
            assert!(mails[0].text.contains(part), "{part} in {}", mails[0].text);
            assert!(html.contains(part), "{part} in {html}");
        }
        let user = users::find_by_email(&t.db, EMAIL).await.unwrap().unwrap();
        let events = audit::list(
            &t.db,
            &audit::AuditFilter::for_user(user.id).action(actions::LOGIN_NEW_DEVICE),
        )
        .await
        .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].metadata.0["network"], "198.51.100.0/24");
        assert_eq!(events[0].ip.as_deref(), Some("198.51.100.23"));

        // The laptop's browser from another /24, and another browser on the laptop's
        // network, are new devices too.
        log_in_from(&app, "192.0.2.10", FIREFOX_LINUX).await;
        assert_eq!(alerts(&app).await.len(), 2);
        log_in_from(&app, "203.0.113.7", CHROME_LINUX).await;
        assert_eq!(alerts(&app).await.len(), 3);
        assert!(alerts(&app).await[0].text.contains("Chrome on Linux"));
        // The phone again: known now.
        log_in_from(&app, "198.51.100.23", SAFARI_IOS).await;
        assert_eq!(alerts(&app).await.len(), 3);

        // A magic link is a first factor too (here from an IPv6 network).
        app.submit("/users/magic-link", &[("email", EMAIL)]).await;
        let link = app.link_for(EMAIL, "/users/magic-link/").await;
        let browser = app.other_browser().await;
        let r = Answer::read(
            browser
                .form_from("2001:db8:1:2::5", EDGE_WINDOWS, &link, &[])
                .await
                .dispatch()
                .await,
        )
        .await;
        assert_eq!(r.status, Status::SeeOther);
        let mails = alerts(&app).await;
        assert_eq!(mails.len(), 4);
        assert!(
            mails[0].text.contains("Edge on Windows") && mails[0].text.contains("2001:db8:1:2::5"),
            "{}",
            mails[0].text
        );
        t
    }

    async fn a_trusted_browser_cookie_means_no_new_device_alert(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.register(EMAIL, PASSWORD).await;
        log_in_from(&app, "203.0.113.7", FIREFOX_LINUX).await;
        let user = users::find_by_email(&t.db, EMAIL).await.unwrap().unwrap();
        let trust = trusted_browser::trust_cookie(&app.state().auth, &user);

        let trusted = app.other_browser().await;
        let fields = [("email", EMAIL), ("password", PASSWORD)];
        let r = Answer::read(
            trusted
                .form_from("198.51.100.23", SAFARI_IOS, "/users/log_in", &fields)
                .await
                .cookie(cookie("sigra_trusted_browser", trust.expose()))
                .dispatch()
                .await,
        )
        .await;
        assert_eq!(r.status, Status::SeeOther);
        assert!(
            alerts(&app).await.is_empty(),
            "a browser the owner trusted is not new"
        );
        // Without the cookie, a new device is reported.
        log_in_from(&app, "192.0.2.10", EDGE_WINDOWS).await;
        assert_eq!(alerts(&app).await.len(), 1);
        t
    }

    async fn new_device_alert_off_sends_no_mail(t: TestDb) -> TestDb {
        let app = app_with(figment(&t).merge(("sigra.new_device_alert", false))).await;
        app.register(EMAIL, PASSWORD).await;
        log_in_from(&app, "203.0.113.7", FIREFOX_LINUX).await;
        log_in_from(&app, "198.51.100.23", SAFARI_IOS).await;
        assert!(alerts(&app).await.is_empty());
        let user = users::find_by_email(&t.db, EMAIL).await.unwrap().unwrap();
        let events = audit::list(
            &t.db,
            &audit::AuditFilter::for_user(user.id).action(actions::LOGIN_NEW_DEVICE),
        )
        .await
        .unwrap();
        assert!(events.is_empty());
        assert!(
            sessions::known_devices(&t.db, user.id)
                .await
                .unwrap()
                .is_empty(),
            "nothing recorded either"
        );
        t
    }

    async fn a_device_unused_for_91_days_is_new_again(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.register(EMAIL, PASSWORD).await;
        log_in_from(&app, "203.0.113.7", FIREFOX_LINUX).await;
        // 89 days later every session has expired, but the device is still known.
        app.clock.advance(Duration::days(89));
        log_in_from(&app, "203.0.113.7", FIREFOX_LINUX).await;
        assert!(alerts(&app).await.is_empty());
        app.clock.advance(Duration::days(91));
        log_in_from(&app, "203.0.113.7", FIREFOX_LINUX).await;
        assert_eq!(alerts(&app).await.len(), 1, "91 days unused: new again");
        let user = users::find_by_email(&t.db, EMAIL).await.unwrap().unwrap();
        let known = sessions::known_devices(&t.db, user.id).await.unwrap();
        assert_eq!(known.len(), 1);
        assert_eq!(known[0].last_seen_at, app.clock.now());
        t
    }

    async fn deleting_an_account_removes_its_known_devices(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up(EMAIL).await;
        log_in_from(&app, "198.51.100.23", SAFARI_IOS).await;
        let user = users::find_by_email(&t.db, EMAIL).await.unwrap().unwrap();
        assert_eq!(
            sessions::known_devices(&t.db, user.id).await.unwrap().len(),
            2
        );
        let auth = &app.state().auth;
        let me = session_flows::authenticate(auth, &app.cookie("sigra_session").unwrap())
            .await
            .unwrap()
            .unwrap();
        deletion::schedule_deletion(auth, &me, &RequestMeta::default())
            .await
            .unwrap();
        app.clock.advance(Duration::days(15));
        assert_eq!(deletion::execute_due(auth).await.unwrap(), 1);
        assert!(
            sessions::known_devices(&t.db, user.id)
                .await
                .unwrap()
                .is_empty(),
            "anonymized accounts keep no devices"
        );
        t
    }
);
