//! Subdomains: one log-in serves every subdomain under `sigra.cookie_domain`, forms from
//! the subdomains listed in `sigra.trusted_origins` may post across them, log-out on
//! any of them ends it everywhere, and the default stays host-only.
//!
//! Rocket's local client sends every cookie it holds to every host, so these tests keep
//! cookies in a [`Browser`] that applies the rules a real browser does: the story would
//! otherwise pass with host-only cookies too.

use std::sync::{Arc, Mutex};

use rocket::figment::Figment;
use rocket::http::{ContentType, Cookie, Header, Status};
use rocket::local::asynchronous::{Client, LocalRequest};
use rocket::{get, routes};
use sigra_core::config::ConfigError;
use sigra_core::store::{sessions, users};
use sigra_core::{Clock, FixedClock, SigraConfig};
use sigra_rocket::{AuthenticatedUser, Sigra};
use time::macros::datetime;

use crate::common::TestDb;
use crate::common::app::{
    Answer, CLIENT, PASSWORD, SECRET, csrf_in, figment, form, release_figment,
};
use crate::release_profile::launch_fails;

const DOMAIN: &str = "sigra.localtest";
const APP: &str = "app.sigra.localtest";
const ADMIN: &str = "admin.sigra.localtest";
const APP_ORIGIN: &str = "https://app.sigra.localtest";
const ADMIN_ORIGIN: &str = "https://admin.sigra.localtest";

#[get("/whoami")]
fn whoami(user: AuthenticatedUser) -> String {
    format!("signed in as {}", user.email())
}

/// A browser's cookie store, reduced to the rules this feature relies on: a host-only
/// cookie goes back only to the host that set it, a `Domain` cookie to that domain and
/// its subdomains; a `__Host-` cookie with a `Domain`, a prefixed cookie without
/// `Secure`, or a `Domain` that does not cover the setting host is refused; a removal
/// deletes only the cookie with the same name and `Domain`.
#[derive(Default)]
struct Browser {
    jar: Mutex<Vec<Kept>>,
}

#[derive(Debug, Clone)]
struct Kept {
    name: String,
    value: String,
    /// `Some(domain)` for a domain cookie, `None` for a host-only one.
    domain: Option<String>,
    /// The host that set it.
    host: String,
}

fn covers(domain: &str, host: &str) -> bool {
    host == domain || host.ends_with(&format!(".{domain}"))
}

impl Browser {
    fn cookies_for(&self, host: &str) -> Vec<Cookie<'static>> {
        let jar = self.jar.lock().unwrap();
        jar.iter()
            .filter(|k| match &k.domain {
                Some(domain) => covers(domain, host),
                None => k.host == host,
            })
            .map(|k| Cookie::new(k.name.clone(), k.value.clone()))
            .collect()
    }

    fn has(&self, name: &str) -> bool {
        self.jar.lock().unwrap().iter().any(|k| k.name == name)
    }

    fn store(&self, host: &str, cookies: &[Cookie<'static>]) {
        let mut jar = self.jar.lock().unwrap();
        for c in cookies {
            let domain = c.domain().map(str::to_owned);
            let secure = c.secure() == Some(true);
            let refused = (c.name().starts_with("__Host-") && (domain.is_some() || !secure))
                || (c.name().starts_with("__Secure-") && !secure)
                || domain.as_deref().is_some_and(|d| !covers(d, host));
            if refused {
                continue;
            }
            let same = |k: &Kept| {
                k.name == c.name() && k.domain == domain && (domain.is_some() || k.host == host)
            };
            jar.retain(|k| !same(k));
            let removal = c.max_age().is_some_and(|age| age.is_zero()) || c.value().is_empty();
            if !removal {
                jar.push(Kept {
                    name: c.name().to_owned(),
                    value: c.value().to_owned(),
                    domain,
                    host: host.to_owned(),
                });
            }
        }
    }
}

/// One Sigra app answering every subdomain, and the browsers that visit it.
struct Site {
    client: Client,
    clock: FixedClock,
}

impl Site {
    async fn launch(figment: Figment) -> Site {
        let clock = FixedClock::new(datetime!(2026-06-01 09:00 UTC));
        let rocket = rocket::custom(figment)
            .attach(Sigra::with_clock(Arc::new(clock.clone())))
            .mount("/", routes![whoami]);
        let client = Client::untracked(rocket).await.expect("app launches");
        Site { client, clock }
    }

