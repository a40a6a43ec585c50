//! Impersonation: an admin acting as an account, and every guardrail: a reason and sudo
//! to start, never an admin, never yourself, never nested; the blocked routes (from the
//! route table) refused with `impersonation_forbidden`; `impersonator_id` on every event
//! it causes; the admin's own session kept and restored; expiry by the clock; the mail
//! to the user; organization admins only when allowed and only for their members.

use rocket::http::{Method, Status};
use serde_json::json;
use sigra_core::Clock;
use sigra_core::features::audit::{self, AuditFilter};
use sigra_core::features::{RequestMeta, admin as admin_flows};
use sigra_core::store::{AuditEvent, sessions};
use uuid::Uuid;

use crate::admin::{admin_app, user_browser};
use crate::common::TestDb;
use crate::common::app::{ADMIN_EMAIL, PASSWORD, TestApp, app_with, figment};
use crate::organizations::{create_org, user_id};

/// Starts acting as `target` from `app` (an admin within sudo) as a JSON client.
async fn impersonate(app: &TestApp, target: Uuid, reason: &str) -> crate::common::json::JsonAnswer {
    app.json(
        Method::Post,
        &format!("/admin/users/{target}/impersonate"),
        json!({ "reason": reason }),
    )
    .await
}

/// Every event by or about `user`, newest first.
async fn events(t: &TestDb, user: Uuid) -> Vec<AuditEvent> {
    audit::list(&t.db, &AuditFilter::for_user(user))
        .await
        .unwrap()
}

/// Who the browser is logged in as, per `GET /users/api/me`.
async fn me(app: &TestApp) -> Option<String> {
    let r = app.json_get("/users/api/me").await;
    (r.status == Status::Ok).then(|| r.body["email"].as_str().unwrap().to_owned())
}

