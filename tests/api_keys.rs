//! Personal API keys: made under sudo and shown once, stored as a digest and a display
//! prefix, accepted by `authenticate` only while live and while the account is usable,
//! revoked by their owner alone, mailed and audited without the key, ended by
//! `revoke_all_credentials` and account deletion but not by a password reset.

use rocket::http::{ContentType, Method, Status};
use serde_json::json;
use sha2::{Digest, Sha256};
use sigra_core::Clock;
use sigra_core::features::api_keys::{self, ApiKeyCaller};
use sigra_core::features::audit::{self, AuditFilter};
use sigra_core::features::{Auth, RequestMeta, sessions};
use sigra_core::store::{ApiKeyRow, api_keys as key_store, users};
use time::Duration;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::common::TestDb;
use crate::common::app::{PASSWORD, TestApp, app_with, figment};
use crate::common::json::JsonAnswer;

const KEYS: &str = "/users/settings/api-keys";

/// An app whose keys may carry the scopes `read` and `write`.
async fn scoped_app(t: &TestDb) -> TestApp {
    app_with(figment(t).merge(("sigra.api_keys.scopes", ["read", "write"]))).await
}

async fn create(app: &TestApp, body: serde_json::Value) -> JsonAnswer {
    app.json(Method::Post, KEYS, body).await
}

/// Makes a key named `name` with scope `read` over JSON; answers the key and its id.
pub(crate) async fn new_key(app: &TestApp, name: &str, days: i64) -> (String, Uuid) {
    let r = create(
        app,
        json!({ "name": name, "scopes": ["read"], "expires_in_days": days }),
    )
    .await;
    let body = r.assert_ok(Status::Created);
    let key = body["key"].as_str().unwrap().to_owned();
    let id = body["api_key"]["id"].as_str().unwrap().parse().unwrap();
    (key, id)
}

