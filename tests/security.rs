//! Security across features: CSRF on every state-changing route, open redirects, escaping, headers, config,
//! sentinels and the dev mailbox.

use rocket::http::{ContentType, Header, Method, Status};
use sigra_core::store::users;

use crate::common::TestDb;
use crate::common::app::{Answer, PASSWORD, app, app_with, figment, form, location};

/// Every state-changing route Sigra mounts, with a concrete path (also swept with random
/// bodies by `properties.rs`).
pub(crate) fn state_changing_routes(app: &crate::common::app::TestApp) -> Vec<(Method, String)> {
    let mounted: Vec<_> = app
        .client
        .rocket()
        .routes()
        .filter(|r| r.method != Method::Get && r.method != Method::Head)
        .filter(|r| {
            let path = r.uri.path();
            path.starts_with("/users")
                || path.starts_with("/organizations")
                || path.starts_with("/admin")
                || path.starts_with("/danger")
        })
        .collect();
    crate::common::app::assert_exact_routes(
        mounted
            .iter()
            .map(|r| (r.method.to_string(), r.uri.path().to_string())),
        crate::common::app::SIGRA_STATE_CHANGING_ROUTES
            .iter()
            .chain(&[("POST", "/danger")]),
    );
    let exempt = crate::common::app::CSRF_EXEMPT_ROUTES;
    let routes: Vec<_> = mounted
        .iter()
        .filter(|r| {
            let (method, path) = (r.method.as_str(), r.uri.path().to_string());
            !exempt.iter().any(|(m, p)| *m == method && *p == path)
        })
        .map(|r| {
            let path = r
                .uri
                .path()
                .to_string()
                .replace("<id>", "0190d6a4-6d2b-7c3e-9a51-7d1c2f3e4a5b")
                .replace("<user_id>", "0190d6a4-6d2b-7c3e-9a51-7d1c2f3e4a5b")
                .replace("<action>", "lock")
                .replace("<session_id>", "0190d6a4-6d2b-7c3e-9a51-7d1c2f3e4a5b")
                .replace("<provider>", "idp")
                .replace("<slug>", "acme")
                .replace("<token>", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
            (r.method, path)
        })
        .collect();
    routes
}

async fn attempt(
    app: &crate::common::app::TestApp,
    method: Method,
    path: &str,
    csrf: Option<&str>,
    extra: Option<Header<'static>>,
) -> Status {
    let mut fields: Vec<(&str, &str)> = Vec::new();
    // A form sends another method as `_method` (Rocket's override).
    if method != Method::Post {
        fields.push(("_method", method.as_str()));
    }
    if let Some(token) = csrf {
        fields.push(("_csrf", token));
    }
    fields.push(("email", "x@example.com"));
    fields.push(("password", PASSWORD));
    let mut req = app
        .client
        .post(path.to_owned())
        .header(ContentType::Form)
        .body(form(&fields));
    if let Some(h) = extra {
        req = req.header(h);
    }
    req.dispatch().await.status()
}

conformance!(
    async fn every_state_changing_route_rejects_a_missing_or_wrong_csrf_token(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("csrf@example.com").await;
        let good = app.csrf().await;
        let mut wrong = good.clone().into_bytes();
        wrong[0] = if wrong[0] == b'A' { b'B' } else { b'A' };
        let wrong = String::from_utf8(wrong).unwrap();
        for (method, path) in state_changing_routes(&app) {
            assert_eq!(
                attempt(&app, method, &path, None, None).await,
                Status::Forbidden,
                "{method} {path} without token"
            );
            assert_eq!(
                attempt(&app, method, &path, Some(&wrong), None).await,
                Status::Forbidden,
                "{method} {path} wrong token"
            );
            assert_eq!(
                attempt(&app, method, &path, Some("garbage!"), None).await,
                Status::Forbidden,
                "{method} {path} garbage"
            );
            let evil = Header::new("Origin", "https://evil.example");
            assert_eq!(
                attempt(&app, method, &path, Some(&good), Some(evil)).await,
                Status::Forbidden,
                "{method} {path} cross origin"
            );
            let null = Header::new("Origin", "null");
            assert_eq!(
                attempt(&app, method, &path, Some(&good), Some(null)).await,
                Status::Forbidden,
                "{method} {path} null origin"
            );
            let site = Header::new("Sec-Fetch-Site", "cross-site");
            assert_eq!(
                attempt(&app, method, &path, Some(&good), Some(site)).await,
                Status::Forbidden,
                "{method} {path} cross site"
            );
        }
        // Still logged in: nothing above changed state.
        assert_eq!(app.body("/dashboard").await.0, Status::Ok);
        t
    }

    async fn a_token_from_another_session_is_refused(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("one@example.com").await;
        let other = app.other_browser().await;
        other.signed_up("two@example.com").await;
        let foreign = other.csrf().await;
        let r = app
            .post_owned(
                "/users/log_out",
                &[("_method", "DELETE"), ("_csrf", &foreign)],
            )
            .await;
        assert_eq!(r.status, Status::Forbidden);
        assert_eq!(app.body("/dashboard").await.0, Status::Ok);
        t
    }

    async fn return_to_never_leaves_the_site(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.register("rt@example.com", PASSWORD).await;
        for evil in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "javascript:alert(1)",
        ] {
            let token = app.csrf().await;
            let r = app
                .post_owned(
                    "/users/log_in",
                    &[
                        ("_csrf", &token),
                        ("email", "rt@example.com"),
                        ("password", PASSWORD),
                        ("return_to", evil),
                    ],
                )
                .await;
            assert_eq!(r.status, Status::SeeOther, "{evil}");
            assert_eq!(r.location, "/", "{evil}");
            let r = Answer::read(
                app.client
                    .get(format!(
                        "/users/log_in?return_to={}",
                        form(&[("x", evil)]).trim_start_matches("x=")
                    ))
                    .dispatch()
                    .await,
            )
            .await;
            assert_eq!(r.location, "/", "already logged in: {evil}");
            let r = app
                .submit_owned(
                    &format!(
                        "/users/sudo?return_to={}",
                        form(&[("x", evil)]).trim_start_matches("x=")
                    ),
                    &[("password", PASSWORD)],
                )
                .await;
            assert_eq!(r.location, "/users/settings", "sudo {evil}");
            app.log_out().await;
        }
        let token = app.csrf().await;
        let r = app
            .post(
                "/users/log_in",
                &[
                    ("_csrf", &token),
                    ("email", "rt@example.com"),
                    ("password", PASSWORD),
                    ("return_to", "/dashboard?x=1"),
                ],
            )
            .await;
        assert_eq!(
            location(&r),
            "/dashboard?x=1",
            "a local return_to is honoured"
        );
        t
    }

    async fn script_in_an_email_renders_escaped_in_default_and_overridden_pages(
        t: TestDb,
    ) -> TestDb {
        let script = "<script>alert(1)</script>@example.com";
        let default = app(&t).await;
        let r = default.register(script, PASSWORD).await;
        assert_eq!(r.status(), Status::UnprocessableEntity);
        let html = r.into_string().await.unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"));

        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/templates");
        let overridden = app_with(figment(&t).merge(("template_dir", fixtures))).await;
        let (_, page) = overridden.body("/users/register").await;
        assert!(
            page.contains("Host registration page"),
            "the host file replaced the default"
        );
        let r = overridden.register(script, PASSWORD).await;
        let html = r.into_string().await.unwrap();
        assert!(html.contains("Host registration page"));
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;@example.com")
                || html.contains("&lt;script&gt;alert(1)&lt;/script&gt;@example.com"),
            "{html}"
        );
        assert!(users::find_by_email(&t.db, script).await.unwrap().is_none());
        t
    }

    async fn sigra_pages_carry_security_headers(t: TestDb) -> TestDb {
        let app = app(&t).await;
        for path in ["/users/log_in", "/users/register", "/users/nope"] {
            let r = app.client.get(path).dispatch().await;
            let h = r.headers();
            let csp = h.get_one("Content-Security-Policy").unwrap_or_default();
            assert!(
                csp.contains("frame-ancestors 'none'")
                    && !csp.contains("unsafe-inline")
                    && csp.contains("default-src 'none'"),
                "{path}: {csp}"
            );
            assert_eq!(
                h.get_one("X-Content-Type-Options"),
                Some("nosniff"),
                "{path}"
            );
            assert_eq!(h.get_one("Referrer-Policy"), Some("no-referrer"), "{path}");
            assert_eq!(h.get_one("Cache-Control"), Some("no-store"), "{path}");
        }
        let r = app.client.get("/users/nope").dispatch().await;
        assert_eq!(r.status(), Status::NotFound);
        let r = app.client.get("/users/assets/sigra.css").dispatch().await;
        assert_eq!(r.status(), Status::Ok);
        assert_eq!(r.content_type(), Some(ContentType::CSS));
        t
    }

    async fn cookies_are_http_only_and_lax(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.register("ck@example.com", PASSWORD).await;
        app.confirm_email("ck@example.com").await;
        let token = app.csrf().await;
        let r = app
            .post(
                "/users/log_in",
                &[
                    ("_csrf", &token),
                    ("email", "ck@example.com"),
                    ("password", PASSWORD),
                    ("remember_me", "true"),
                ],
            )
            .await;
        let cookies: Vec<String> = r.headers().get("Set-Cookie").map(str::to_owned).collect();
        assert!(
            cookies.iter().any(|c| c.starts_with("sigra_session=")),
            "{cookies:?}"
        );
        for c in cookies.iter().filter(|c| c.starts_with("sigra_")) {
            assert!(
                c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Path=/"),
                "{c}"
            );
        }
        assert!(
            cookies
                .iter()
                .any(|c| c.starts_with("sigra_remember_me=") && c.contains("Max-Age=2592000")),
            "{cookies:?}"
        );
        t
    }

    async fn secure_cookies_use_the_host_prefix(t: TestDb) -> TestDb {
        let app = app_with(figment(&t).merge(("sigra.secure_cookies", true))).await;
        app.register("sc@example.com", PASSWORD).await;
        let (_, html) = app.body("/users/log_in").await;
        assert!(app.cookie("__Host-sigra_csrf").is_some());
        let token = crate::common::app::csrf_in(&html);
        let r = app
            .post(
                "/users/log_in",
                &[
                    ("_csrf", &token),
                    ("email", "sc@example.com"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        let cookie = r
            .headers()
            .get("Set-Cookie")
            .find(|c| c.starts_with("__Host-sigra_session="))
            .unwrap()
            .to_owned();
        assert!(cookie.contains("Secure"), "{cookie}");
        t
    }

    async fn the_security_headers_fairing_covers_host_pages_and_keeps_a_routes_own_policy(
        t: TestDb,
    ) -> TestDb {
        let launch = |with_headers: bool| {
            let mut rocket = rocket::custom(figment(&t))
                .attach(sigra_rocket::Sigra::fairing())
                .mount("/", rocket::routes![host_page, host_page_with_policy]);
            if with_headers {
                rocket = rocket.attach(sigra_rocket::Sigra::security_headers());
            }
            rocket::local::asynchronous::Client::tracked(rocket)
        };
        let client = launch(true).await.unwrap();
        let r = client.get("/host").dispatch().await;
        let h = r.headers();
        let csp = h.get_one("Content-Security-Policy").unwrap_or_default();
        assert!(
            csp.contains("default-src 'self'")
                && csp.contains("script-src 'self'")
                && csp.contains("frame-ancestors 'none'")
                && csp.contains("form-action 'self'")
                && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(h.get_one("X-Content-Type-Options"), Some("nosniff"));
        assert_eq!(h.get_one("X-Frame-Options"), Some("DENY"));
        assert_eq!(
            h.get_one("Referrer-Policy"),
            Some("strict-origin-when-cross-origin")
        );
        // A route that sets its own policy keeps it.
        let r = client.get("/host/embed").dispatch().await;
        assert_eq!(
            r.headers().get_one("Content-Security-Policy"),
            Some("frame-ancestors https://partner.example")
        );
        // Sigra's pages keep their stricter policy with the fairing attached.
        let r = client.get("/users/log_in").dispatch().await;
        let csp = r
            .headers()
            .get_one("Content-Security-Policy")
            .unwrap_or_default();
        assert!(csp.starts_with("default-src 'none'"), "{csp}");
        assert_eq!(r.headers().get_one("Referrer-Policy"), Some("no-referrer"));
        // Opt-in: without the fairing, the host's pages are the host's business.
        let client = launch(false).await.unwrap();
        let r = client.get("/host").dispatch().await;
        assert_eq!(r.headers().get_one("Content-Security-Policy"), None);
        t
    }

    async fn bad_config_fails_launch(t: TestDb) -> TestDb {
        for bad in [
            figment(&t).merge(("sigra.session.idle_timeout_secs", 5)),
            figment(&t).merge(("sigra.base_pth", "/x")),
        ] {
            let rocket = rocket::custom(bad).attach(sigra_rocket::Sigra::fairing());
            let Err(err) = rocket.ignite().await else {
                panic!("launch fails")
            };
            assert!(
                matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(f) if f[0].name == "Sigra"),
                "{err:?}"
            );
        }
        t
    }

    async fn the_dev_mailbox_lists_mail_as_json_and_html(t: TestDb) -> TestDb {
        let app = app(&t).await;
        assert_eq!(
            app.register("mb@example.com", PASSWORD).await.status(),
            Status::Ok
        );
        app.mails_to("mb@example.com").await;
        let r = app.client.get("/dev/mailbox/json").dispatch().await;
        assert_eq!(r.status(), Status::Ok);
        let mails: serde_json::Value = r.into_json().await.unwrap();
        let first = &mails[0];
        assert_eq!(first["to"][0], "mb@example.com");
        for key in ["id", "subject", "text", "html", "sent_at"] {
            assert!(first.get(key).is_some(), "{key}");
        }
        let (status, html) = app.body("/dev/mailbox").await;
        assert_eq!(status, Status::Ok);
        assert!(html.contains("mb@example.com"));
        let off = app_with(figment(&t).merge(("sigra.dev_mailbox", false))).await;
        assert_eq!(off.body("/dev/mailbox/json").await.0, Status::NotFound);
        t
    }
);

#[rocket::get("/host")]
fn host_page() -> rocket::response::content::RawHtml<&'static str> {
    rocket::response::content::RawHtml("<p>The host's own page</p>")
}

/// A page with a header of its own.
#[derive(rocket::Responder)]
struct WithPolicy(&'static str, rocket::http::Header<'static>);

/// A host page that may be framed by a partner: it sets its own policy.
#[rocket::get("/host/embed")]
fn host_page_with_policy() -> WithPolicy {
    WithPolicy(
        "embeddable",
        rocket::http::Header::new(
            "Content-Security-Policy",
            "frame-ancestors https://partner.example",
        ),
    )
}

#[rocket::get("/needs-sigra")]
fn needs_sigra(user: sigra_rocket::AuthenticatedUser) -> String {
    user.email().to_owned()
}

#[tokio::test]
async fn a_guard_without_the_fairing_fails_at_launch() {
    let rocket =
        rocket::custom(rocket::Config::debug_default()).mount("/", rocket::routes![needs_sigra]);
    let Err(err) = rocket.ignite().await else {
        panic!("the Sentinel aborts launch")
    };
    assert!(
        matches!(err.kind(), rocket::error::ErrorKind::SentinelAborts(_)),
        "{err:?}"
    );
}