conformance!(
    async fn an_admin_acts_as_a_user_and_gets_their_own_session_back(t: TestDb) -> TestDb {
        let app = admin_app(&t).await;
        let boss = user_id(&t, ADMIN_EMAIL).await;
        let _ann = user_browser(&app, "ann@example.com").await;
        let ann = user_id(&t, "ann@example.com").await;
        let admin_session = app.cookie("sigra_session").unwrap();

        // A reason is required.
        impersonate(&app, ann, "  ")
            .await
            .assert_refused(Status::UnprocessableEntity, "reason_required");
        let r = impersonate(&app, ann, "Ticket 4411: invoices page errors").await;
        r.assert_ok(Status::Ok);
        assert_eq!(me(&app).await.as_deref(), Some("ann@example.com"));
        // The admin's own session is kept aside, untouched.
        assert_eq!(
            app.cookie("sigra_impersonator").as_deref(),
            Some(admin_session.as_str())
        );

        // Every Sigra page carries the banner.
        let (status, html) = app.body("/users/settings").await;
        assert_eq!(status, Status::Ok);
        assert!(html.contains("id=\"impersonation-banner\""), "{html}");
        assert!(html.contains("Ticket 4411"), "{html}");
        // The admin area is closed while impersonating.
        app.json_get("/admin")
            .await
            .assert_refused(Status::Forbidden, "impersonation_forbidden");

        // What the impersonation does is recorded with the admin as impersonator.
        let r = app
            .json(Method::Post, "/users/settings/sessions/others", json!({}))
            .await;
        r.assert_ok(Status::Ok);
        let caused: Vec<_> = events(&t, ann)
            .await
            .into_iter()
            .filter(|e| e.action == "session.revoked_others")
            .collect();
        assert_eq!(caused.len(), 1);
        assert_eq!(caused[0].impersonator_id, Some(boss));
        assert_eq!(caused[0].actor_id, Some(ann));

        // Stopping brings the admin back with a new token and tells the user.
        let r = app
            .json(Method::Delete, "/admin/impersonation", json!({}))
            .await;
        let body = r.assert_ok(Status::Ok).clone();
        assert_eq!(body["next"], format!("/admin/users/{ann}"));
        assert_eq!(me(&app).await.as_deref(), Some(ADMIN_EMAIL));
        assert_ne!(app.cookie("sigra_session").unwrap(), admin_session);
        assert!(app.cookie("sigra_impersonator").is_none());
        assert_eq!(app.json_get("/admin").await.status, Status::Ok);
        let mails = app.mails_to("ann@example.com").await;
        let told = mails
            .iter()
            .find(|m| m.subject.contains("acted as you"))
            .expect("the user is told");
        assert!(told.text.contains("Ticket 4411"), "{}", told.text);
        let all = events(&t, ann).await;
        let ended = all
            .iter()
            .find(|e| e.action == "impersonation.ended")
            .unwrap();
        assert_eq!(ended.actor_id, Some(boss));
        assert_eq!(ended.metadata.0["how"], "stopped");
        let started = all
            .iter()
            .find(|e| e.action == "impersonation.started")
            .unwrap();
        assert_eq!(
            started.metadata.0["reason"],
            "Ticket 4411: invoices page errors"
        );
        // No impersonation session is left.
        let left = sessions::list_for_user(&t.db, ann, app.clock.now())
            .await
            .unwrap();
        assert!(left.iter().all(|s| s.impersonator_id.is_none()));
        t
    }

    async fn every_blocked_change_is_refused_while_impersonating(t: TestDb) -> TestDb {
        let app = admin_app(&t).await;
        let _ann = user_browser(&app, "ann@example.com").await;
        let ann = user_id(&t, "ann@example.com").await;
        impersonate(&app, ann, "ticket 1")
            .await
            .assert_ok(Status::Ok);
        let base = "/users";
        let blocked: Vec<(String, String)> = app
            .client
            .rocket()
            .routes()
            .filter(|r| r.method != Method::Get && r.method != Method::Head)
            .filter(|r| {
                let path = r.uri.path().to_string();
                sigra_rocket::FORBIDDEN_WHILE_IMPERSONATING.iter().any(|p| {
                    let p = format!("{base}{p}");
                    path == p || path.starts_with(&format!("{p}/"))
                })
            })
            .map(|r| (r.method.to_string(), r.uri.path().to_string()))
            .collect();
        crate::common::app::assert_exact_routes(
            blocked.clone(),
            &[
                ("POST", "/users/settings/password"),
                ("POST", "/users/settings/set-password"),
                ("POST", "/users/settings/email"),
                ("POST", "/users/settings/email/cancel"),
                ("POST", "/users/settings/mfa/totp"),
                ("POST", "/users/settings/mfa/totp/setup"),
                ("DELETE", "/users/settings/mfa/totp"),
                ("POST", "/users/settings/mfa/backup-codes"),
                ("POST", "/users/settings/passkeys"),
                ("POST", "/users/settings/passkeys/options"),
                ("POST", "/users/settings/passkeys/<id>/mfa"),
                ("PATCH", "/users/settings/passkeys/<id>"),
                ("DELETE", "/users/settings/passkeys/<id>"),
                ("POST", "/users/settings/api-keys"),
                ("DELETE", "/users/settings/api-keys/<id>"),
                ("POST", "/users/settings/connections/<provider>"),
                ("DELETE", "/users/settings/connections/<id>"),
                ("POST", "/users/settings/delete"),
                ("POST", "/users/settings/delete/cancel"),
                ("POST", "/users/sudo"),
                ("POST", "/users/sudo/passkey"),
                ("POST", "/users/sudo/passkey/options"),
            ],
        );
        for (method, path) in &blocked {
            let path = path
                .replace("<id>", &Uuid::now_v7().to_string())
                .replace("<provider>", "idp")
                .replace("<token>", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
            let method: Method = method.parse().unwrap();
            let body = json!({ "password": PASSWORD, "current_password": PASSWORD, "name": "x" });
            let r = app.json(method, &path, body).await;
            r.assert_refused(Status::Forbidden, "impersonation_forbidden");
        }
        // The same through a plain HTML form: the error page, nothing changed.
        let r = app
            .submit_owned(
                "/users/settings/password",
                &[
                    ("current_password", PASSWORD),
                    ("password", "x"),
                    ("password_confirmation", "x"),
                ],
            )
            .await;
        assert_eq!(r.status, Status::Forbidden);
        // Every admin route is closed too.
        for path in ["/admin", "/admin/users", &format!("/admin/users/{ann}")] {
            app.json_get(path)
                .await
                .assert_refused(Status::Forbidden, "impersonation_forbidden");
        }
        let other = Uuid::now_v7();
        app.json(
            Method::Post,
            &format!("/admin/users/{other}/impersonate"),
            json!({ "reason": "x" }),
        )
        .await
        .assert_refused(Status::Forbidden, "impersonation_forbidden");
        // Reading stays open.
        assert_eq!(app.body("/users/settings").await.0, Status::Ok);
        t
    }

    async fn admins_yourself_and_unknown_accounts_cannot_be_impersonated(t: TestDb) -> TestDb {
        let app = admin_app(&t).await;
        let boss = user_id(&t, ADMIN_EMAIL).await;
        let _ann = user_browser(&app, "ann@example.com").await;
        let ann = user_id(&t, "ann@example.com").await;
        let meta = RequestMeta::default();
        admin_flows::set_admin(&app.state().auth, "ann@example.com", true, &meta)
            .await
            .unwrap();
        impersonate(&app, ann, "ticket")
            .await
            .assert_refused(Status::Conflict, "cannot_impersonate_admin");
        impersonate(&app, boss, "ticket")
            .await
            .assert_refused(Status::Conflict, "admin_self_action");
        impersonate(&app, Uuid::now_v7(), "ticket")
            .await
            .assert_refused(Status::NotFound, "user_not_found");
        // Without sudo, not at all.
        admin_flows::set_admin(&app.state().auth, "ann@example.com", false, &meta)
            .await
            .unwrap();
        app.clock.advance(time::Duration::minutes(16));
        impersonate(&app, ann, "ticket")
            .await
            .assert_refused(Status::Forbidden, "sudo_required");
        assert_eq!(me(&app).await.as_deref(), Some(ADMIN_EMAIL));
        t
    }

    async fn an_impersonation_ends_by_the_clock_and_the_admin_is_back(t: TestDb) -> TestDb {
        let app = admin_app(&t).await;
        let _ann = user_browser(&app, "ann@example.com").await;
        let ann = user_id(&t, "ann@example.com").await;
        impersonate(&app, ann, "ticket 7")
            .await
            .assert_ok(Status::Ok);
        app.clock.advance(time::Duration::minutes(29));
        assert_eq!(me(&app).await.as_deref(), Some("ann@example.com"));
        app.clock.advance(time::Duration::minutes(2));
        // Past 30 minutes: the next request is the admin's again.
        assert_eq!(me(&app).await.as_deref(), Some(ADMIN_EMAIL));
        let ended: Vec<_> = events(&t, ann)
            .await
            .into_iter()
            .filter(|e| e.action == "impersonation.ended")
            .collect();
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].metadata.0["how"], "expired");
        let mails = app.mails_to("ann@example.com").await;
        assert_eq!(
            mails
                .iter()
                .filter(|m| m.subject.contains("acted as you"))
                .count(),
            1
        );
        t
    }

    async fn an_abandoned_impersonation_is_ended_by_the_worker(t: TestDb) -> TestDb {
        let app = admin_app(&t).await;
        let _ann = user_browser(&app, "ann@example.com").await;
        let ann = user_id(&t, "ann@example.com").await;
        impersonate(&app, ann, "ticket 8")
            .await
            .assert_ok(Status::Ok);
        // The admin never comes back; the sweep ends it and tells the user.
        app.clock.advance(time::Duration::minutes(31));
        app.state().run_due_jobs().await.unwrap();
        let left = sessions::list_for_user(&t.db, ann, app.clock.now() - time::Duration::hours(1))
            .await
            .unwrap();
        assert!(left.iter().all(|s| s.impersonator_id.is_none()), "{left:?}");
        let mails = app.mails_to("ann@example.com").await;
        assert_eq!(
            mails
                .iter()
                .filter(|m| m.subject.contains("acted as you"))
                .count(),
            1
        );
        t
    }

    async fn logging_out_of_an_impersonation_ends_it(t: TestDb) -> TestDb {
        let app = admin_app(&t).await;
        let _ann = user_browser(&app, "ann@example.com").await;
        let ann = user_id(&t, "ann@example.com").await;
        impersonate(&app, ann, "ticket 9")
            .await
            .assert_ok(Status::Ok);
        let r = app.log_out().await;
        assert_eq!(r.status(), Status::SeeOther);
        drop(r);
        assert_eq!(me(&app).await.as_deref(), Some(ADMIN_EMAIL));
        let ended = events(&t, ann).await;
        assert!(ended.iter().any(|e| e.action == "impersonation.ended"));
        t
    }

    async fn organization_admins_impersonate_their_members_only_when_allowed(t: TestDb) -> TestDb {
        for allowed in [false, true] {
            let fig = figment(&t).merge(("sigra.admin.org_impersonation", allowed));
            let app = app_with(fig).await;
            let owner_email = format!("owner{allowed}@example.com");
            let member_email = format!("member{allowed}@example.com");
            let outsider_email = format!("outsider{allowed}@example.com");
            app.signed_up(&owner_email).await;
            let slug = format!("acme-{allowed}");
            let org = create_org(&app, "Acme", &slug).await;
            let member = crate::organizations::member(&app, &t, org, &member_email, "member").await;
            let co_owner = crate::organizations::member(
                &app,
                &t,
                org,
                &format!("co{allowed}@example.com"),
                "owner",
            )
            .await;
            let outsider = app.other_browser().await;
            outsider.signed_up(&outsider_email).await;
            let outsider = user_id(&t, &outsider_email).await;
            let start = |target: Uuid| {
                let path = format!("/organizations/{slug}/members/{target}/impersonate");
                let app = &app;
                async move {
                    app.json(Method::Post, &path, json!({ "reason": "help" }))
                        .await
                }
            };
            if !allowed {
                start(member)
                    .await
                    .assert_refused(Status::Forbidden, "organization_role_required");
                continue;
            }
            start(co_owner)
                .await
                .assert_refused(Status::Forbidden, "organization_role_required");
            start(outsider)
                .await
                .assert_refused(Status::Forbidden, "organization_role_required");
            start(member).await.assert_ok(Status::Ok);
            assert_eq!(me(&app).await.as_deref(), Some(member_email.as_str()));
            // Same guardrails: no credential change.
            app.json(
                Method::Post,
                "/users/settings/api-keys",
                json!({ "name": "k" }),
            )
            .await
            .assert_refused(Status::Forbidden, "impersonation_forbidden");
            let started = events(&t, member)
                .await
                .into_iter()
                .find(|e| e.action == "impersonation.started")
                .unwrap();
            assert_eq!(started.organization_id, Some(org));
            let r = app
                .json(Method::Delete, "/admin/impersonation", json!({}))
                .await;
            assert_eq!(r.assert_ok(Status::Ok)["next"], "/organizations");
            assert_eq!(me(&app).await.as_deref(), Some(owner_email.as_str()));
        }
        t
    }
);
