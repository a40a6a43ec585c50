//! The admin console: who is an admin, who may reach it (every route, from the route
//! table), sudo on every admin POST, the dashboard, the user search, the user page, and
//! each action on an account with what it does in the store and the audit log.

use rocket::http::{Method, Status};
use serde_json::json;
use sigra_core::Clock;
use sigra_core::features::audit::{self, AuditFilter};
use sigra_core::features::{RequestMeta, admin};
use sigra_core::store::{api_keys, sessions, users};
use uuid::Uuid;

use crate::common::TestDb;
use crate::common::app::{ADMIN_EMAIL, PASSWORD, TestApp, app, app_with, figment};
use crate::organizations::user_id;

/// An app whose browser is logged in as a confirmed platform admin (bootstrapped by
/// `sigra.admin.emails`), within the sudo window.
pub async fn admin_app(t: &TestDb) -> TestApp {
    let figment = figment(t)
        .merge(("sigra.api_keys.scopes", ["read"]))
        // Access tokens are checked against their refresh family, so a ban ends them too.
        .merge(("sigra.api_tokens.check_revocation", true));
    let app = app_with(figment).await;
    app.signed_up(ADMIN_EMAIL).await;
    app.confirm_email(ADMIN_EMAIL).await;
    app
}

/// Another browser on the same app, logged in as `email` (registered and confirmed).
pub async fn user_browser(app: &TestApp, email: &str) -> TestApp {
    let other = app.other_browser().await;
    other.signed_up(email).await;
    other.confirm_email(email).await;
    other
}

/// Posts admin `action` on account `id` as a JSON client.
pub async fn act(app: &TestApp, id: Uuid, action: &str) -> crate::common::json::JsonAnswer {
    app.json(
        Method::Post,
        &format!("/admin/users/{id}/{action}"),
        json!({}),
    )
    .await
}

/// The actions recorded about `user`, newest first, with their actor.
async fn events_about(t: &TestDb, user: Uuid) -> Vec<(String, Option<Uuid>)> {
    audit::list(&t.db, &AuditFilter::for_user(user))
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.actor_id))
        .collect()
}

/// Every admin route `(method, path)` mounted, from Rocket's route table.
fn admin_routes(app: &TestApp) -> Vec<(String, String)> {
    app.client
        .rocket()
        .routes()
        .filter(|r| r.uri.path().starts_with("/admin"))
        .map(|r| (r.method.to_string(), r.uri.path().to_string()))
        .collect()
}

const ADMIN_ROUTES: &[(&str, &str)] = &[
    ("GET", "/admin"),
    ("GET", "/admin/users"),
    ("GET", "/admin/users/<id>"),
    ("POST", "/admin/users/<id>/<action>"),
    ("POST", "/admin/users/<id>/impersonate"),
    ("DELETE", "/admin/impersonation"),
    ("DELETE", "/admin/users/<id>/sessions/<session_id>"),
    ("GET", "/admin/organizations"),
    ("GET", "/admin/organizations/<slug>"),
    ("GET", "/admin/audit"),
    ("GET", "/admin/audit/export.csv"),
    ("GET", "/admin/audit/export.jsonl"),
    ("GET", "/admin/audit/verify"),
];

fn concrete(path: &str, id: Uuid) -> String {
    path.replace("<id>", &id.to_string())
        .replace("<action>", "lock")
        .replace("<session_id>", &Uuid::nil().to_string())
        .replace("<slug>", "acme")
}