    fn prepare<'c>(
        &self,
        request: LocalRequest<'c>,
        browser: &Browser,
        host: &str,
    ) -> LocalRequest<'c> {
        let mut request = request
            .remote(CLIENT)
            .header(Header::new("Host", host.to_owned()));
        for cookie in browser.cookies_for(host) {
            request = request.cookie(cookie);
        }
        request
    }

    /// A page load: the browser sends its cookies for `host` and keeps what it is given.
    async fn get(&self, browser: &Browser, host: &str, path: &str) -> Answer {
        let request = self.prepare(self.client.get(path.to_owned()), browser, host);
        let answer = Answer::read(request.dispatch().await).await;
        browser.store(host, &answer.cookies);
        answer
    }

    /// A form posted to `host` by a page of `origin` (with the `Sec-Fetch-Site` a browser
    /// would send, when given).
    async fn post(
        &self,
        browser: &Browser,
        host: &str,
        (origin, fetch_site): (&str, Option<&str>),
        path: &str,
        fields: &[(&str, &str)],
    ) -> Answer {
        let mut request = self
            .prepare(self.client.post(path.to_owned()), browser, host)
            .header(ContentType::Form)
            .header(Header::new("Origin", origin.to_owned()))
            .body(form(fields));
        if let Some(site) = fetch_site {
            request = request.header(Header::new("Sec-Fetch-Site", site.to_owned()));
        }
        let answer = Answer::read(request.dispatch().await).await;
        browser.store(host, &answer.cookies);
        answer
    }

    /// Registers `email`, confirms it (remember-me is for confirmed accounts) and logs in
    /// on `host`, answering the log-in's response.
    async fn sign_up(
        &self,
        t: &TestDb,
        browser: &Browser,
        host: &str,
        email: &str,
        remember: bool,
    ) -> Answer {
        let origin = format!("https://{host}");
        let page = self.get(browser, host, "/users/log_in").await;
        let token = csrf_in(&page.body);
        let same = (origin.as_str(), Some("same-origin"));
        let fields = [
            ("_csrf", token.as_str()),
            ("email", email),
            ("password", PASSWORD),
        ];
        let registered = self
            .post(browser, host, same, "/users/register", &fields)
            .await;
        assert_eq!(registered.status, Status::Ok, "{}", registered.body);
        let user = users::find_by_email(&t.db, email).await.unwrap().unwrap();
        users::confirm(&t.db, user.id, self.clock.now())
            .await
            .unwrap();
        let mut fields = fields.to_vec();
        if remember {
            fields.push(("remember_me", "true"));
        }
        let logged_in = self
            .post(browser, host, same, "/users/log_in", &fields)
            .await;
        assert_eq!(logged_in.status, Status::SeeOther, "{}", logged_in.body);
        logged_in
    }

    /// The CSRF token of the settings page as served on `host`.
    async fn settings_token(&self, browser: &Browser, host: &str) -> String {
        let page = self.get(browser, host, "/users/settings").await;
        assert_eq!(page.status, Status::Ok, "settings on {host}");
        csrf_in(&page.body)
    }

    async fn live_sessions(&self, t: &TestDb, email: &str) -> usize {
        let user = users::find_by_email(&t.db, email).await.unwrap().unwrap();
        sessions::list_for_user(&t.db, user.id, self.clock.now())
            .await
            .unwrap()
            .len()
    }
}

/// The shared, secure configuration: `app` is the public host, cookies are scoped to
/// the parent domain and `admin` may post to `app`.
fn shared(t: &TestDb) -> Figment {
    figment(t)
        .merge(("sigra.public_url", APP_ORIGIN))
        .merge(("sigra.secure_cookies", true))
        .merge(("sigra.cookie_domain", DOMAIN))
        .merge(("sigra.trusted_origins", vec![ADMIN_ORIGIN]))
}

