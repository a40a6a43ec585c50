//! JSON mode (DESIGN §4a): a script or a mobile app drives every flow through the same
//! routes as the pages, with JSON bodies, the CSRF token in `X-CSRF-Token`, `next` in
//! place of redirects and stable reasons for every refusal; and the OpenAPI document of
//! the mounted routes.

use std::sync::Arc;

use rocket::http::{ContentType, Method, Status};
use rocket::local::asynchronous::Client;
use rocket::{post, routes};
use serde_json::json;
use sigra_core::store::{sessions, users};
use sigra_core::{Clock, FixedClock};
use sigra_rocket::{ClientMeta, CsrfForm, Sigra};
use time::Duration;
use time::macros::datetime;

use crate::common::TestDb;
use crate::common::app::{CLIENT, PASSWORD, app, app_with, figment};
use crate::common::json::totp_code;

const NEW: &str = "a brand new passphrase 77";

conformance!(
    async fn a_script_registers_confirms_logs_in_passes_mfa_and_manages_the_account_in_json(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        let email = "spa@example.com";

        // Register: a bad address is refused field by field, a good one is told to confirm.
        let r = app
            .json(
                Method::Post,
                "/users/register",
                json!({ "email": "nope", "password": PASSWORD }),
            )
            .await;
        r.assert_refused(Status::UnprocessableEntity, "invalid_fields");
        assert_eq!(r.field_reason("email"), "email_invalid");
        assert!(users::find_by_email(&t.db, "nope").await.unwrap().is_none());
        let r = app
            .json(
                Method::Post,
                "/users/register",
                json!({ "email": email, "password": PASSWORD }),
            )
            .await;
        assert_eq!(r.assert_ok(Status::Ok)["next"], "/users/confirm");
        let user = users::find_by_email(&t.db, email).await.unwrap().unwrap();
        assert!(user.confirmed_at.is_none());

        // Confirm by code: a wrong code is refused, the mailed one confirms.
        let r = app
            .json(
                Method::Post,
                "/users/confirm",
                json!({ "email": email, "code": "000000" }),
            )
            .await;
        r.assert_refused(Status::UnprocessableEntity, "invalid_code");
        let mail = app.mails_to(email).await;
        let code = crate::common::app::code_in(&mail[0].text);
        let r = app
            .json(
                Method::Post,
                "/users/confirm",
                json!({ "email": email, "code": code }),
            )
            .await;
        assert_eq!(
            r.assert_ok(Status::Ok)["next"],
            "/users/log_in?notice=confirmed"
        );
        let user = users::find_by_email(&t.db, email).await.unwrap().unwrap();
        assert!(user.confirmed_at.is_some());

        // Log in.
        let r = app
            .json(
                Method::Post,
                "/users/log_in",
                json!({ "email": email, "password": "wrong password 1234" }),
            )
            .await;
        r.assert_refused(Status::Unauthorized, "invalid_credentials");
        let r = app
            .json(
                Method::Post,
                "/users/log_in",
                json!({ "email": email, "password": PASSWORD, "remember_me": true }),
            )
            .await;
        assert_eq!(r.assert_ok(Status::Ok)["next"], "/");
        let r = app.json_get("/users/settings").await;
        let body = r.assert_ok(Status::Ok);
        assert_eq!(body["email"], email);
        assert_eq!(body["mfa_enabled"], false);
        let listed = body["sessions"].as_array().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["current"], true);
        assert_eq!(listed[0]["remember_me"], true);

        // Sudo: a wrong password is refused.
        let r = app
            .json(
                Method::Post,
                "/users/sudo",
                json!({ "password": "wrong password 1234" }),
            )
            .await;
        r.assert_refused(Status::Unauthorized, "invalid_password");

        // Turn on the second factor: the secret comes back once, a wrong code is refused,
        // the right one answers ten backup codes.
        let r = app
            .json(Method::Post, "/users/settings/mfa/totp/setup", json!({}))
            .await;
        let body = r.assert_ok(Status::Ok);
        let secret = body["secret"].as_str().unwrap().to_owned();
        assert!(
            body["otpauth_uri"]
                .as_str()
                .unwrap()
                .starts_with("otpauth://totp/")
        );
        let r = app
            .json(
                Method::Post,
                "/users/settings/mfa/totp",
                json!({ "code": "000000" }),
            )
            .await;
        r.assert_refused(Status::UnprocessableEntity, "invalid_code");
        let r = app
            .json(
                Method::Post,
                "/users/settings/mfa/totp",
                json!({ "code": totp_code(&app, &secret) }),
            )
            .await;
        let body = r.assert_ok(Status::Ok);
        assert_eq!(body["enabled"], true);
        assert_eq!(body["backup_codes"].as_array().unwrap().len(), 10);
        let user = users::find_by_email(&t.db, email).await.unwrap().unwrap();
        assert!(user.mfa_enabled_at.is_some());
        let r = app.json_get("/users/settings/mfa").await;
        let body = r.assert_ok(Status::Ok);
        assert_eq!(body["backup_codes_left"], 10);
        assert!(
            body.get("secret").is_none(),
            "the secret is shown once: {body}"
        );

        // Log out with a real DELETE, then log in again: the second factor is owed.
        let r = app.json(Method::Delete, "/users/log_out", json!({})).await;
        r.assert_ok(Status::Ok);
        let now = app.clock.now();
        assert!(
            sessions::list_for_user(&t.db, user.id, now)
                .await
                .unwrap()
                .is_empty()
        );
        app.clock.advance(Duration::seconds(30));
        let r = app
            .json(
                Method::Post,
                "/users/log_in",
                json!({ "email": email, "password": PASSWORD }),
            )
            .await;
        let body = r.assert_ok(Status::Ok);
        assert_eq!(body["mfa_required"], true);
        assert_eq!(body["next"], "/users/mfa?return_to=%2F");
        app.json_get("/users/settings")
            .await
            .assert_refused(Status::Unauthorized, "mfa_required");
        let r = app
            .json(Method::Post, "/users/mfa", json!({ "code": "000000" }))
            .await;
        r.assert_refused(Status::Unauthorized, "invalid_mfa_code");
        let r = app
            .json(
                Method::Post,
                "/users/mfa",
                json!({ "code": totp_code(&app, &secret) }),
            )
            .await;
        assert_eq!(r.assert_ok(Status::Ok)["next"], "/");

        // Settings actions.
        let r = app
            .json(
                Method::Post,
                "/users/settings/password",
                json!({ "current_password": PASSWORD, "password": NEW, "password_confirmation": "something else" }),
            )
            .await;
        r.assert_refused(Status::UnprocessableEntity, "invalid_fields");
        assert_eq!(r.field_reason("password_confirmation"), "password_mismatch");
        let r = app
            .json(
                Method::Post,
                "/users/settings/password",
                json!({ "current_password": PASSWORD, "password": NEW, "password_confirmation": NEW }),
            )
            .await;
        assert_eq!(
            r.assert_ok(Status::Ok)["next"],
            "/users/settings?notice=password_changed"
        );
        let r = app
            .json(Method::Post, "/users/settings/sessions/others", json!({}))
            .await;
        r.assert_ok(Status::Ok);
        let r = app
            .json(Method::Post, "/users/settings/mfa/backup-codes", json!({}))
            .await;
        assert_eq!(
            r.assert_ok(Status::Ok)["backup_codes"]
                .as_array()
                .unwrap()
                .len(),
            10
        );
        let r = app.json_get("/users/settings/export").await;
        assert_eq!(r.status, Status::Ok);
        assert_eq!(r.body["account"]["email"], email, "{:?}", r.body);

        // Log out; the session is gone.
        app.json(Method::Delete, "/users/log_out", json!({}))
            .await
            .assert_ok(Status::Ok);
        app.json_get("/users/settings")
            .await
            .assert_refused(Status::Unauthorized, "not_authenticated");
        let now = app.clock.now();
        assert!(
            sessions::list_for_user(&t.db, user.id, now)
                .await
                .unwrap()
                .is_empty()
        );
        t
    }

    async fn a_json_request_needs_the_csrf_header_of_its_own_session(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("hdr@example.com").await;
        let body = json!({ "password": PASSWORD });
        // No token, and a token of another browser, are refused; nothing changes.
        app.json_with(Method::Post, "/users/sudo", body.clone(), None)
            .await
            .assert_refused(Status::Forbidden, "form_expired");
        let other = app.other_browser().await;
        let theirs = other.json_csrf().await;
        app.json_with(Method::Post, "/users/sudo", body.clone(), Some(&theirs))
            .await
            .assert_refused(Status::Forbidden, "form_expired");
        // A cross-site request with the right token is refused too.
        let token = app.json_csrf().await;
        let r = app
            .client
            .post("/users/sudo")
            .remote(CLIENT)
            .header(ContentType::JSON)
            .header(rocket::http::Header::new("Accept", "application/json"))
            .header(rocket::http::Header::new("X-CSRF-Token", token.clone()))
            .header(rocket::http::Header::new("Origin", "https://evil.example"))
            .body(body.to_string())
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Forbidden);
        // The header also serves a url-encoded form.
        let r = app
            .client
            .post("/users/sudo")
            .remote(CLIENT)
            .header(ContentType::Form)
            .header(rocket::http::Header::new("X-CSRF-Token", token.clone()))
            .body(format!("password={}", PASSWORD.replace(' ', "+")))
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::SeeOther);
        // And the right token works for JSON.
        app.json_with(Method::Post, "/users/sudo", body, Some(&token))
            .await
            .assert_ok(Status::Ok);
        t
    }

    async fn a_json_body_that_does_not_fit_is_refused_and_a_host_form_reads_json_too(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        app.signed_up("body@example.com").await;
        // A host route's `CsrfForm` reads the same JSON: a missing field is a 422, and
        // the fields arrive.
        let token = app.json_csrf().await;
        let danger = |body: serde_json::Value| {
            app.client
                .post("/danger")
                .remote(CLIENT)
                .header(ContentType::JSON)
                .header(rocket::http::Header::new("X-CSRF-Token", token.clone()))
                .body(body.to_string())
        };
        let r = danger(json!({ "note": "from a script" })).dispatch().await;
        assert_eq!(r.status(), Status::Ok);
        assert_eq!(
            r.into_string().await.unwrap(),
            "sudo ok for body@example.com from a script"
        );
        // Not an object, or nested arrays: the body cannot be read.
        for body in [json!(["a"]), json!({ "email": [["nested"]] })] {
            app.json(Method::Post, "/users/log_in", body)
                .await
                .assert_refused(Status::BadRequest, "bad_request");
        }
        // An object is one field holding its JSON text (a passkey's `credential`): an
        // email field holding one is simply not an account's address.
        app.json(
            Method::Post,
            "/users/log_in",
            json!({ "email": { "nested": 1 }, "password": "x" }),
        )
        .await
        .assert_refused(Status::Unauthorized, "invalid_credentials");
        // Arrays are repeated fields; numbers and booleans are their text.
        let r = app
            .json(
                Method::Post,
                "/users/register",
                json!({ "email": ["x@example.com"], "password": PASSWORD }),
            )
            .await;
        r.assert_ok(Status::Ok);
        assert!(
            users::find_by_email(&t.db, "x@example.com")
                .await
                .unwrap()
                .is_some()
        );
        t
    }

    async fn pages_answer_json_with_their_facts_and_dead_links_with_a_reason(t: TestDb) -> TestDb {
        let app = app(&t).await;
        for path in [
            "/users/log_in",
            "/users/register",
            "/users/reset-password",
            "/users/confirm",
        ] {
            let r = app.json_get(path).await;
            r.assert_ok(Status::Ok);
            assert_eq!(
                r.content_type.as_deref(),
                Some("application/json"),
                "{path}"
            );
        }
        for path in [
            "/users/confirm/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "/users/magic-link/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "/users/reset-password/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "/users/unlock/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "/users/settings/confirm-email/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            app.json_get(path)
                .await
                .assert_refused(Status::NotFound, "invalid_link");
            app.json(Method::Post, path, json!({}))
                .await
                .assert_refused(Status::NotFound, "invalid_link");
        }
        // A valid reset link, and the reset through it.
        app.signed_up("links@example.com").await;
        app.log_out().await;
        app.json(
            Method::Post,
            "/users/reset-password",
            json!({ "email": "links@example.com" }),
        )
        .await
        .assert_ok(Status::Ok);
        let link = app
            .link_for("links@example.com", "/users/reset-password/")
            .await;
        let r = app.json_get(&link).await;
        assert_eq!(r.assert_ok(Status::Ok)["valid"], true);
        let r = app
            .json(
                Method::Post,
                &link,
                json!({ "password": "short", "password_confirmation": "short" }),
            )
            .await;
        r.assert_refused(Status::UnprocessableEntity, "invalid_fields");
        assert_eq!(r.field_reason("password"), "password_too_short");
        let r = app
            .json(
                Method::Post,
                &link,
                json!({ "password": NEW, "password_confirmation": NEW }),
            )
            .await;
        assert_eq!(
            r.assert_ok(Status::Ok)["next"],
            "/users/log_in?notice=password_reset"
        );
        t
    }

    async fn the_openapi_document_lists_every_mounted_sigra_route_and_no_host_route(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        let r = app.json_get("/users/openapi.json").await;
        assert_eq!(r.status, Status::Ok);
        let doc = r.body;
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        let mut expected = 0;
        for route in app.client.rocket().routes() {
            let path = route.uri.path();
            let sigra = [
                "/users",
                "/organizations",
                "/admin",
                "/dev/",
                "/.well-known/",
            ];
            if !sigra.iter().any(|p| path.starts_with(p)) {
                continue;
            }
            expected += 1;
            let openapi = path
                .split('/')
                .map(
                    |s| match s.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
                        Some(name) => format!("{{{name}}}"),
                        None => s.to_owned(),
                    },
                )
                .collect::<Vec<_>>()
                .join("/");
            let op = &paths
                .get(&openapi)
                .unwrap_or_else(|| panic!("{openapi} missing from the document"))
                [route.method.as_str().to_lowercase()];
            assert!(op.is_object(), "{} {openapi} missing", route.method);
            assert_ne!(op["summary"], "Undocumented.", "{} {openapi}", route.method);
        }
        let listed: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(listed, expected, "exactly the mounted Sigra routes");
        assert!(
            !paths
                .keys()
                .any(|p| p.starts_with("/dashboard") || p.starts_with("/danger"))
        );
        // A state-changing operation documents its JSON body and the CSRF header.
        let log_in = &paths["/users/log_in"]["post"];
        assert_eq!(
            log_in["requestBody"]["content"]["application/json"]["schema"]["required"],
            json!(["email", "password"])
        );
        assert_eq!(log_in["security"], json!([{ "csrf": [] }]));
        // Each documents the success status it answers: 201 where something is made.
        let success = |path: &str, method: &str| -> Vec<String> {
            let responses = paths[path][method]["responses"].as_object().unwrap();
            responses
                .keys()
                .filter(|s| s.starts_with('2'))
                .cloned()
                .collect()
        };
        assert_eq!(success("/users/log_in", "post"), ["200"]);
        assert_eq!(success("/users/settings/api-keys", "post"), ["201"]);
        // The API token routes take JSON only, with no CSRF token; `me` takes a Bearer
        // credential or the session.
        let token = &paths["/users/api/token/refresh"]["post"];
        assert_eq!(token["security"], json!([{}]));
        let content = token["requestBody"]["content"].as_object().unwrap();
        assert_eq!(content.keys().collect::<Vec<_>>(), ["application/json"]);
        assert_eq!(
            paths["/users/api/me"]["get"]["security"],
            json!([{ "bearer": [] }, { "session": [] }])
        );
        assert!(paths["/.well-known/jwks.json"]["get"].is_object());
        assert_eq!(
            doc["components"]["securitySchemes"]["csrf"]["name"],
            "X-CSRF-Token"
        );
        t
    }

    async fn every_sigra_route_answers_a_json_request_in_json(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("sweep@example.com").await;
        let mut routes: Vec<(Method, String)> = app
            .client
            .rocket()
            .routes()
            .filter(|r| {
                let path = r.uri.path();
                path.starts_with("/users")
                    || path.starts_with("/organizations")
                    || path.starts_with("/dev/")
            })
            .filter(|r| !r.uri.path().starts_with("/users/assets/"))
            .map(|r| {
                let path = r
                    .uri
                    .path()
                    .replace("<id>", "0190d6a4-6d2b-7c3e-9a51-7d1c2f3e4a5b")
                    .replace("<provider>", "idp")
                    .replace("<slug>", "acme")
                    .replace("<token>", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
                (r.method, path)
            })
            .collect();
        // Reads first; the writes that end the session last.
        let last = |p: &str| p.ends_with("/log_out") || p.ends_with("/settings/delete");
        routes.sort_by_key(|(m, p)| (*m != Method::Get, last(p), p.clone()));
        assert!(routes.len() >= 40, "{routes:?}");
        for (method, path) in routes {
            let r = if method == Method::Get {
                app.json_get(&path).await
            } else {
                app.json(method, &path, json!({})).await
            };
            assert_eq!(
                r.content_type.as_deref(),
                Some("application/json"),
                "{method} {path}: {r:?}"
            );
            assert!(
                r.status.code < 300 || (400..500).contains(&r.status.code),
                "{method} {path}: {r:?}"
            );
        }
        t
    }

    async fn a_field_that_does_not_parse_answers_invalid_form_with_the_field(t: TestDb) -> TestDb {
        #[derive(rocket::FromForm)]
        struct Count {
            count: u8,
        }
        #[post("/count", data = "<form>")]
        fn count(form: CsrfForm<Count>) -> String {
            form.into_inner().count.to_string()
        }
        let rocket = rocket::custom(figment(&t))
            .attach(Sigra::with_clock(Arc::new(FixedClock::new(
                datetime!(2026-06-01 09:00 UTC),
            ))))
            .mount("/users", routes![count]);
        let client = Client::tracked(rocket).await.unwrap();
        let r = client.get("/users/csrf").remote(CLIENT).dispatch().await;
        let token = r.into_json::<serde_json::Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let send = |body: serde_json::Value| {
            client
                .post("/users/count")
                .remote(CLIENT)
                .header(ContentType::JSON)
                .header(rocket::http::Header::new("Accept", "application/json"))
                .header(rocket::http::Header::new("X-CSRF-Token", token.clone()))
                .body(body.to_string())
        };
        for (body, reason) in [(json!({ "count": 300 }), "invalid"), (json!({}), "missing")] {
            let r = send(body).dispatch().await;
            assert_eq!(r.status(), Status::UnprocessableEntity);
            let body: serde_json::Value = r.into_json().await.unwrap();
            assert_eq!(body["error"], "invalid_form", "{body}");
            assert_eq!(body["fields"]["count"][0]["reason"], reason, "{body}");
        }
        let r = send(json!({ "count": 7 })).dispatch().await;
        assert_eq!(r.into_string().await.unwrap(), "7");
        t
    }

    async fn taking_client_meta_does_not_rate_limit_a_host_route(t: TestDb) -> TestDb {
        #[post("/ping")]
        fn ping(meta: ClientMeta) -> String {
            meta.0.ip.unwrap_or_default()
        }
        let rocket = rocket::custom(figment(&t).merge(("sigra.rate_limit.enabled", true)))
            .attach(Sigra::with_clock(Arc::new(FixedClock::new(
                datetime!(2026-06-01 09:00 UTC),
            ))))
            .mount("/", routes![ping]);
        let client = Client::tracked(rocket).await.unwrap();
        for _ in 0..30 {
            let r = client.post("/ping").remote(CLIENT).dispatch().await;
            assert_eq!(r.status(), Status::Ok);
            assert_eq!(r.into_string().await.unwrap(), "203.0.113.7");
        }
        // Sigra's own POSTs still are limited.
        let limited = app_with(figment(&t).merge(("sigra.rate_limit.enabled", true))).await;
        let mut last = Status::Ok;
        for _ in 0..11 {
            last = limited
                .json(
                    Method::Post,
                    "/users/log_in",
                    json!({ "email": "a@example.com", "password": PASSWORD }),
                )
                .await
                .status;
        }
        assert_eq!(last, Status::TooManyRequests);
        t
    }
);
