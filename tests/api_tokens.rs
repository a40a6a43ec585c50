//! API tokens: a JSON log-in answers an Ed25519 JWT access token and a refresh token;
//! the refresh family is a session; refresh tokens rotate and a replayed one ends the
//! family; forged, expired and foreign access tokens answer 401 with a Bearer challenge;
//! `Scoped` routes refuse a token without their scope; key rotation keeps old tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rocket::http::{ContentType, Header, Method, Status};
use serde_json::{Value, json};
use sigra_core::Clock;
use sigra_core::crypto::jwt::Claims;
use sigra_core::crypto::keys::hmac_sha256;
use sigra_core::crypto::{JwtKeys, Keys};
use sigra_core::features::audit::{self, AuditFilter};
use sigra_core::jobs::RetentionSweep;
use sigra_core::store::{sessions, users};
use time::Duration;
use uuid::Uuid;

use crate::common::TestDb;
use crate::common::app::{CLIENT, PASSWORD, SECRET, TestApp, app, app_with, figment};
use crate::common::json::JsonAnswer;
use crate::mfa_totp::{code, enrolled};

async fn token(app: &TestApp, body: Value) -> JsonAnswer {
    app.api(Method::Post, "/users/api/token", Some(body), None)
        .await
}

async fn log_in(app: &TestApp, email: &str) -> JsonAnswer {
    let r = token(app, json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    r
}

async fn refresh(app: &TestApp, refresh_token: &str) -> JsonAnswer {
    let body = json!({ "refresh_token": refresh_token });
    let path = "/users/api/token/refresh";
    app.api(Method::Post, path, Some(body), None).await
}

async fn me(app: &TestApp, access_token: &str) -> JsonAnswer {
    app.api(Method::Get, "/users/api/me", None, Some(access_token))
        .await
}

fn text<'a>(r: &'a JsonAnswer, key: &str) -> &'a str {
    r.body[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {r:?}"))
}

