//! The reason table (docs/reasons.md): every `GuardFailure` and every catcher answer is
//! listed with its status, and a JSON request that meets each one gets that reason and
//! status (DESIGN §4a).

use std::collections::BTreeMap;
use std::sync::Arc;

use rocket::http::{ContentType, Header, Method, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::{get, routes};
use serde_json::json;
use sigra_core::FixedClock;
use sigra_rocket::Sigra;
use sigra_rocket::guards::GuardFailure;
use time::Duration;
use time::macros::datetime;

use crate::common::TestDb;
use crate::common::app::{CLIENT, PASSWORD, app, app_with, figment, form, json_accept};
use crate::common::json::JsonAnswer;
use crate::mfa_totp::enrolled;

const TABLE: &str = include_str!("../docs/reasons.md");

/// reason → status column of docs/reasons.md.
fn table() -> BTreeMap<String, String> {
    TABLE
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_owned(), cells[2].to_owned())
        })
        .collect()
}

/// The status of a JSON failure and its `error`, after checking the §4a shape.
async fn reason_of(r: LocalResponse<'_>) -> (String, u16) {
    let status = r.status().code;
    let body: serde_json::Value = r.into_json().await.expect("a JSON body");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    let reason = body["error"].as_str().expect("an error reason").to_owned();
    (reason, status)
}

/// Answers the status it is asked for, under Sigra's base path: the catchers answer it.
#[get("/answer/<code>")]
fn answer(code: u16) -> Status {
    Status::new(code)
}

#[test]
fn every_guard_failure_is_in_the_reason_table_with_its_status() {
    let table = table();
    for failure in GuardFailure::ALL {
        let status = table.get(failure.reason());
        assert_eq!(
            status.map(String::as_str),
            Some(failure.status().code.to_string().as_str()),
            "{failure:?} ({}) in docs/reasons.md",
            failure.reason()
        );
    }
}