async fn user_id(t: &TestDb, email: &str) -> Uuid {
    users::find_by_email(&t.db, email)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn rows(t: &TestDb, email: &str) -> Vec<ApiKeyRow> {
    key_store::list_for_user(&t.db, user_id(t, email).await)
        .await
        .unwrap()
}

async fn caller(app: &TestApp, key: &str) -> Option<ApiKeyCaller> {
    api_keys::authenticate(auth(app), key).await.unwrap()
}

fn auth(app: &TestApp) -> &Auth {
    &app.state().auth
}

/// `key` with its last character changed (still well formed).
fn wrong(key: &str) -> String {
    let last = if key.ends_with('A') { "B" } else { "A" };
    format!("{}{last}", &key[..key.len() - 1])
}

conformance!(
    async fn a_key_is_shown_once_and_only_its_digest_and_prefix_are_stored(t: TestDb) -> TestDb {
        let app = scoped_app(&t).await;
        app.signed_up("k@example.com").await;
        let (status, html) = app.body(KEYS).await;
        assert_eq!(status, Status::Ok);
        assert!(html.contains("You have no API keys."), "{html}");

        // A page request: the key once, beside the copy button, whose script the policy
        // allows.
        let r = app
            .submit(
                KEYS,
                &[
                    ("name", "deploy script"),
                    ("scopes", "read"),
                    ("scopes", "write"),
                    ("expires_in_days", "30"),
                ],
            )
            .await;
        assert_eq!(r.status(), Status::Created);
        let csp = r
            .headers()
            .get_one("Content-Security-Policy")
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        let html = r.into_string().await.unwrap();
        let marker = "id=\"api-key-value\" class=\"secret\">";
        let start = html.find(marker).expect("the key is shown") + marker.len();
        let page_key = html[start..].split('<').next().unwrap().to_owned();
        assert!(page_key.starts_with("sigra_sk_") && page_key.len() == 52);
        assert!(html.contains("id=\"api-key-copy\""));
        assert!(html.contains("assets/sigra.js\" defer></script>"), "{html}");
        let script = app.client.get("/users/assets/sigra.js").dispatch().await;
        assert_eq!(script.status(), Status::Ok);
        assert_eq!(script.content_type(), Some(ContentType::JavaScript));
        assert!(script.into_string().await.unwrap().contains("api-key-copy"));

        let (_, html) = app.body(KEYS).await;
        assert!(!html.contains(&page_key), "never shown again");
        assert!(html.contains(&page_key[..12]), "the prefix tells it apart");
        assert!(html.contains("deploy script"));

        // A JSON request: 201 with the key and its view; the list never has a key.
        let r = create(&app, json!({ "name": "ci", "scopes": ["write"] })).await;
        let body = r.assert_ok(Status::Created);
        let json_key = body["key"].as_str().unwrap().to_owned();
        assert!(json_key.starts_with("sigra_sk_") && json_key.len() == 52);
        assert_eq!(body["api_key"]["prefix"], json_key[..12]);
        assert_eq!(body["api_key"]["scopes"], json!(["write"]));
        assert_eq!(body["api_key"]["expires_at"], serde_json::Value::Null);
        let list = app.json_get(KEYS).await;
        let listed = list.assert_ok(Status::Ok)["api_keys"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(listed.len(), 2);
        let text = list.body.to_string();
        assert!(!text.contains(&json_key) && !text.contains(&page_key));

        // At rest: the display prefix and the SHA-256, nothing else of the key.
        let stored = rows(&t, "k@example.com").await;
        assert_eq!(stored.len(), 2);
        for key in [&page_key, &json_key] {
            let row = stored
                .iter()
                .find(|r| r.prefix == key[..12])
                .expect("a row per key");
            assert_eq!(row.key_hash, Sha256::digest(key.as_bytes()).to_vec());
            assert!(!format!("{row:?}").contains(&key[12..]), "{row:?}");
        }
        let deploy = stored.iter().find(|r| r.name == "deploy script").unwrap();
        assert_eq!(deploy.scopes.0, ["read", "write"]);
        assert_eq!(
            deploy.expires_at,
            Some(app.clock.now() + Duration::days(30))
        );

        let (status, export) = app.body("/users/settings/export").await;
        assert_eq!(status, Status::Ok);
        let export: serde_json::Value = serde_json::from_str(&export).unwrap();
        assert_eq!(export["api_keys"].as_array().unwrap().len(), 2);
        assert!(!export.to_string().contains(&json_key[12..]), "{export}");

        let found = caller(&app, &page_key).await.expect("the key works");
        assert_eq!(found.user.email, "k@example.com");
        assert_eq!(found.scopes, ["read", "write"]);
        assert_eq!(found.key_id, deploy.id);
        t
    }

    async fn unknown_scopes_bad_names_and_lifetimes_are_refused_field_by_field(
        t: TestDb,
    ) -> TestDb {
        let app = app_with(
            figment(&t)
                .merge(("sigra.api_keys.scopes", ["read"]))
                .merge(("sigra.api_keys.max_per_user", 1)),
        )
        .await;
        app.signed_up("f@example.com").await;
        let r = create(&app, json!({ "name": "x", "scopes": ["read", "admin"] })).await;
        r.assert_refused(Status::UnprocessableEntity, "invalid_fields");
        assert_eq!(r.field_reason("scopes"), "scope_unknown");
        let r = create(&app, json!({ "name": "  ", "expires_in_days": 4000 })).await;
        r.assert_refused(Status::UnprocessableEntity, "invalid_fields");
        assert_eq!(r.field_reason("name"), "name_invalid");
        assert_eq!(r.field_reason("expires_in_days"), "expires_in_days_invalid");
        let long = "n".repeat(101);
        let r = create(&app, json!({ "name": long, "expires_in_days": "soon" })).await;
        assert_eq!(r.field_reason("name"), "name_invalid");
        assert_eq!(r.field_reason("expires_in_days"), "expires_in_days_invalid");
        let r = app
            .submit_owned(KEYS, &[("name", "x"), ("scopes", "admin")])
            .await;
        assert_eq!(r.status, Status::UnprocessableEntity);
        assert!(r.body.contains("There is no scope named"), "{}", r.body);
        assert!(rows(&t, "f@example.com").await.is_empty(), "nothing stored");

        new_key(&app, "one", 0).await;
        let r = create(&app, json!({ "name": "two" })).await;
        r.assert_refused(Status::UnprocessableEntity, "invalid_fields");
        assert_eq!(r.field_reason("name"), "api_key_limit");
        assert_eq!(rows(&t, "f@example.com").await.len(), 1);
        t
    }

    async fn creations_racing_at_the_limit_never_exceed_max_per_user(t: TestDb) -> TestDb {
        const LIMIT: usize = 3;
        const RACERS: usize = 12;
        let app = app_with(figment(&t).merge(("sigra.api_keys.max_per_user", LIMIT))).await;
        app.signed_up("race@example.com").await;
        let auth = app.state().auth.clone();
        let me = sessions::authenticate(&auth, &app.cookie("sigra_session").unwrap())
            .await
            .unwrap()
            .unwrap();
        let mut racers = JoinSet::new();
        for n in 0..RACERS {
            let (auth, me) = (auth.clone(), me.clone());
            racers.spawn(async move {
                let input = api_keys::CreateInput {
                    name: format!("racer {n}"),
                    scopes: Vec::new(),
                    expires_in_days: None,
                    organization: None,
                };
                api_keys::create(&auth, &me, &input, &RequestMeta::default())
                    .await
                    .unwrap()
            });
        }
        let (mut made, mut refused) = (0, 0);
        while let Some(outcome) = racers.join_next().await {
            match outcome.unwrap() {
                Ok(_) => made += 1,
                Err(errors) => {
                    assert_eq!(errors.name[0].reason, "api_key_limit", "{errors:?}");
                    refused += 1;
                }
            }
        }
        assert_eq!((made, refused), (LIMIT, RACERS - LIMIT));
        assert_eq!(rows(&t, "race@example.com").await.len(), LIMIT);
        t
    }

    async fn creating_a_key_needs_sudo(t: TestDb) -> TestDb {
        let app = scoped_app(&t).await;
        app.signed_up("s@example.com").await;
        app.clock.advance(Duration::minutes(16));
        create(&app, json!({ "name": "late" }))
            .await
            .assert_refused(Status::Forbidden, "sudo_required");
        let r = app.submit_owned(KEYS, &[("name", "late")]).await;
        assert_eq!(r.status, Status::SeeOther);
        assert!(r.location.starts_with("/users/sudo"), "{}", r.location);
        assert!(rows(&t, "s@example.com").await.is_empty());
        assert_eq!(
            app.json_get(KEYS).await.status,
            Status::Ok,
            "listing does not"
        );

        app.submit("/users/sudo", &[("password", PASSWORD)]).await;
        new_key(&app, "after sudo", 0).await;
        assert_eq!(rows(&t, "s@example.com").await.len(), 1);
        t
    }

    async fn authenticate_refuses_wrong_revoked_expired_and_locked_keys(t: TestDb) -> TestDb {
        let app = scoped_app(&t).await;
        app.signed_up("a@example.com").await;
        let id = user_id(&t, "a@example.com").await;
        let (key, _) = new_key(&app, "daily", 1).await;
        let (other, other_id) = new_key(&app, "other", 0).await;
        assert!(caller(&app, &key).await.is_some());
        assert!(caller(&app, &wrong(&key)).await.is_none(), "a wrong key");
        assert!(caller(&app, &key[..51]).await.is_none(), "a cut key");
        assert!(caller(&app, "").await.is_none());

        let now = app.clock.now();
        users::lock(&t.db, id, now + Duration::minutes(15), 0, now)
            .await
            .unwrap();
        app.forget_cached();
        assert!(caller(&app, &key).await.is_none(), "a locked account");
        users::unlock(&t.db, id, true).await.unwrap();
        assert!(caller(&app, &key).await.is_some());

        let r = app
            .json(Method::Delete, &format!("{KEYS}/{other_id}"), json!({}))
            .await;
        assert_eq!(
            r.assert_ok(Status::Ok)["next"],
            format!("{KEYS}?notice=revoked")
        );
        assert!(caller(&app, &other).await.is_none(), "a revoked key");

        app.clock.advance(Duration::days(1));
        assert!(caller(&app, &key).await.is_none(), "an expired key");
        app.log_in("a@example.com", PASSWORD, false).await;
        let listed = app.json_get(KEYS).await.body["api_keys"].clone();
        assert_eq!(listed.as_array().unwrap().len(), 1, "revoked keys go");
        assert_eq!(listed[0]["expired"], true);
        t
    }

    async fn last_used_at_is_written_at_most_once_a_minute(t: TestDb) -> TestDb {
        let app = scoped_app(&t).await;
        app.signed_up("u@example.com").await;
        let (key, _) = new_key(&app, "busy", 0).await;
        assert_eq!(rows(&t, "u@example.com").await[0].last_used_at, None);
        let first = app.clock.now();
        caller(&app, &key).await.unwrap();
        let row = rows(&t, "u@example.com").await.remove(0);
        assert_eq!(row.last_used_at, Some(first));
        let minute = Duration::minutes(1);
        let later = first + Duration::seconds(30);
        assert_eq!(
            key_store::touch(&t.db, row.id, later, minute)
                .await
                .unwrap(),
            0,
            "the update itself refuses a second write within the minute"
        );
        app.clock.advance(Duration::seconds(59));
        caller(&app, &key).await.unwrap();
        assert_eq!(
            rows(&t, "u@example.com").await[0].last_used_at,
            Some(first),
            "not again within the minute"
        );
        app.clock.advance(Duration::seconds(2));
        caller(&app, &key).await.unwrap();
        assert_eq!(
            rows(&t, "u@example.com").await[0].last_used_at,
            Some(app.clock.now())
        );
        let (_, html) = app.body(KEYS).await;
        assert!(html.contains("2026-06-01 09:01 UTC"), "{html}");
        t
    }

    async fn only_the_owner_can_revoke_a_key(t: TestDb) -> TestDb {
        let app = scoped_app(&t).await;
        app.signed_up("owner@example.com").await;
        let (key, id) = new_key(&app, "mine", 0).await;
        let mallory = app.other_browser().await;
        mallory.signed_up("mallory@example.com").await;
        let path = format!("{KEYS}/{id}");
        let r = mallory.json(Method::Delete, &path, json!({})).await;
        assert_eq!(r.status, Status::NotFound, "{r:?}");
        let r = mallory.submit_owned(&path, &[("_method", "DELETE")]).await;
        assert_eq!(r.status, Status::NotFound);
        assert!(caller(&app, &key).await.is_some(), "still live");

        let r = app.submit_owned(&path, &[("_method", "DELETE")]).await;
        assert_eq!(r.status, Status::SeeOther);
        assert_eq!(r.location, format!("{KEYS}?notice=revoked"));
        let (_, html) = app.body(&r.location).await;
        assert!(html.contains("The key was revoked."));
        assert!(caller(&app, &key).await.is_none());
        let r = app.json(Method::Delete, &path, json!({})).await;
        assert_eq!(r.status, Status::NotFound, "once");
        let r = app
            .json(Method::Delete, &format!("{KEYS}/not-a-uuid"), json!({}))
            .await;
        assert_eq!(r.status, Status::NotFound);
        t
    }

    async fn mails_and_audit_events_name_the_prefix_and_never_the_key(t: TestDb) -> TestDb {
        let app = scoped_app(&t).await;
        app.signed_up("m@example.com").await;
        let (key, id) = new_key(&app, "backup job", 0).await;
        app.json(Method::Delete, &format!("{KEYS}/{id}"), json!({}))
            .await
            .assert_ok(Status::Ok);
        let mails = app.mails_to("m@example.com").await;
        for subject in ["A new API key was created", "was revoked"] {
            let mail = mails
                .iter()
                .find(|m| m.subject.contains(subject))
                .unwrap_or_else(|| panic!("a mail: {subject}"));
            let html = mail.html.as_deref().unwrap();
            for body in [mail.text.as_str(), html] {
                assert!(
                    body.contains(&key[..12]) && body.contains("backup job"),
                    "{body}"
                );
                assert!(!body.contains(&key[12..]), "{body}");
            }
        }
        let user = user_id(&t, "m@example.com").await;
        let events = audit::list(&t.db, &AuditFilter::for_user(user))
            .await
            .unwrap();
        for action in [audit::API_KEY_CREATED, audit::API_KEY_REVOKED] {
            let event = events
                .iter()
                .find(|e| e.action == action)
                .unwrap_or_else(|| panic!("{action}"));
            assert_eq!(event.metadata.0["prefix"], key[..12]);
            assert_eq!(event.metadata.0["name"], "backup job");
            assert_eq!(event.metadata.0["key_id"], id.to_string());
        }
        let all = serde_json::to_string(&events).unwrap();
        assert!(!all.contains(&key[12..]), "{all}");
        t
    }

    async fn revoke_all_credentials_ends_every_session_and_key(t: TestDb) -> TestDb {
        let app = scoped_app(&t).await;
        app.signed_up("r@example.com").await;
        let phone = app.other_browser().await;
        phone.log_in("r@example.com", PASSWORD, true).await;
        let (one, _) = new_key(&app, "one", 0).await;
        let (two, _) = new_key(&app, "two", 30).await;
        let id = user_id(&t, "r@example.com").await;
        let revoked = auth(&app)
            .revoke_all_credentials(id, None, &RequestMeta::default())
            .await
            .unwrap();
        assert_eq!((revoked.sessions, revoked.api_keys), (2, 2));
        assert_eq!(app.body("/dashboard").await.0, Status::SeeOther);
        assert_eq!(phone.body("/dashboard").await.0, Status::SeeOther);
        assert!(caller(&app, &one).await.is_none());
        assert!(caller(&app, &two).await.is_none());
        assert!(rows(&t, "r@example.com").await.is_empty());
        let events = audit::list(
            &t.db,
            &AuditFilter::for_user(id).action(audit::CREDENTIALS_REVOKED),
        )
        .await
        .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(
            events[0].metadata.0,
            json!({ "sessions": 2, "api_keys": 2 })
        );
        assert_eq!(
            app.log_in("r@example.com", PASSWORD, false).await.status(),
            Status::SeeOther,
            "the password still works"
        );
        t
    }

    async fn a_password_reset_keeps_api_keys(t: TestDb) -> TestDb {
        let app = scoped_app(&t).await;
        app.signed_up("p@example.com").await;
        let (key, _) = new_key(&app, "integration", 0).await;
        app.log_out().await;
        app.submit("/users/reset-password", &[("email", "p@example.com")])
            .await;
        let link = app
            .link_for("p@example.com", "/users/reset-password/")
            .await;
        let new = "a brand new passphrase 77";
        let r = app
            .submit_owned(&link, &[("password", new), ("password_confirmation", new)])
            .await;
        assert_eq!(r.status, Status::SeeOther);
        let found = caller(&app, &key).await;
        assert_eq!(found.map(|c| c.user.email), Some("p@example.com".into()));
        t
    }

    async fn deleting_an_account_removes_its_keys_under_every_strategy(t: TestDb) -> TestDb {
        for strategy in ["anonymize", "soft_delete", "hard_delete"] {
            let app = app_with(
                figment(&t)
                    .merge(("sigra.api_keys.scopes", ["read"]))
                    .merge(("sigra.deletion.strategy", strategy))
                    .merge(("sigra.deletion.grace_days", 1)),
            )
            .await;
            let email = format!("{strategy}@example.com");
            app.signed_up(&email).await;
            let id = user_id(&t, &email).await;
            let (key, _) = new_key(&app, "doomed", 0).await;
            let r = app.submit_owned("/users/settings/delete", &[]).await;
            assert_eq!(r.status, Status::Ok, "{strategy}");
            assert!(
                caller(&app, &key).await.is_none(),
                "{strategy}: refused while the deletion is pending"
            );
            app.clock.advance(Duration::days(1));
            assert_eq!(app.state().run_due_jobs().await.unwrap().swept, 1);
            assert!(caller(&app, &key).await.is_none(), "{strategy}");
            assert!(
                key_store::list_for_user(&t.db, id)
                    .await
                    .unwrap()
                    .is_empty(),
                "{strategy}: the keys are gone"
            );
        }
        t
    }

    async fn a_key_is_a_bearer_credential_for_api_caller_with_its_own_scopes(t: TestDb) -> TestDb {
        let scopes = ["invoices:read", "read"];
        let app = app_with(figment(&t).merge(("sigra.api_keys.scopes", scopes))).await;
        app.signed_up("bearer-key@example.com").await;
        let made = |scope: &'static str| {
            let app = &app;
            async move {
                let body = json!({ "name": scope, "scopes": [scope], "expires_in_days": 0 });
                let r = create(app, body).await;
                r.assert_ok(Status::Created)["key"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
        };
        let reader = made("read").await;
        let invoices = made("invoices:read").await;
        // A client with no cookie, only the key.
        let call = |path: &'static str, key: String| {
            let app = &app;
            async move { app.api(Method::Get, path, None, Some(&key)).await }
        };
        let me = call("/users/api/me", reader.clone()).await;
        assert_eq!(me.status, Status::Ok, "{me:?}");
        let body = &me.body;
        assert_eq!(body["via"], "api_key");
        assert_eq!(body["email"], "bearer-key@example.com");
        assert_eq!(body["scopes"], json!(["read"]));
        assert!(me.cookies.is_empty(), "a Bearer request touches no cookie");
        // The host's scoped route wants `invoices:read`.
        let r = call("/api/invoices", reader.clone()).await;
        r.assert_refused(Status::Forbidden, "insufficient_scope");
        assert_eq!(
            r.challenge.as_deref(),
            Some(r#"Bearer error="insufficient_scope""#)
        );
        assert_eq!(call("/api/invoices", invoices).await.status, Status::Ok);
        // A revoked key is a bad Bearer credential: 401 with a challenge, never a redirect.
        let id = rows(&t, "bearer-key@example.com")
            .await
            .into_iter()
            .find(|k| k.name == "read")
            .unwrap()
            .id;
        let r = app
            .json(Method::Delete, &format!("{KEYS}/{id}"), json!({}))
            .await;
        assert!(r.status.code < 400, "{r:?}");
        let r = call("/users/api/me", reader).await;
        r.assert_refused(Status::Unauthorized, "invalid_token");
        assert!(r.challenge.unwrap_or_default().starts_with("Bearer"));
        t
    }

    async fn with_the_cache_on_a_key_is_answered_from_memory_until_a_revocation_ends_it_everywhere(
        t: TestDb,
    ) -> TestDb {
        let fig = figment(&t).merge(("sigra.api_keys.scopes", ["read", "write"]));
        // A long TTL: the key is answered from memory although its row says revoked.
        let a = app_with(fig.clone().merge(("sigra.session.cache_ms", 3000))).await;
        a.signed_up("cached-key@example.com").await;
        let (key, _) = new_key(&a, "cached", 0).await;
        assert!(caller(&a, &key).await.is_some());
        let owner = user_id(&t, "cached-key@example.com").await;
        let now = a.clock.now();
        key_store::revoke_all_for_user(&t.db, owner, now)
            .await
            .unwrap();
        assert!(
            caller(&a, &key).await.is_some(),
            "revoked behind Sigra's back: memory still answers, so the lookup was skipped"
        );
        // Two instances with a short TTL: revoking on one is in force on the other by
        // the time the revocation answers.
        let a = app_with(fig.merge(("sigra.session.cache_ms", 300))).await;
        a.signed_up("cached-key2@example.com").await;
        let (key, id) = new_key(&a, "two", 0).await;
        let b = a.other_browser().await;
        assert!(caller(&b, &key).await.is_some(), "cached on instance B");
        let r = a
            .json(Method::Delete, &format!("{KEYS}/{id}"), json!({}))
            .await;
        assert!(r.status.code < 400, "{r:?}");
        assert!(caller(&b, &key).await.is_none(), "B no longer accepts it");
        assert!(caller(&a, &key).await.is_none());
        t
    }
);