/// The claims of a token, read without verifying it.
fn claims_of(jwt: &str) -> Claims {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Asserts the RFC 6750 refusal: 401, a Bearer challenge, JSON `invalid_token`, no cookie.
fn assert_refused_token(r: &JsonAnswer, what: &str) {
    assert_eq!(r.status, Status::Unauthorized, "{what}: {r:?}");
    assert_eq!(
        r.challenge.as_deref(),
        Some(r#"Bearer error="invalid_token""#),
        "{what}"
    );
    assert_eq!(r.body["error"], "invalid_token", "{what}: {r:?}");
    assert!(r.cookies.is_empty(), "{what}: {r:?}");
}

async fn user_id(t: &TestDb, email: &str) -> Uuid {
    users::find_by_email(&t.db, email)
        .await
        .unwrap()
        .unwrap()
        .id
}

conformance!(
    async fn a_password_log_in_answers_tokens_that_reach_the_api_without_cookie_or_csrf(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        app.signed_up("api@example.com").await;
        let id = user_id(&t, "api@example.com").await;

        let wrong = token(
            &app,
            json!({ "email": "api@example.com", "password": "not the password at all" }),
        )
        .await;
        assert_eq!(wrong.status, Status::Unauthorized, "{wrong:?}");
        assert_eq!(wrong.body["error"], "invalid_credentials");
        let unknown = token(
            &app,
            json!({ "email": "nobody@example.com", "password": PASSWORD }),
        )
        .await;
        assert_eq!(unknown.body, wrong.body, "unknown and wrong answer alike");

        // A cross-site origin and no CSRF token: nothing to forge without a cookie.
        let client = app.other_browser().await;
        let r = client
            .client
            .post("/users/api/token")
            .remote(CLIENT)
            .header(ContentType::JSON)
            .header(Header::new("Origin", "https://evil.example"))
            .header(Header::new("Sec-Fetch-Site", "cross-site"))
            .body(json!({ "email": "api@example.com", "password": PASSWORD }).to_string())
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Ok);
        assert_eq!(r.headers().get("Set-Cookie").count(), 0, "sets no cookie");
        let issued: Value = r.into_json().await.unwrap();
        assert_eq!(issued["token_type"], "Bearer");
        assert_eq!(issued["expires_in"], 900);
        let access = issued["access_token"].as_str().unwrap();
        assert_eq!(issued["refresh_token"].as_str().unwrap().len(), 43);
        let claims = claims_of(access);
        assert_eq!(claims.sub, id);
        assert_eq!(claims.exp - claims.iat, 900);
        assert_eq!(claims.iss, "http://127.0.0.1:8000");

        let who = me(&app, access).await;
        assert_eq!(who.status, Status::Ok, "{who:?}");
        assert_eq!(
            who.body,
            json!({ "id": id, "email": "api@example.com", "via": "access_token", "scopes": [] })
        );
        assert!(who.cookies.is_empty(), "{who:?}");

        // The browser's session answers the same route, as `session`.
        let browser = app.json_get("/users/api/me").await;
        assert_eq!(browser.body["via"], "session");

        // The refresh family is a session: in the store and on the settings page.
        let listed = sessions::list_for_user(&t.db, id, app.clock.now())
            .await
            .unwrap();
        assert!(listed.iter().any(|s| s.id == claims.sid), "{listed:?}");
        let (_, html) = app.body("/users/settings").await;
        assert!(html.contains(&claims.sid.to_string()));
        let issued_events = audit::list(
            &t.db,
            &AuditFilter::for_user(id).action(audit::API_TOKEN_ISSUED),
        )
        .await
        .unwrap();
        assert_eq!(issued_events.len(), 1);
        t
    }

    async fn an_account_with_a_second_factor_trades_the_mfa_token_and_a_code_for_tokens(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        let (secret, _) = enrolled(&app, "mfa-api@example.com").await;
        app.clock.advance(Duration::seconds(60));

        let first = token(
            &app,
            json!({ "email": "mfa-api@example.com", "password": PASSWORD }),
        )
        .await;
        assert_eq!(first.status, Status::Unauthorized, "{first:?}");
        assert_eq!(first.body["error"], "mfa_required");
        assert!(first.body.get("access_token").is_none());
        let mfa_token = text(&first, "mfa_token").to_owned();
        // A log-in owing its second factor is not a session yet: the browser lists only itself.
        let listed = |r: JsonAnswer| r.body["sessions"].as_array().unwrap().len();
        assert_eq!(listed(app.json_get("/users/settings").await), 1);
        // Only a pending log-in's token is a proof of the password: a full session's is not.
        let browser = app.cookie("sigra_session").unwrap();
        let stolen = json!({ "mfa_token": browser, "code": code(&app, &secret, 0) });
        let r = token(&app, stolen).await;
        assert_eq!(r.status, Status::Unauthorized, "{r:?}");
        assert_eq!(r.body["error"], "invalid_mfa_token");
        assert!(r.body.get("access_token").is_none());

        let wrong = token(&app, json!({ "mfa_token": mfa_token, "code": "000000" })).await;
        assert_eq!(wrong.status, Status::Unauthorized);
        assert_eq!(wrong.body["error"], "invalid_mfa_code");

        let right = json!({ "mfa_token": mfa_token, "code": code(&app, &secret, 0) });
        let done = token(&app, right.clone()).await;
        assert_eq!(done.status, Status::Ok, "{done:?}");
        let who = me(&app, text(&done, "access_token")).await;
        assert_eq!(who.body["email"], "mfa-api@example.com");
        assert_eq!(listed(app.json_get("/users/settings").await), 2);

        // Single use: the proof of the password is spent.
        app.clock.advance(Duration::seconds(30));
        let again = json!({ "mfa_token": mfa_token, "code": code(&app, &secret, 0) });
        let replay = token(&app, again).await;
        assert_eq!(replay.status, Status::Unauthorized);
        assert_eq!(replay.body["error"], "invalid_mfa_token");

        // And it lives five minutes.
        let late = token(
            &app,
            json!({ "email": "mfa-api@example.com", "password": PASSWORD }),
        )
        .await;
        let late_token = text(&late, "mfa_token").to_owned();
        app.clock.advance(Duration::minutes(6));
        let expired = json!({ "mfa_token": late_token, "code": code(&app, &secret, 0) });
        assert_eq!(
            token(&app, expired).await.body["error"],
            "invalid_mfa_token"
        );
        t
    }

    async fn forged_expired_and_foreign_access_tokens_are_refused_with_a_bearer_challenge(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        app.signed_up("forge@example.com").await;
        let issued = log_in(&app, "forge@example.com").await;
        let access = text(&issued, "access_token").to_owned();
        assert_eq!(me(&app, &access).await.status, Status::Ok);
        let keys = &app.state().auth.jwt;
        let claims = claims_of(&access);
        let now = app.clock.now().unix_timestamp();

        // The signature of another payload.
        let mut parts: Vec<String> = access.split('.').map(str::to_owned).collect();
        let mut changed = claims.clone();
        changed.sub = Uuid::nil();
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&changed).unwrap());
        assert_refused_token(&me(&app, &parts.join(".")).await, "tampered");

        let signed = |edit: &dyn Fn(&mut Claims)| {
            let mut c = claims.clone();
            edit(&mut c);
            keys.sign(&c)
        };
        let future = signed(&|c| c.nbf = now + 60);
        assert_refused_token(&me(&app, &future).await, "nbf in the future");
        let aud = signed(&|c| c.aud = "https://other.example".into());
        assert_refused_token(&me(&app, &aud).await, "wrong aud");
        let iss = signed(&|c| c.iss = "https://other.example".into());
        assert_refused_token(&me(&app, &iss).await, "wrong iss");
        assert_eq!(
            me(&app, &signed(&|_| {})).await.status,
            Status::Ok,
            "the same claims re-signed pass"
        );

        let other = JwtKeys::new(&Keys::new(&[7u8; 32], &[]).unwrap());
        assert_refused_token(&me(&app, &other.sign(&claims)).await, "unknown kid");

        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
        let none = format!(
            "{}.{payload}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#)
        );
        assert_refused_token(&me(&app, &none).await, "alg none");
        // HS256 keyed with the public key, which anyone can read from the JWKS.
        let jwks = app
            .api(Method::Get, "/.well-known/jwks.json", None, None)
            .await;
        let public = URL_SAFE_NO_PAD
            .decode(jwks.body["keys"][0]["x"].as_str().unwrap())
            .unwrap();
        let header = format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{}"}}"#, keys.kid());
        let input = format!("{}.{payload}", URL_SAFE_NO_PAD.encode(header));
        let mac = hmac_sha256(&public, input.as_bytes());
        let hs256 = format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac));
        assert_refused_token(&me(&app, &hs256).await, "HS256 key confusion");

        // Expiry, through the clock.
        app.clock.advance(Duration::seconds(901));
        assert_refused_token(&me(&app, &access).await, "expired");

        // Another scheme, and nothing at all; a page request is not redirected either.
        let client = app.other_browser().await;
        let r = client
            .client
            .get("/users/api/me")
            .remote(CLIENT)
            .header(Header::new("Accept", "text/html"))
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Unauthorized);
        assert_eq!(r.headers().get_one("WWW-Authenticate"), Some("Bearer"));
        assert!(r.headers().get_one("Location").is_none());
        let r = client
            .client
            .get("/users/api/me")
            .remote(CLIENT)
            .header(Header::new("Authorization", "Basic dXNlcjpwYXNz"))
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Unauthorized);
        let api_key = me(&app, "sigra_sk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await;
        assert_refused_token(&api_key, "an unknown API key");
        t
    }

    async fn refresh_rotates_and_a_replayed_refresh_token_ends_the_family_and_its_session(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        app.signed_up("rot@example.com").await;
        let id = user_id(&t, "rot@example.com").await;
        let first = log_in(&app, "rot@example.com").await;
        let sid = claims_of(text(&first, "access_token")).sid;
        let other_family = log_in(&app, "rot@example.com").await;
        let other = text(&other_family, "refresh_token").to_owned();
        let spent = text(&first, "refresh_token").to_owned();

        app.clock.advance(Duration::minutes(10));
        let second = refresh(&app, &spent).await;
        assert_eq!(second.status, Status::Ok, "{second:?}");
        assert!(second.cookies.is_empty());
        let next = text(&second, "refresh_token").to_owned();
        assert_ne!(next, spent);
        let access = text(&second, "access_token").to_owned();
        assert_eq!(claims_of(&access).sid, sid, "same family");
        assert_eq!(me(&app, &access).await.status, Status::Ok);

        // A family has no idle timeout: three quiet days and a retention sweep later it
        // is still listed and still refreshes.
        app.clock.advance(Duration::days(3));
        let auth = &app.state().auth;
        let sweep = RetentionSweep::new(auth.db.clone(), auth.clock.clone(), &auth.config);
        sweep.sweep_now().await.unwrap();
        let listed = sessions::list_for_user(&t.db, id, app.clock.now())
            .await
            .unwrap();
        assert!(listed.iter().any(|s| s.id == sid && s.refresh_family));
        // The browser's own session idled out meanwhile: log in again to see the list.
        app.log_in("rot@example.com", PASSWORD, false).await;
        let (_, html) = app.body("/users/settings").await;
        assert!(html.contains(&sid.to_string()), "on the sessions list");
        let third = refresh(&app, &next).await;
        assert_eq!(third.status, Status::Ok, "{third:?}");
        let spent = next;
        let next = text(&third, "refresh_token").to_owned();

        // The spent token comes back: a copy exists, so the family ends.
        let replay = refresh(&app, &spent).await;
        assert_eq!(replay.status, Status::Unauthorized);
        assert_eq!(replay.body["error"], "invalid_refresh_token");
        let after = refresh(&app, &next).await;
        assert_eq!(after.body["error"], "invalid_refresh_token", "{after:?}");
        assert!(
            sessions::find_by_id(&t.db, sid).await.unwrap().is_none(),
            "its session ended"
        );
        let reuse = audit::list(
            &t.db,
            &AuditFilter::for_user(id).action(audit::API_TOKEN_REUSE_DETECTED),
        )
        .await
        .unwrap();
        assert_eq!(reuse.len(), 1);
        // Another log-in's family is untouched.
        assert_eq!(refresh(&app, &other).await.status, Status::Ok);
        t
    }

    async fn revoking_the_refresh_token_or_its_session_ends_the_family(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("rev@example.com").await;
        let issued = log_in(&app, "rev@example.com").await;
        let body = json!({ "refresh_token": text(&issued, "refresh_token") });
        let path = "/users/api/token/revoke";
        let r = app.api(Method::Post, path, Some(body.clone()), None).await;
        assert_eq!(r.status, Status::Ok, "{r:?}");
        assert_eq!(r.body["ok"], true);
        let refused = refresh(&app, text(&issued, "refresh_token")).await;
        assert_eq!(refused.body["error"], "invalid_refresh_token");
        let sid = claims_of(text(&issued, "access_token")).sid;
        assert!(sessions::find_by_id(&t.db, sid).await.unwrap().is_none());
        // Unknown tokens answer alike (RFC 7009).
        let r = app.api(Method::Post, path, Some(body), None).await;
        assert_eq!(r.status, Status::Ok);

        // From the sessions list of the browser.
        let issued = log_in(&app, "rev@example.com").await;
        let sid = claims_of(text(&issued, "access_token")).sid;
        let r = app
            .json(
                Method::Delete,
                &format!("/users/settings/sessions/{sid}"),
                json!({}),
            )
            .await;
        assert_eq!(r.status, Status::Ok, "{r:?}");
        let refused = refresh(&app, text(&issued, "refresh_token")).await;
        assert_eq!(refused.body["error"], "invalid_refresh_token");
        t
    }

    async fn check_revocation_refuses_a_revoked_sessions_access_token_at_once(t: TestDb) -> TestDb {
        let app = app_with(figment(&t).merge(("sigra.api_tokens.check_revocation", true))).await;
        app.signed_up("cr@example.com").await;
        let issued = log_in(&app, "cr@example.com").await;
        let access = text(&issued, "access_token").to_owned();
        assert_eq!(me(&app, &access).await.status, Status::Ok);
        let body = json!({ "refresh_token": text(&issued, "refresh_token") });
        app.api(Method::Post, "/users/api/token/revoke", Some(body), None)
            .await;
        assert_refused_token(&me(&app, &access).await, "revoked session");

        // By default the token is verified without the store: it lives until `exp`.
        let plain = app_with(figment(&t)).await;
        let issued = log_in(&plain, "cr@example.com").await;
        let access = text(&issued, "access_token").to_owned();
        let body = json!({ "refresh_token": text(&issued, "refresh_token") });
        plain
            .api(Method::Post, "/users/api/token/revoke", Some(body), None)
            .await;
        assert_eq!(me(&plain, &access).await.status, Status::Ok);
        t
    }

    async fn old_secret_keys_keep_tokens_valid_and_the_jwks_publishes_both_keys(
        t: TestDb,
    ) -> TestDb {
        let before = app(&t).await;
        before.signed_up("kr@example.com").await;
        let issued = log_in(&before, "kr@example.com").await;
        let access = text(&issued, "access_token").to_owned();
        let old_kid = before.state().auth.jwt.kid();

        let new_secret = "rotated-secret-rotated-secret-rotated-0123456789";
        let rotated = app_with(
            figment(&t)
                .merge(("sigra.secret_key", new_secret))
                .merge(("sigra.old_secret_keys", [SECRET])),
        )
        .await;
        assert_eq!(me(&rotated, &access).await.status, Status::Ok);
        let jwks = rotated
            .api(Method::Get, "/.well-known/jwks.json", None, None)
            .await;
        assert_eq!(jwks.status, Status::Ok);
        let kids: Vec<&str> = jwks.body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        let new_kid = rotated.state().auth.jwt.kid();
        assert_eq!(kids, [new_kid.as_str(), old_kid.as_str()]);
        assert_eq!(jwks.body["keys"][0]["alg"], "EdDSA");
        assert_eq!(jwks.body["keys"][0]["crv"], "Ed25519");
        // New tokens carry the new key; the refresh token still works across rotation.
        let refreshed = refresh(&rotated, text(&issued, "refresh_token")).await;
        assert_eq!(refreshed.status, Status::Ok, "{refreshed:?}");
        let new_access = text(&refreshed, "access_token");
        let header = new_access.split('.').next().unwrap();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        assert_eq!(header["kid"], new_kid.as_str());

        // Until expiry only: the old token dies at its `exp`.
        rotated.clock.advance(Duration::seconds(901));
        assert_refused_token(&me(&rotated, &access).await, "expired after rotation");
        // And once the old secret is dropped, its tokens are unknown.
        let dropped = app_with(figment(&t).merge(("sigra.secret_key", new_secret))).await;
        let fresh = log_in(&before, "kr@example.com").await;
        assert_refused_token(
            &me(&dropped, text(&fresh, "access_token")).await,
            "old key dropped",
        );
        t
    }

    async fn scoped_routes_refuse_a_credential_without_their_scope(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("scope@example.com").await;
        let issued = log_in(&app, "scope@example.com").await;
        let access = text(&issued, "access_token").to_owned();
        let keys = &app.state().auth.jwt;
        let mut claims = claims_of(&access);

        claims.scope = "invoices:write".into();
        let r = app
            .api(
                Method::Get,
                "/api/invoices",
                None,
                Some(&keys.sign(&claims)),
            )
            .await;
        assert_eq!(r.status, Status::Forbidden, "{r:?}");
        assert_eq!(r.body["error"], "insufficient_scope");
        assert_eq!(
            r.challenge.as_deref(),
            Some(r#"Bearer error="insufficient_scope""#)
        );

        claims.scope = "invoices:write invoices:read".into();
        let r = app
            .api(
                Method::Get,
                "/api/invoices",
                None,
                Some(&keys.sign(&claims)),
            )
            .await;
        assert_eq!(r.status, Status::Ok, "{r:?}");
        // A log-in token carries the user's full rights, like the session.
        let r = app
            .api(Method::Get, "/api/invoices", None, Some(&access))
            .await;
        assert_eq!(r.status, Status::Ok);
        assert_eq!(app.body("/api/invoices").await.0, Status::Ok);
        t
    }

    async fn api_caller_needs_the_csrf_header_with_a_cookie_and_nothing_with_a_bearer_token(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        app.signed_up("caller@example.com").await;
        let r = app
            .json_with(Method::Post, "/api/invoices", json!({}), None)
            .await;
        assert_eq!(r.status, Status::Forbidden, "{r:?}");
        assert_eq!(r.reason(), "form_expired");
        let csrf = app.json_csrf().await;
        let r = app
            .client
            .post("/api/invoices")
            .remote(CLIENT)
            .header(Header::new("X-CSRF-Token", csrf))
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Ok);
        assert!(r.into_string().await.unwrap().ends_with("via session"));

        let issued = log_in(&app, "caller@example.com").await;
        let r = app
            .api(
                Method::Post,
                "/api/invoices",
                None,
                Some(text(&issued, "access_token")),
            )
            .await;
        assert_eq!(r.status, Status::Ok, "{r:?}");
        t
    }

    async fn unconfirmed_and_locked_accounts_answer_as_the_html_log_in_does(t: TestDb) -> TestDb {
        let app = app_with(figment(&t).merge(("sigra.require_confirmation", true))).await;
        assert_eq!(
            app.register("unc@example.com", PASSWORD).await.status(),
            Status::Ok
        );
        let r = token(
            &app,
            json!({ "email": "unc@example.com", "password": PASSWORD }),
        )
        .await;
        assert_eq!(r.status, Status::Forbidden, "{r:?}");
        assert_eq!(r.body["error"], "unconfirmed");
        assert!(r.body.get("access_token").is_none());

        // Five wrong passwords through the API lock the account for every log-in.
        app.confirm_email("unc@example.com").await;
        for _ in 0..5 {
            let wrong = json!({ "email": "unc@example.com", "password": "wrong wrong wrong" });
            assert_eq!(
                token(&app, wrong).await.body["error"],
                "invalid_credentials"
            );
        }
        let id = user_id(&t, "unc@example.com").await;
        let user = users::find_by_id(&t.db, id).await.unwrap().unwrap();
        assert!(user.locked_until.is_some(), "locked");
        let r = token(
            &app,
            json!({ "email": "unc@example.com", "password": PASSWORD }),
        )
        .await;
        assert_eq!(r.status, Status::Unauthorized);
        assert_eq!(
            r.body["error"], "invalid_credentials",
            "a lock answers like a wrong password"
        );
        let html = app.log_in("unc@example.com", PASSWORD, false).await;
        assert_eq!(
            html.status(),
            Status::Unauthorized,
            "the browser is locked out too"
        );
        t
    }

    async fn a_refresh_family_shows_in_the_sessions_list_under_its_device_name(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        app.signed_up("device@example.com").await;
        let body = json!({ "email": "device@example.com", "password": PASSWORD, "device_name": "  Ada's CLI  " });
        let issued = token(&app, body).await;
        assert_eq!(issued.status, Status::Ok, "{issued:?}");
        let sid = claims_of(text(&issued, "access_token")).sid;
        let stored = sessions::find_by_id(&t.db, sid).await.unwrap().unwrap();
        assert_eq!(stored.0.device_name.as_deref(), Some("Ada's CLI"));
        // The browser's settings list both sessions, the API one by its name.
        let overview = app.json_get("/users/settings").await;
        let listed = overview.body["sessions"].as_array().unwrap().clone();
        assert_eq!(listed.len(), 2, "{listed:?}");
        let api = listed.iter().find(|s| s["id"] == sid.to_string()).unwrap();
        assert_eq!(api["device_name"], "Ada's CLI");
        let (_, html) = app.body("/users/settings").await;
        assert!(html.contains("Ada&#x27;s CLI"), "{html}");
        // Without a name, the session is listed by its browser and system as before.
        let plain = log_in(&app, "device@example.com").await;
        let sid = claims_of(text(&plain, "access_token")).sid;
        let stored = sessions::find_by_id(&t.db, sid).await.unwrap().unwrap();
        assert_eq!(stored.0.device_name, None);
        t
    }
);