fn set_cookie<'a>(answer: &'a Answer, name: &str) -> &'a Cookie<'static> {
    answer
        .cookies
        .iter()
        .find(|c| c.name() == name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", answer.cookies))
}

fn config_error_key(figment: &Figment) -> String {
    match SigraConfig::from_figment(figment) {
        Err(ConfigError::Invalid { key, .. }) => key,
        other => panic!("configuration accepted: {other:?}"),
    }
}

conformance!(
    async fn a_log_in_on_one_subdomain_is_signed_in_on_every_other(t: TestDb) -> TestDb {
        let site = Site::launch(shared(&t)).await;
        let browser = Browser::default();
        let page = site.get(&browser, APP, "/users/log_in").await;
        let csrf = set_cookie(&page, "__Secure-sigra_csrf");
        assert_eq!(csrf.domain(), Some(DOMAIN), "{csrf}");
        assert_eq!(csrf.secure(), Some(true), "{csrf}");

        let logged_in = site
            .sign_up(&t, &browser, APP, "sub@example.com", true)
            .await;
        for name in ["__Secure-sigra_session", "__Secure-sigra_remember_me"] {
            let c = set_cookie(&logged_in, name);
            assert_eq!(c.domain(), Some(DOMAIN), "{c}");
            assert_eq!(c.secure(), Some(true), "{c}");
            assert_eq!(c.http_only(), Some(true), "{c}");
            assert!(c.to_string().contains(&format!("Domain={DOMAIN}")), "{c}");
        }
        assert!(
            !logged_in
                .cookies
                .iter()
                .any(|c| c.name().starts_with("__Host-")),
            "a __Host- cookie may not carry a Domain: {:?}",
            logged_in.cookies
        );

        // The same cookie, sent by the browser to the sibling host, is the same session.
        let admin = site.get(&browser, ADMIN, "/whoami").await;
        assert_eq!(admin.status, Status::Ok);
        assert_eq!(admin.body, "signed in as sub@example.com");
        assert_eq!(site.get(&browser, APP, "/whoami").await.status, Status::Ok);
        assert_eq!(site.live_sessions(&t, "sub@example.com").await, 1);
        // A host outside the domain never gets it.
        let outside = site
            .get(&browser, "app.elsewhere.localtest", "/whoami")
            .await;
        assert_ne!(outside.status, Status::Ok);
        t
    }

    async fn without_a_cookie_domain_the_log_in_stays_on_its_host(t: TestDb) -> TestDb {
        let site = Site::launch(
            figment(&t)
                .merge(("sigra.public_url", APP_ORIGIN))
                .merge(("sigra.secure_cookies", true)),
        )
        .await;
        let browser = Browser::default();
        let logged_in = site
            .sign_up(&t, &browser, APP, "host@example.com", false)
            .await;
        let session = set_cookie(&logged_in, "__Host-sigra_session");
        assert_eq!(session.domain(), None, "{session}");
        assert_eq!(site.get(&browser, APP, "/whoami").await.status, Status::Ok);
        assert_ne!(
            site.get(&browser, ADMIN, "/whoami").await.status,
            Status::Ok
        );
        t
    }

    async fn a_post_from_a_trusted_subdomain_is_accepted_and_from_any_other_refused(
        t: TestDb,
    ) -> TestDb {
        let site = Site::launch(shared(&t)).await;
        let browser = Browser::default();
        site.sign_up(&t, &browser, APP, "csrf@example.com", false)
            .await;
        let phone = Browser::default();
        let page = site.get(&phone, APP, "/users/log_in").await;
        let token = csrf_in(&page.body);
        let same = (APP_ORIGIN, Some("same-origin"));
        let fields = [
            ("_csrf", token.as_str()),
            ("email", "csrf@example.com"),
            ("password", PASSWORD),
        ];
        site.post(&phone, APP, same, "/users/log_in", &fields).await;
        assert_eq!(site.live_sessions(&t, "csrf@example.com").await, 2);

        // A page on admin (its token from the shared session) posts to app.
        let token = site.settings_token(&browser, ADMIN).await;
        let fields = [("_csrf", token.as_str())];
        let others = "/users/settings/sessions/others";
        for refused in [
            ("https://evil.sigra.localtest", Some("same-site")),
            ("https://evil.sigra.localtest", None),
            ("http://admin.sigra.localtest", Some("same-site")),
            (ADMIN_ORIGIN, Some("cross-site")),
            ("https://admin.evil.localtest", Some("cross-site")),
        ] {
            let r = site.post(&browser, APP, refused, others, &fields).await;
            assert_eq!(r.status, Status::Forbidden, "{refused:?}");
        }
        assert_eq!(site.live_sessions(&t, "csrf@example.com").await, 2);
        let r = site
            .post(
                &browser,
                APP,
                (ADMIN_ORIGIN, Some("same-site")),
                others,
                &fields,
            )
            .await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.body);
        assert_eq!(site.live_sessions(&t, "csrf@example.com").await, 1);
        assert_ne!(site.get(&phone, APP, "/whoami").await.status, Status::Ok);

        // Without the listing, the same post from admin is refused.
        let unlisted =
            Site::launch(shared(&t).merge(("sigra.trusted_origins", Vec::<String>::new()))).await;
        let browser = Browser::default();
        unlisted
            .sign_up(&t, &browser, APP, "unlisted@example.com", false)
            .await;
        let token = unlisted.settings_token(&browser, ADMIN).await;
        let fields = [("_csrf", token.as_str())];
        for fetch_site in [Some("same-site"), None] {
            let r = unlisted
                .post(&browser, APP, (ADMIN_ORIGIN, fetch_site), others, &fields)
                .await;
            assert_eq!(r.status, Status::Forbidden, "{fetch_site:?}");
        }
        t
    }

    async fn log_out_on_another_subdomain_removes_the_domain_cookies(t: TestDb) -> TestDb {
        let site = Site::launch(shared(&t)).await;
        let browser = Browser::default();
        site.sign_up(&t, &browser, APP, "out@example.com", true)
            .await;
        let token = site.settings_token(&browser, ADMIN).await;
        let out = site
            .post(
                &browser,
                ADMIN,
                (ADMIN_ORIGIN, Some("same-origin")),
                "/users/log_out",
                &[("_method", "DELETE"), ("_csrf", token.as_str())],
            )
            .await;
        assert_eq!(out.status, Status::SeeOther, "{}", out.body);
        for name in ["__Secure-sigra_session", "__Secure-sigra_remember_me"] {
            let removal = set_cookie(&out, name);
            assert_eq!(removal.value(), "", "{removal}");
            assert_eq!(removal.max_age(), Some(time::Duration::ZERO), "{removal}");
            // Without the same Domain, a browser would keep the cookie.
            assert_eq!(removal.domain(), Some(DOMAIN), "{removal}");
            assert!(!browser.has(name), "{name} left in the browser");
        }
        assert_eq!(site.live_sessions(&t, "out@example.com").await, 0);
        assert_ne!(site.get(&browser, APP, "/whoami").await.status, Status::Ok);
        assert_ne!(
            site.get(&browser, ADMIN, "/whoami").await.status,
            Status::Ok
        );
        t
    }

    async fn subdomain_settings_are_checked_at_launch_naming_the_key(t: TestDb) -> TestDb {
        for (key, value) in [
            ("sigra.cookie_domain", "elsewhere.localtest"),
            ("sigra.cookie_domain", "localtest"),
            ("sigra.cookie_domain", "https://sigra.localtest"),
            ("sigra.cookie_domain", "sigra.localtest:443"),
            ("sigra.cookie_domain", "10.0.0.1"),
        ] {
            let bad = shared(&t).merge((key, value));
            assert_eq!(config_error_key(&bad), key, "{value:?}");
            launch_fails(bad).await;
        }
        for origin in [
            "https://admin.sigra.localtest/",
            "admin.sigra.localtest",
            "ws://x.y",
        ] {
            let bad = shared(&t).merge(("sigra.trusted_origins", vec![origin]));
            assert_eq!(
                config_error_key(&bad),
                "sigra.trusted_origins",
                "{origin:?}"
            );
            launch_fails(bad).await;
        }
        // Plain HTTP origins pass in debug, and only on loopback in production.
        let http = vec!["http://admin.sigra.localtest"];
        Site::launch(shared(&t).merge(("sigra.trusted_origins", http.clone()))).await;
        let release = release_figment(&t)
            .merge(("sigra.secret_key", SECRET))
            .merge(("sigra.public_url", APP_ORIGIN))
            .merge(("sigra.cookie_domain", DOMAIN));
        let config = SigraConfig::from_figment(
            &release
                .clone()
                .merge(("sigra.trusted_origins", http.clone())),
        )
        .unwrap();
        match config.check_trusted_origins(true) {
            Err(ConfigError::Invalid { key, .. }) => assert_eq!(key, "sigra.trusted_origins"),
            other => panic!("http origin accepted in production: {other:?}"),
        }
        launch_fails(release.clone().merge(("sigra.trusted_origins", http))).await;
        Site::launch(release.merge(("sigra.trusted_origins", vec!["http://localhost:3000"]))).await;
        t
    }
);