conformance!(
    async fn every_reason_in_the_table_is_answered_as_json_with_its_status(t: TestDb) -> TestDb {
        let mut seen: Vec<(String, u16)> = Vec::new();
        let app = app(&t).await;

        // Not logged in.
        seen.push(
            reason_of(
                app.client
                    .get("/dashboard")
                    .header(json_accept())
                    .dispatch()
                    .await,
            )
            .await,
        );
        // Logged in and unconfirmed; no second factor on.
        app.signed_up("reasons@example.com").await;
        seen.push(
            reason_of(
                app.client
                    .get("/confirmed")
                    .header(json_accept())
                    .dispatch()
                    .await,
            )
            .await,
        );
        seen.push(
            reason_of(
                app.client
                    .get("/mfa-only")
                    .header(json_accept())
                    .dispatch()
                    .await,
            )
            .await,
        );
        // A forged form.
        let r = app
            .client
            .post("/danger")
            .remote(CLIENT)
            .header(ContentType::Form)
            .header(json_accept())
            .body(form(&[("_csrf", "forged"), ("note", "x")]))
            .dispatch()
            .await;
        seen.push(reason_of(r).await);
        // Sudo window closed.
        app.clock.advance(Duration::minutes(15));
        seen.push(
            reason_of(
                app.client
                    .get("/danger")
                    .header(json_accept())
                    .dispatch()
                    .await,
            )
            .await,
        );
        // Deletion pending.
        app.log_in("reasons@example.com", PASSWORD, false).await;
        assert_eq!(
            app.submit("/users/settings/delete", &[]).await.status(),
            Status::Ok
        );
        app.log_in("reasons@example.com", PASSWORD, false).await;
        seen.push(
            reason_of(
                app.client
                    .get("/dashboard")
                    .header(json_accept())
                    .dispatch()
                    .await,
            )
            .await,
        );
        // Second factor owed.
        let mfa = app.other_browser().await;
        enrolled(&mfa, "reasons-mfa@example.com").await;
        mfa.log_out().await;
        mfa.clock.advance(Duration::seconds(30));
        mfa.log_in("reasons-mfa@example.com", PASSWORD, false).await;
        seen.push(
            reason_of(
                mfa.client
                    .get("/dashboard")
                    .header(json_accept())
                    .dispatch()
                    .await,
            )
            .await,
        );
        // Not found under the base path.
        seen.push(
            reason_of(
                app.client
                    .get("/users/no-such-page")
                    .header(json_accept())
                    .dispatch()
                    .await,
            )
            .await,
        );

        // Rate limited: the eleventh POST in a minute, with Retry-After.
        let limited = app_with(figment(&t).merge(("sigra.rate_limit.enabled", true))).await;
        for _ in 0..10 {
            let r = limited
                .client
                .post("/users/log_in")
                .remote(CLIENT)
                .header(ContentType::Form)
                .body("x=1")
                .dispatch()
                .await;
            assert_ne!(r.status(), Status::TooManyRequests);
        }
        let r = limited
            .client
            .post("/users/log_in")
            .remote(CLIENT)
            .header(ContentType::Form)
            .header(json_accept())
            .body("x=1")
            .dispatch()
            .await;
        assert!(
            r.headers()
                .get_one("Retry-After")
                .is_some_and(|s| s.parse::<u64>().is_ok())
        );
        seen.push(reason_of(r).await);

        // Statuses a route answers, through the same catchers.
        let rocket = rocket::custom(figment(&t))
            .attach(Sigra::with_clock(Arc::new(FixedClock::new(
                datetime!(2026-06-01 09:00 UTC),
            ))))
            .mount("/users", routes![answer]);
        let client = Client::tracked(rocket).await.unwrap();
        for code in [400, 403, 413, 422, 500, 503, 418] {
            let r = client
                .get(format!("/users/answer/{code}"))
                .header(json_accept())
                .dispatch()
                .await;
            if code == 503 {
                assert_eq!(r.headers().get_one("Retry-After"), Some("5"));
            }
            seen.push(reason_of(r).await);
        }
        let r = client
            .get("/users/answer/418")
            .header(Header::new("Accept", "text/html"))
            .dispatch()
            .await;
        assert_eq!(
            r.status(),
            Status::ImATeapot,
            "HTML gets a page with the same status"
        );

        // What the routes refuse, in JSON.
        let j = app.other_browser().await;
        let refusal = |a: JsonAnswer| (a.reason().to_owned(), a.status.code);
        let register = json!({ "email": "nope", "password": PASSWORD });
        seen.push(refusal(
            j.json(Method::Post, "/users/register", register).await,
        ));
        let log_in = json!({ "email": "x@example.com", "password": PASSWORD });
        seen.push(refusal(j.json(Method::Post, "/users/log_in", log_in).await));
        let confirm = json!({ "email": "x@example.com", "code": "000000" });
        seen.push(refusal(
            j.json(Method::Post, "/users/confirm", confirm).await,
        ));
        let dead = "/users/reset-password/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        seen.push(refusal(j.json_get(dead).await));
        j.signed_up("refusals@example.com").await;
        let sudo = json!({ "password": "not the password 1" });
        seen.push(refusal(j.json(Method::Post, "/users/sudo", sudo).await));
        // An email change whose new address another account takes meanwhile.
        j.confirm_email("refusals@example.com").await;
        let change = json!({ "email": "taken@example.com", "current_password": PASSWORD });
        j.json(Method::Post, "/users/settings/email", change)
            .await
            .assert_ok(Status::Ok);
        let link = j
            .link_for("taken@example.com", "/users/settings/confirm-email/")
            .await;
        let taker = j.other_browser().await;
        assert_eq!(
            taker.register("taken@example.com", PASSWORD).await.status(),
            Status::Ok
        );
        seen.push(refusal(j.json(Method::Post, &link, json!({})).await));
        // A wrong first code of an authenticator being enrolled.
        let fresh = j.other_browser().await;
        fresh.signed_up("refusals-code@example.com").await;
        let setup = "/users/settings/mfa/totp/setup";
        fresh
            .json(Method::Post, setup, json!({}))
            .await
            .assert_ok(Status::Ok);
        let wrong = json!({ "code": "000000" });
        let a = fresh
            .json(Method::Post, "/users/settings/mfa/totp", wrong.clone())
            .await;
        seen.push(refusal(a));
        // The challenge: a wrong code, then locked (with Retry-After).
        let mfa = j.other_browser().await;
        enrolled(&mfa, "refusals-mfa@example.com").await;
        mfa.log_out().await;
        mfa.clock.advance(Duration::seconds(30));
        mfa.log_in("refusals-mfa@example.com", PASSWORD, false)
            .await;
        seen.push(refusal(
            mfa.json(Method::Post, "/users/mfa", wrong.clone()).await,
        ));
        let mut locked = None;
        for _ in 0..10 {
            let a = mfa.json(Method::Post, "/users/mfa", wrong.clone()).await;
            if a.status == Status::TooManyRequests {
                locked = Some(a);
                break;
            }
        }
        let locked = locked.expect("the challenge locks after repeated wrong codes");
        assert!(
            locked
                .retry_after
                .as_deref()
                .is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n > 0)),
            "{locked:?}"
        );
        seen.push(refusal(locked));

        // API tokens: a bad Bearer token, a token without the route's scope, a dead
        // `mfa_token` and a dead refresh token.
        let api = app.other_browser().await;
        let bearer = |token: &str| Header::new("Authorization", format!("Bearer {token}"));
        seen.push(
            reason_of(
                api.client
                    .get("/users/api/me")
                    .header(bearer("x.y.z"))
                    .dispatch()
                    .await,
            )
            .await,
        );
        let now = sigra_core::Clock::now(&api.clock).unix_timestamp();
        let url = api.state().auth.config.public_url.clone();
        let claims = sigra_core::crypto::jwt::Claims {
            iss: url.clone(),
            aud: url,
            exp: now + 60,
            iat: now,
            nbf: now,
            sub: uuid::Uuid::nil(),
            jti: "reasons".into(),
            sid: uuid::Uuid::nil(),
            scope: "other".into(),
        };
        let scoped = api.state().auth.jwt.sign(&claims);
        seen.push(
            reason_of(
                api.client
                    .get("/api/invoices")
                    .header(bearer(&scoped))
                    .dispatch()
                    .await,
            )
            .await,
        );
        let dead = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        for (path, body) in [
            (
                "/users/api/token",
                json!({ "mfa_token": dead, "code": "000000" }),
            ),
            ("/users/api/token/refresh", json!({ "refresh_token": dead })),
        ] {
            let r = api
                .client
                .post(path)
                .remote(CLIENT)
                .header(ContentType::JSON)
                .body(body.to_string())
                .dispatch()
                .await;
            seen.push(reason_of(r).await);
        }

        // Passkeys (an app whose public URL is a domain).
        seen.extend(Box::pin(crate::passkeys::refusals_over_http(&t)).await);
        // Social log-in (a real OpenID provider on loopback).
        seen.extend(Box::pin(crate::oauth::refusals_over_http(&t)).await);
        // Organizations, memberships and invitations.
        seen.extend(Box::pin(crate::organizations::refusals_over_http(&t)).await);
        // The admin console and impersonation.
        // Each boxed: the test's future would overflow a debug build's stack.
        seen.extend(Box::pin(crate::admin::refusals_over_http(&t)).await);

        let table = table();
        for (reason, status) in &seen {
            let listed = table
                .get(reason)
                .unwrap_or_else(|| panic!("{reason} ({status}) is not in docs/reasons.md"));
            assert!(
                *listed == status.to_string() || (reason == "error" && listed == "any other"),
                "{reason}: answered {status}, table says {listed}"
            );
        }
        let answered: std::collections::BTreeSet<&str> =
            seen.iter().map(|(r, _)| r.as_str()).collect();
        let listed: std::collections::BTreeSet<&str> = table.keys().map(String::as_str).collect();
        assert_eq!(
            answered, listed,
            "every reason in the table is answered by some request"
        );
        for failure in GuardFailure::ALL {
            assert!(
                seen.contains(&(failure.reason().to_owned(), failure.status().code)),
                "{failure:?} answered {} {}",
                failure.reason(),
                failure.status().code
            );
        }
        t
    }
);