conformance!(
    async fn an_address_listed_in_admin_emails_becomes_an_admin_when_it_is_confirmed(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        app.signed_up(ADMIN_EMAIL).await;
        let boss = user_id(&t, ADMIN_EMAIL).await;
        assert!(
            !users::find_by_id(&t.db, boss)
                .await
                .unwrap()
                .unwrap()
                .is_admin
        );
        let r = app.json_get("/admin").await;
        r.assert_refused(Status::Forbidden, "admin_required");

        app.confirm_email(ADMIN_EMAIL).await;
        assert!(
            users::find_by_id(&t.db, boss)
                .await
                .unwrap()
                .unwrap()
                .is_admin
        );
        let granted = events_about(&t, boss).await;
        assert!(
            granted.contains(&("admin.granted".into(), None)),
            "{granted:?}"
        );
        assert_eq!(app.json_get("/admin").await.status, Status::Ok);

        // An address that is not listed stays an ordinary account when confirmed.
        let other = user_browser(&app, "ann@example.com").await;
        let ann = user_id(&t, "ann@example.com").await;
        assert!(
            !users::find_by_id(&t.db, ann)
                .await
                .unwrap()
                .unwrap()
                .is_admin
        );
        other
            .json_get("/admin")
            .await
            .assert_refused(Status::Forbidden, "admin_required");

        // The CLI's way: granted and revoked by address, audited.
        let meta = RequestMeta::default();
        let auth = &app.state().auth;
        let view = admin::set_admin(auth, "ann@example.com", true, &meta)
            .await
            .unwrap();
        assert!(view.unwrap().is_admin);
        assert_eq!(other.json_get("/admin").await.status, Status::Ok);
        admin::set_admin(auth, "ann@example.com", false, &meta)
            .await
            .unwrap();
        other
            .json_get("/admin")
            .await
            .assert_refused(Status::Forbidden, "admin_required");
        let changes = events_about(&t, ann).await;
        assert!(
            changes.contains(&("admin.revoked".into(), None)),
            "{changes:?}"
        );
        t
    }

    async fn every_admin_route_refuses_anonymous_and_non_admin_requests(t: TestDb) -> TestDb {
        let app = admin_app(&t).await;
        crate::common::app::assert_exact_routes(admin_routes(&app), ADMIN_ROUTES);
        let anonymous = app.other_browser().await;
        let member = user_browser(&app, "ann@example.com").await;
        let target = user_id(&t, "ann@example.com").await;
        for (method, path) in ADMIN_ROUTES {
            let method: Method = method.parse().unwrap();
            let path = concrete(path, target);
            let r = anonymous.json(method, &path, json!({})).await;
            let stop = path == "/admin/impersonation";
            if stop {
                // Stopping is for whoever impersonates; anyone else is sent on.
                assert_eq!(r.status, Status::Ok, "{method} {path}: {r:?}");
                assert_eq!(r.body["stopped"], false, "{method} {path}");
                continue;
            }
            r.assert_refused(Status::Unauthorized, "not_authenticated");
            let r = member.json(method, &path, json!({})).await;
            r.assert_refused(Status::Forbidden, "admin_required");
        }
        // An HTML request of a non-admin gets the error page, not the console.
        let (status, html) = member.body("/admin/users").await;
        assert_eq!(status, Status::Forbidden);
        assert!(!html.contains("Email starts with"), "{html}");
        // Nothing happened to the account.
        let ann = users::find_by_id(&t.db, target).await.unwrap().unwrap();
        assert!(ann.admin_locked_at.is_none());
        t
    }

    async fn every_admin_post_needs_sudo(t: TestDb) -> TestDb {
        let app = admin_app(&t).await;
        let _ann = user_browser(&app, "ann@example.com").await;
        let target = user_id(&t, "ann@example.com").await;
        // Past the sudo window (15 minutes after the log-in).
        app.clock.advance(time::Duration::minutes(16));
        let posts: Vec<_> = ADMIN_ROUTES
            .iter()
            .filter(|(m, p)| *m != "GET" && *p != "/admin/impersonation")
            .collect();
        assert_eq!(posts.len(), 3);
        let one = format!("/admin/users/{target}/sessions/{}", Uuid::nil());
        app.json(Method::Delete, &one, json!({}))
            .await
            .assert_refused(Status::Forbidden, "sudo_required");
        for action in admin::UserAction::ALL {
            let r = act(&app, target, action.slug()).await;
            r.assert_refused(Status::Forbidden, "sudo_required");
        }
        let r = app
            .json(
                Method::Post,
                &format!("/admin/users/{target}/impersonate"),
                json!({ "reason": "ticket 1" }),
            )
            .await;
        r.assert_refused(Status::Forbidden, "sudo_required");
        // An HTML form is sent to the sudo page.
        let r = app
            .submit_owned(&format!("/admin/users/{target}/lock"), &[])
            .await;
        assert_eq!(r.status, Status::SeeOther);
        assert!(r.location.starts_with("/users/sudo"), "{}", r.location);
        assert!(
            users::find_by_id(&t.db, target)
                .await
                .unwrap()
                .unwrap()
                .admin_locked_at
                .is_none()
        );
        // After confirming the password the same action goes through.
        let r = app
            .submit_owned("/users/sudo", &[("password", PASSWORD)])
            .await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.body);
        act(&app, target, "lock").await.assert_ok(Status::Ok);
        t
    }

    async fn the_dashboard_counts_accounts_and_draws_daily_charts(t: TestDb) -> TestDb {
        let app = admin_app(&t).await;
        let ann = user_browser(&app, "ann@example.com").await;
        ann.log_out().await;
        // A failed log-in and an unconfirmed account.
        ann.log_in("ann@example.com", "wrong password here", false)
            .await;
        ann.register("bob@example.com", PASSWORD).await;
        let bob = user_id(&t, "bob@example.com").await;
        act(&app, bob, "ban").await.assert_ok(Status::Ok);

        let r = app.json_get("/admin").await;
        let d = r.assert_ok(Status::Ok);
        assert_eq!(d["users"], 3, "{d}");
        assert_eq!(d["confirmed"], 2, "{d}");
        assert_eq!(d["banned"], 1, "{d}");
        assert_eq!(d["locked"], 0, "{d}");
        assert_eq!(d["with_mfa"], 0, "{d}");
        assert_eq!(d["signups"].as_array().unwrap().len(), 30);
        let today = d["signups"][29].clone();
        assert_eq!(today["date"], "2026-06-01");
        assert_eq!(today["count"], 3);
        assert_eq!(d["login_successes"][29]["count"], 2, "{d}");
        assert_eq!(d["login_failures"][29]["count"], 1, "{d}");
        assert_eq!(d["signups"][0]["count"], 0);

        let (status, html) = app.body("/admin").await;
        assert_eq!(status, Status::Ok);
        assert_eq!(html.matches("<svg class=\"chart\"").count(), 3, "{html}");
        assert!(html.contains("role=\"img\""));
        assert!(html.contains("3 in the last 30 days"), "{html}");
        assert!(!html.contains("<script"), "charts need no script");
        t
    }

    async fn user_search_finds_by_email_prefix_filters_and_pages_by_keyset(t: TestDb) -> TestDb {
        let app = admin_app(&t).await;
        let now = app.clock.now();
        for i in 0..120 {
            let id = sigra_core::store::new_id(&app.clock);
            let email = format!("user{i:03}@example.com");
            users::insert(&t.db, id, &email, None, now).await.unwrap();
            if i % 10 == 0 {
                users::confirm(&t.db, id, now).await.unwrap();
            }
        }
        // Prefix, paged 50 at a time, every match exactly once, in email order.
        let mut seen = Vec::new();
        let mut path = "/admin/users?q=USER0".to_owned();
        loop {
            let r = app.json_get(&path).await;
            let body = r.assert_ok(Status::Ok).clone();
            for u in body["users"].as_array().unwrap() {
                seen.push(u["user"]["email"].as_str().unwrap().to_owned());
            }
            match body["next"].as_str() {
                Some(next) => path = format!("/admin/users?q=user0&page={next}"),
                None => break,
            }
        }
        let expected: Vec<String> = (0..100)
            .map(|i| format!("user{i:03}@example.com"))
            .collect();
        assert_eq!(seen, expected);
        // Filters.
        let r = app.json_get("/admin/users?filter=unconfirmed&q=user").await;
        let body = r.assert_ok(Status::Ok).clone();
        assert_eq!(body["users"].as_array().unwrap().len(), 50);
        assert!(
            body["users"]
                .as_array()
                .unwrap()
                .iter()
                .all(|u| u["user"]["confirmed_at"].is_null())
        );
        let r = app.json_get("/admin/users?filter=admin").await;
        let admins = r.assert_ok(Status::Ok)["users"].as_array().unwrap().clone();
        assert_eq!(admins.len(), 1);
        assert_eq!(admins[0]["user"]["email"], ADMIN_EMAIL);
        let target = user_id(&t, "user007@example.com").await;
        act(&app, target, "ban").await.assert_ok(Status::Ok);
        let r = app.json_get("/admin/users?filter=banned").await;
        let banned = r.assert_ok(Status::Ok)["users"].as_array().unwrap().clone();
        assert_eq!(banned.len(), 1);
        assert_eq!(banned[0]["user"]["email"], "user007@example.com");
        assert_eq!(banned[0]["banned"], true);
        // The page shows the list with a next link.
        let (status, html) = app.body("/admin/users?q=user").await;
        assert_eq!(status, Status::Ok);
        assert_eq!(html.matches("class=\"user-row\"").count(), 50);
        assert!(html.contains("id=\"users-next\""));
        t
    }

    async fn the_user_page_shows_the_whole_account(t: TestDb) -> TestDb {
        let app = admin_app(&t).await;
        let ann = user_browser(&app, "ann@example.com").await;
        let id = user_id(&t, "ann@example.com").await;
        crate::organizations::create_org(&ann, "Acme", "acme").await;
        let r = app.json_get(&format!("/admin/users/{id}")).await;
        let body = r.assert_ok(Status::Ok).clone();
        assert_eq!(body["user"]["email"], "ann@example.com");
        assert_eq!(body["sessions"].as_array().unwrap().len(), 1, "{body}");
        assert_eq!(body["organizations"][0]["slug"], "acme");
        assert_eq!(body["totp"], false);
        let actions: Vec<&str> = body["audit"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert!(actions.contains(&"registration"), "{actions:?}");
        assert!(actions.contains(&"organization.created"), "{actions:?}");
        let (status, html) = app.body(&format!("/admin/users/{id}")).await;
        assert_eq!(status, Status::Ok);
        for section in [
            "sessions-heading",
            "factors-heading",
            "timeline-heading",
            "action-ban",
        ] {
            assert!(html.contains(section), "{section}");
        }
        let r = app.json_get(&format!("/admin/users/{}", Uuid::nil())).await;
        r.assert_refused(Status::NotFound, "user_not_found");
        t
    }

    async fn organizations_are_listed_by_slug_prefix_and_shown_with_their_members(
        t: TestDb,
    ) -> TestDb {
        let app = admin_app(&t).await;
        let ann = user_browser(&app, "ann@example.com").await;
        crate::organizations::create_org(&ann, "Acme", "acme").await;
        crate::organizations::create_org(&ann, "Acme Labs", "acme-labs").await;
        crate::organizations::create_org(&ann, "Zeta", "zeta").await;
        let r = app.json_get("/admin/organizations?q=acme").await;
        let body = r.assert_ok(Status::Ok).clone();
        let slugs: Vec<&str> = body["organizations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["slug"].as_str().unwrap())
            .collect();
        assert_eq!(slugs, ["acme", "acme-labs"]);
        let r = app.json_get("/admin/organizations/acme-labs").await;
        let body = r.assert_ok(Status::Ok).clone();
        assert_eq!(body["organization"]["name"], "Acme Labs");
        assert_eq!(body["members"][0]["email"], "ann@example.com");
        assert_eq!(body["members"][0]["role"], "owner");
        let (status, html) = app.body("/admin/organizations/acme-labs").await;
        assert_eq!(status, Status::Ok);
        assert!(html.contains("/admin/audit?organization="), "{html}");
        assert_eq!(
            app.json_get("/admin/organizations/nope").await.status,
            Status::NotFound
        );
        t
    }

    async fn a_locked_account_cannot_log_in_or_use_its_keys_until_an_admin_unlocks_it(
        t: TestDb,
    ) -> TestDb {
        let app = admin_app(&t).await;
        let ann = user_browser(&app, "ann@example.com").await;
        let id = user_id(&t, "ann@example.com").await;
        let key = crate::api_keys::new_key(&ann, "ci", 0).await.0;
        let boss = user_id(&t, ADMIN_EMAIL).await;

        act(&app, id, "lock").await.assert_ok(Status::Ok);
        assert!(
            sessions::list_for_user(&t.db, id, app.clock.now())
                .await
                .unwrap()
                .is_empty()
        );
        ann.json_get("/users/settings")
            .await
            .assert_refused(Status::Unauthorized, "not_authenticated");
        app.api(Method::Get, "/users/api/me", None, Some(&key))
            .await
            .assert_refused(Status::Unauthorized, "invalid_token");
        // Log-in answers exactly like a wrong password.
        let right = ann.log_in_owned("ann@example.com", PASSWORD, false).await;
        let wrong = ann
            .log_in_owned("ann@example.com", "not the password!", false)
            .await;
        assert_eq!(right.status, wrong.status);
        assert_eq!(right.status, Status::Unauthorized);
        // A password reset does not lift it.
        ann.submit("/users/reset-password", &[("email", "ann@example.com")])
            .await;
        let link = ann
            .link_for("ann@example.com", "/users/reset-password/")
            .await;
        let new = "a brand new password 2";
        ann.submit(&link, &[("password", new), ("password_confirmation", new)])
            .await;
        assert_eq!(
            ann.log_in_owned("ann@example.com", new, false).await.status,
            Status::Unauthorized
        );
        // A second lock changes nothing and records nothing.
        let r = act(&app, id, "lock").await;
        assert_eq!(r.assert_ok(Status::Ok)["changed"], false);

        act(&app, id, "unlock").await.assert_ok(Status::Ok);
        assert_eq!(
            ann.log_in_owned("ann@example.com", new, false).await.status,
            Status::SeeOther
        );
        assert_eq!(
            app.api(Method::Get, "/users/api/me", None, Some(&key))
                .await
                .status,
            Status::Ok
        );
        let events = events_about(&t, id).await;
        let locks = events.iter().filter(|e| e.0 == "admin.user_locked").count();
        assert_eq!(locks, 1, "{events:?}");
        assert!(events.contains(&("admin.user_locked".into(), Some(boss))));
        assert!(events.contains(&("admin.user_unlocked".into(), Some(boss))));
        t
    }

    async fn a_ban_ends_every_session_key_and_refresh_family_and_log_in_answers_like_a_wrong_password(
        t: TestDb,
    ) -> TestDb {
        let app = admin_app(&t).await;
        let ann = user_browser(&app, "ann@example.com").await;
        let id = user_id(&t, "ann@example.com").await;
        let key = crate::api_keys::new_key(&ann, "ci", 0).await.0;
        let tokens = app
            .api(
                Method::Post,
                "/users/api/token",
                Some(json!({ "email": "ann@example.com", "password": PASSWORD })),
                None,
            )
            .await;
        assert_eq!(tokens.status, Status::Ok, "{tokens:?}");
        let tokens = tokens.body.clone();
        let access = tokens["access_token"].as_str().unwrap().to_owned();

        act(&app, id, "ban").await.assert_ok(Status::Ok);
        assert!(
            sessions::list_for_user(&t.db, id, app.clock.now())
                .await
                .unwrap()
                .is_empty()
        );
        assert!(api_keys::list_for_user(&t.db, id).await.unwrap().is_empty());
        ann.json_get("/users/settings")
            .await
            .assert_refused(Status::Unauthorized, "not_authenticated");
        for bearer in [&key, &access] {
            app.api(Method::Get, "/users/api/me", None, Some(bearer))
                .await
                .assert_refused(Status::Unauthorized, "invalid_token");
        }
        let refresh = app
            .api(
                Method::Post,
                "/users/api/token/refresh",
                Some(json!({ "refresh_token": tokens["refresh_token"] })),
                None,
            )
            .await;
        assert_eq!(refresh.status, Status::Unauthorized, "{refresh:?}");
        let right = ann.log_in_owned("ann@example.com", PASSWORD, false).await;
        let wrong = ann
            .log_in_owned("ann@example.com", "not the password!", false)
            .await;
        assert_eq!(
            (right.status, right.body.len()),
            (wrong.status, wrong.body.len())
        );
        let json = app
            .api(
                Method::Post,
                "/users/api/token",
                Some(json!({ "email": "ann@example.com", "password": PASSWORD })),
                None,
            )
            .await;
        assert_eq!(json.status, Status::Unauthorized, "{json:?}");

        act(&app, id, "unban").await.assert_ok(Status::Ok);
        assert_eq!(
            ann.log_in_owned("ann@example.com", PASSWORD, false)
                .await
                .status,
            Status::SeeOther
        );
        let boss = user_id(&t, ADMIN_EMAIL).await;
        let events = events_about(&t, id).await;
        assert!(events.contains(&("admin.user_banned".into(), Some(boss))));
        assert!(events.contains(&("admin.user_unbanned".into(), Some(boss))));
        t
    }

    async fn admin_actions_revoke_sessions_send_a_reset_confirm_reset_mfa_and_schedule_deletion(
        t: TestDb,
    ) -> TestDb {
        let app = admin_app(&t).await;
        let boss = user_id(&t, ADMIN_EMAIL).await;
        let ann = user_browser(&app, "ann@example.com").await;
        let id = user_id(&t, "ann@example.com").await;

        // One session ended by the admin; the other browser stays logged in.
        let second = app.other_browser().await;
        second.log_in("ann@example.com", PASSWORD, false).await;
        let live = sessions::list_for_user(&t.db, id, app.clock.now())
            .await
            .unwrap();
        assert_eq!(live.len(), 2);
        let cookie = ann.cookie("sigra_session").unwrap();
        let hash = sigra_core::crypto::TokenHash::of_encoded(&cookie).unwrap();
        let first = sessions::find_by_hash(&t.db, &hash)
            .await
            .unwrap()
            .unwrap()
            .0
            .id;
        let path = format!("/admin/users/{id}/sessions/{first}");
        app.json(Method::Delete, &path, json!({}))
            .await
            .assert_ok(Status::Ok);
        app.json(Method::Delete, &path, json!({}))
            .await
            .assert_refused(Status::NotFound, "not_found");
        assert_eq!(
            ann.json_get("/users/settings").await.status,
            Status::Unauthorized
        );
        assert_eq!(second.json_get("/users/settings").await.status, Status::Ok);
        let events = events_about(&t, id).await;
        assert!(
            events.contains(&("session.revoked".into(), Some(boss))),
            "{events:?}"
        );

        act(&app, id, "revoke-sessions").await.assert_ok(Status::Ok);
        assert!(
            sessions::list_for_user(&t.db, id, app.clock.now())
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            ann.json_get("/users/settings").await.status,
            Status::Unauthorized
        );

        act(&app, id, "send-reset").await.assert_ok(Status::Ok);
        let link = ann
            .link_for("ann@example.com", "/users/reset-password/")
            .await;
        assert_eq!(ann.body(&link).await.0, Status::Ok);

        ann.register("bob@example.com", PASSWORD).await;
        let bob = user_id(&t, "bob@example.com").await;
        act(&app, bob, "confirm-email").await.assert_ok(Status::Ok);
        assert!(
            users::find_by_id(&t.db, bob)
                .await
                .unwrap()
                .unwrap()
                .confirmed_at
                .is_some()
        );

        // Two-step verification on, then reset by the admin: off, and the user is told.
        let cat_browser = app.other_browser().await;
        crate::mfa_totp::enrolled(&cat_browser, "cat@example.com").await;
        let cat = user_id(&t, "cat@example.com").await;
        assert!(
            users::find_by_id(&t.db, cat)
                .await
                .unwrap()
                .unwrap()
                .mfa_enabled_at
                .is_some()
        );
        act(&app, cat, "reset-mfa").await.assert_ok(Status::Ok);
        let user = users::find_by_id(&t.db, cat).await.unwrap().unwrap();
        assert!(user.mfa_enabled_at.is_none());
        let mails = app.mails_to("cat@example.com").await;
        assert!(
            mails
                .iter()
                .any(|m| m.subject.contains("administrator turned off"))
        );
        let events = events_about(&t, cat).await;
        assert!(
            events.contains(&("admin.mfa_reset".into(), Some(boss))),
            "{events:?}"
        );

        act(&app, id, "delete").await.assert_ok(Status::Ok);
        let user = users::find_by_id(&t.db, id).await.unwrap().unwrap();
        assert!(user.deletion_scheduled_at.is_some());

        let events = events_about(&t, id).await;
        for action in [
            "admin.sessions_revoked",
            "admin.reset_sent",
            "admin.deletion_scheduled",
        ] {
            assert!(
                events.contains(&(action.into(), Some(boss))),
                "{action}: {events:?}"
            );
        }
        let events = events_about(&t, bob).await;
        assert!(events.contains(&("admin.email_confirmed".into(), Some(boss))));
        t
    }

    async fn admins_cannot_lock_ban_reset_or_delete_themselves_or_another_admin(
        t: TestDb,
    ) -> TestDb {
        let app = admin_app(&t).await;
        let boss = user_id(&t, ADMIN_EMAIL).await;
        let _ann = user_browser(&app, "ann@example.com").await;
        let ann = user_id(&t, "ann@example.com").await;
        let meta = RequestMeta::default();
        admin::set_admin(&app.state().auth, "ann@example.com", true, &meta)
            .await
            .unwrap();
        for action in ["lock", "ban", "reset-mfa", "delete"] {
            act(&app, boss, action)
                .await
                .assert_refused(Status::Conflict, "admin_self_action");
            act(&app, ann, action)
                .await
                .assert_refused(Status::Conflict, "target_is_admin");
        }
        let ann_row = users::find_by_id(&t.db, ann).await.unwrap().unwrap();
        assert!(!ann_row.barred() && ann_row.deletion_scheduled_at.is_none());
        // The page says so too.
        let r = app
            .submit_owned(&format!("/admin/users/{ann}/ban"), &[])
            .await;
        assert_eq!(r.status, Status::Conflict);
        assert!(r.body.contains("is an admin"), "{}", r.body);
        t
    }
);

/// One request meeting each refusal of the admin console and impersonation, as
/// `(reason, status)` (for the reason table's test).
pub async fn refusals_over_http(t: &TestDb) -> Vec<(String, u16)> {
    let app = admin_app(t).await;
    let mut seen = Vec::new();
    let mut note =
        |a: crate::common::json::JsonAnswer| seen.push((a.reason().to_owned(), a.status.code));
    let boss = user_id(t, "boss@example.com").await;
    let ann = user_browser(&app, "admin-r-ann@example.com").await;
    let ann_id = user_id(t, "admin-r-ann@example.com").await;
    note(ann.json_get("/admin").await);
    note(act(&app, Uuid::nil(), "lock").await);
    note(act(&app, boss, "ban").await);
    let meta = RequestMeta::default();
    let auth = &app.state().auth;
    admin::set_admin(auth, "admin-r-ann@example.com", true, &meta)
        .await
        .unwrap();
    note(act(&app, ann_id, "ban").await);
    let impersonate = |id: Uuid, reason: &'static str| {
        let app = &app;
        async move {
            let path = format!("/admin/users/{id}/impersonate");
            app.json(Method::Post, &path, json!({ "reason": reason }))
                .await
        }
    };
    note(impersonate(ann_id, "ticket").await);
    admin::set_admin(auth, "admin-r-ann@example.com", false, &meta)
        .await
        .unwrap();
    note(impersonate(ann_id, "").await);
    impersonate(ann_id, "ticket").await.assert_ok(Status::Ok);
    note(app.json_get("/admin").await);
    seen
}

#[test]
fn an_unknown_action_is_not_one() {
    assert_eq!(admin::UserAction::from_slug("promote"), None);
    for a in admin::UserAction::ALL {
        assert_eq!(admin::UserAction::from_slug(a.slug()), Some(a));
    }
}
