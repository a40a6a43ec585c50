//! Organizations: creating, listing, switching and deleting them; the active organization
//! and the guards host code takes; scoping host rows; organization API keys; personal
//! organizations; what deleting an account does to the organizations it owned.

use rocket::http::{Method, Status};
use serde_json::json;
use sigra_core::Clock;
use sigra_core::features::audit::{self, AuditFilter};
use sigra_core::store::organizations as orgs;
use sigra_core::store::{MembershipRow, users};
use uuid::Uuid;

use crate::common::TestDb;
use crate::common::app::{HOST_NOTES, PASSWORD, TestApp, app, app_with, figment};
use crate::common::json::JsonAnswer;

/// Creates organization `name` (slug `slug`) as the logged-in user; answers its id.
pub async fn create_org(app: &TestApp, name: &str, slug: &str) -> Uuid {
    let r = app
        .json(
            Method::Post,
            "/organizations",
            json!({ "name": name, "slug": slug }),
        )
        .await;
    r.assert_ok(Status::Ok);
    assert_eq!(r.body["next"], format!("/organizations/{slug}"), "{r:?}");
    Uuid::parse_str(r.body["organization"]["id"].as_str().unwrap()).unwrap()
}

/// The id of the account with `email`.
pub async fn user_id(t: &TestDb, email: &str) -> Uuid {
    users::find_by_email(&t.db, email)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Makes an account (no session) and gives it `role` in `org` directly in the store.
pub async fn member(app: &TestApp, t: &TestDb, org: Uuid, email: &str, role: &str) -> Uuid {
    let now = app.clock.now();
    let id = sigra_core::store::new_id(&app.clock);
    users::insert(&t.db, id, email, None, now).await.unwrap();
    add(app, t, org, id, role).await;
    id
}

/// Gives account `user` the role `role` in `org` directly in the store.
pub async fn add(app: &TestApp, t: &TestDb, org: Uuid, user: Uuid, role: &str) {
    let membership = MembershipRow {
        id: sigra_core::store::new_id(&app.clock),
        organization_id: org,
        user_id: user,
        role: role.to_owned(),
        created_at: app.clock.now(),
    };
    orgs::insert_membership(&t.db, &membership).await.unwrap();
}

/// The role of `user` in `org`, if a member.
pub async fn role_of(t: &TestDb, org: Uuid, user: Uuid) -> Option<String> {
    orgs::membership(&t.db, org, user)
        .await
        .unwrap()
        .map(|m| m.role)
}

/// The organization's audit events, newest first.
pub async fn org_events(t: &TestDb, org: Uuid) -> Vec<String> {
    audit::list(&t.db, &AuditFilter::for_organization(org))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

/// A host route's text (status and body).
async fn host(app: &TestApp, path: &str) -> (Status, String) {
    app.body(path).await
}

conformance!(
    async fn an_organization_is_created_switched_to_and_deleted_with_what_it_holds(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        app.signed_up("owner@example.com").await;
        let me = user_id(&t, "owner@example.com").await;
        // No organization yet: the host's guard says so.
        assert_eq!(
            app.json_get("/org").await.reason(),
            "no_active_organization"
        );

        // Created from the form: the creator is its only owner and works in it now.
        let r = app
            .submit("/organizations", &[("name", "Acme, Inc."), ("slug", "")])
            .await;
        assert_eq!(r.status(), Status::SeeOther);
        assert_eq!(crate::common::app::location(&r), "/organizations/acme-inc");
        let acme = orgs::find_by_slug(&t.db, "acme-inc")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(acme.name, "Acme, Inc.");
        assert!(!acme.personal);
        assert_eq!(role_of(&t, acme.id, me).await.as_deref(), Some("owner"));
        assert_eq!(
            host(&app, "/org").await,
            (Status::Ok, "org acme-inc owner".into())
        );
        let r = app
            .client
            .get("/organizations")
            .remote(crate::common::app::CLIENT)
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Ok);
        // Sigra's pages outside the base path get Sigra's headers too.
        let csp = r
            .headers()
            .get_one("Content-Security-Policy")
            .unwrap_or_default();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert_eq!(r.headers().get_one("Cache-Control"), Some("no-store"));
        let html = r.into_string().await.unwrap();
        assert!(html.contains("Acme, Inc."), "{html}");
        let (status, html) = app.body("/organizations/acme-inc").await;
        assert_eq!(status, Status::Ok);
        assert!(html.contains("owner@example.com") && html.contains("id=\"invite-email\""));

        // A second one; switching back is a POST and lasts for the session.
        app.clock.advance(time::Duration::seconds(1));
        let beta = create_org(&app, "Beta", "beta").await;
        assert_eq!(host(&app, "/org").await.1, "org beta owner");
        // The account's data export lists its organizations and roles.
        let (status, export) = app.body("/users/settings/export").await;
        assert_eq!(status, Status::Ok);
        let export: serde_json::Value = serde_json::from_str(&export).unwrap();
        assert_eq!(export["organizations"][1]["slug"], "beta");
        assert_eq!(export["organizations"][0]["role"], "owner");
        let r = app.submit("/organizations/acme-inc/switch", &[]).await;
        assert_eq!(r.status(), Status::SeeOther);
        assert_eq!(host(&app, "/org").await.1, "org acme-inc owner");
        let listed = app.json_get("/organizations").await;
        let listed = listed.assert_ok(Status::Ok);
        assert_eq!(listed["organizations"].as_array().unwrap().len(), 2);
        assert_eq!(listed["active_id"], json!(acme.id));

        // An invitation and another member, then the deletion (owner, sudo).
        app.json(
            Method::Post,
            "/organizations/acme-inc/invitations",
            json!({ "email": "later@example.com", "role": "member" }),
        )
        .await
        .assert_ok(Status::Ok);
        member(&app, &t, acme.id, "m@example.com", "member").await;
        app.clock.advance(time::Duration::minutes(16));
        let r = app
            .json(Method::Delete, "/organizations/acme-inc", json!({}))
            .await;
        r.assert_refused(Status::Forbidden, "sudo_required");
        app.submit("/users/sudo", &[("password", PASSWORD)]).await;
        let r = app
            .submit("/organizations/acme-inc", &[("_method", "DELETE")])
            .await;
        assert_eq!(r.status(), Status::SeeOther);
        assert_eq!(
            crate::common::app::location(&r),
            "/organizations?notice=deleted"
        );
        assert!(orgs::find_by_id(&t.db, acme.id).await.unwrap().is_none());
        assert!(orgs::members(&t.db, acme.id).await.unwrap().is_empty());
        let now = app.clock.now();
        assert!(
            orgs::pending_invitations(&t.db, acme.id, now)
                .await
                .unwrap()
                .is_empty()
        );
        // The session falls back to the organization left.
        assert_eq!(host(&app, "/org").await.1, "org beta owner");
        assert_eq!(
            app.json_get("/organizations/acme-inc").await.reason(),
            "organization_not_found"
        );
        // Every step is in the audit log with the organization's id.
        let events = org_events(&t, acme.id).await;
        for action in [
            audit::ORGANIZATION_CREATED,
            audit::MEMBERSHIP_ADDED,
            audit::ORGANIZATION_SWITCHED,
            audit::INVITATION_SENT,
            audit::ORGANIZATION_DELETED,
        ] {
            assert!(events.iter().any(|e| e == action), "{action} in {events:?}");
        }
        assert!(
            org_events(&t, beta)
                .await
                .contains(&audit::ORGANIZATION_CREATED.to_owned())
        );
        t
    }

    async fn bad_names_and_taken_slugs_are_refused_by_field(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("names@example.com").await;
        create_org(&app, "Acme", "acme").await;
        let r = app
            .json(
                Method::Post,
                "/organizations",
                json!({ "name": "Other", "slug": "acme" }),
            )
            .await;
        r.assert_refused(Status::UnprocessableEntity, "invalid_fields");
        assert_eq!(r.field_reason("slug"), "slug_taken");
        let r = app
            .json(
                Method::Post,
                "/organizations",
                json!({ "name": " ", "slug": "-x" }),
            )
            .await;
        assert_eq!(r.field_reason("name"), "name_invalid");
        assert_eq!(r.field_reason("slug"), "slug_invalid");
        let r = app
            .json(
                Method::Post,
                "/organizations",
                json!({ "name": "Invites", "slug": "invitations" }),
            )
            .await;
        assert_eq!(r.field_reason("slug"), "slug_invalid");
        // The form keeps what was typed.
        let r = app
            .submit(
                "/organizations",
                &[("name", "Acme again"), ("slug", "acme")],
            )
            .await;
        assert_eq!(r.status(), Status::UnprocessableEntity);
        let html = r.into_string().await.unwrap();
        assert!(html.contains("value=\"Acme again\"") && html.contains("That address is taken"));
        assert_eq!(
            orgs::organizations_of(&t.db, user_id(&t, "names@example.com").await)
                .await
                .unwrap()
                .len(),
            1
        );
        t
    }

    async fn removal_ends_a_members_access_on_their_next_request(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("boss@example.com").await;
        let acme = create_org(&app, "Acme", "acme").await;
        let other = app.other_browser().await;
        other.signed_up("worker@example.com").await;
        let worker = user_id(&t, "worker@example.com").await;
        add(&app, &t, acme, worker, "admin").await;
        other.submit("/organizations/acme/switch", &[]).await;
        assert_eq!(host(&other, "/org").await.1, "org acme admin");
        assert_eq!(host(&other, "/org/admin").await.1, "admin of acme");
        // An organization key the admin made acts in the organization.
        other.submit("/users/sudo", &[("password", PASSWORD)]).await;
        let key = other
            .json(
                Method::Post,
                "/users/settings/api-keys",
                json!({ "name": "ci", "organization": "acme" }),
            )
            .await;
        key.assert_ok(Status::Created);
        assert_eq!(key.body["api_key"]["organization_id"], json!(acme));
        let key = key.body["key"].as_str().unwrap().to_owned();
        let by_key = app.api(Method::Get, "/org", None, Some(&key)).await;
        assert_eq!(by_key.status, Status::Ok, "{by_key:?}");
        assert_eq!(by_key.text, "org acme admin");

        let r = app
            .json(
                Method::Delete,
                &format!("/organizations/acme/members/{worker}"),
                json!({}),
            )
            .await;
        r.assert_ok(Status::Ok);
        assert_eq!(role_of(&t, acme, worker).await, None);
        // The very next request of the removed member is refused, by cookie and by key.
        other
            .json_get("/org")
            .await
            .assert_refused(Status::Forbidden, "no_active_organization");
        let (status, _) = host(&other, "/org").await;
        assert_eq!(status, Status::Forbidden);
        app.api(Method::Get, "/org", None, Some(&key))
            .await
            .assert_refused(Status::Unauthorized, "invalid_token");
        other
            .json_get("/organizations/acme")
            .await
            .assert_refused(Status::NotFound, "organization_not_found");
        assert!(
            org_events(&t, acme)
                .await
                .contains(&audit::MEMBERSHIP_REMOVED.to_owned())
        );
        t
    }

    async fn the_scoping_helper_keeps_each_organization_to_its_own_rows(t: TestDb) -> TestDb {
        let app = app(&t).await;
        let uuid_type = match t.backend {
            sigra_core::store::Backend::Sqlite => "BLOB",
            sigra_core::store::Backend::Postgres => "UUID",
            _ => "BINARY(16)",
        };
        crate::common::admin_execute(
            &t.db,
            &format!("CREATE TABLE {HOST_NOTES} (organization_id {uuid_type} NOT NULL, body VARCHAR(100) NOT NULL)"),
        )
        .await;
        app.signed_up("ann@example.com").await;
        let a = create_org(&app, "A", "org-a").await;
        let b = create_org(&app, "B", "org-b").await;
        let outsider = app.other_browser().await;
        outsider.signed_up("zed@example.com").await;
        let z = create_org(&outsider, "Z", "org-z").await;
        for (org, body) in [(a, "a1"), (a, "a2"), (b, "b1"), (z, "z1")] {
            let stmt = sigra_rocket::sea_query::Query::insert()
                .into_table(sigra_rocket::sea_query::Alias::new(HOST_NOTES))
                .columns([
                    sigra_rocket::sea_query::Alias::new("organization_id"),
                    sigra_rocket::sea_query::Alias::new("body"),
                ])
                .values([org.into(), body.into()])
                .unwrap()
                .to_owned();
            sigra_core::store::Executor::execute(&t.db, &stmt)
                .await
                .unwrap();
        }
        // Ann works in B (created last), then A; Zed only ever sees Z's rows.
        assert_eq!(host(&app, "/org/notes").await, (Status::Ok, "b1".into()));
        app.submit("/organizations/org-a/switch", &[]).await;
        assert_eq!(host(&app, "/org/notes").await.1, "a1,a2");
        assert_eq!(host(&outsider, "/org/notes").await.1, "z1");
        // Zed cannot switch into A: the switch is refused and nothing changes.
        outsider
            .json(Method::Post, "/organizations/org-a/switch", json!({}))
            .await
            .assert_refused(Status::NotFound, "organization_not_found");
        assert_eq!(host(&outsider, "/org/notes").await.1, "z1");
        t
    }

    async fn guards_check_the_callers_role_and_named_organizations(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("own@example.com").await;
        let acme = create_org(&app, "Acme", "acme").await;
        let other = app.other_browser().await;
        other.signed_up("mem@example.com").await;
        let mem = user_id(&t, "mem@example.com").await;
        add(&app, &t, acme, mem, "member").await;
        assert_eq!(host(&app, "/org/owner").await.1, "owner of acme");
        assert_eq!(host(&other, "/org").await.1, "org acme member");
        other
            .json_get("/org/admin")
            .await
            .assert_refused(Status::Forbidden, "organization_role_required");
        other
            .json_get("/org/owner")
            .await
            .assert_refused(Status::Forbidden, "organization_role_required");
        app.json(
            Method::Patch,
            &format!("/organizations/acme/members/{mem}"),
            json!({ "role": "admin" }),
        )
        .await
        .assert_ok(Status::Ok);
        assert_eq!(host(&other, "/org/admin").await.1, "admin of acme");
        // A host route naming the organization itself.
        assert_eq!(
            host(&other, "/org/by-slug/acme").await.1,
            "member of acme as admin"
        );
        let stranger = app.other_browser().await;
        stranger.signed_up("stranger@example.com").await;
        assert_eq!(
            host(&stranger, "/org/by-slug/acme").await.0,
            Status::NotFound
        );
        // Not logged in: the usual 401.
        let anonymous = app.other_browser().await;
        anonymous
            .json_get("/org")
            .await
            .assert_refused(Status::Unauthorized, "not_authenticated");
        t
    }

    async fn organization_api_keys_need_an_administered_organization(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("keys@example.com").await;
        let acme = create_org(&app, "Acme", "acme").await;
        app.clock.advance(time::Duration::seconds(1));
        let beta = create_org(&app, "Beta", "beta").await;
        let me = user_id(&t, "keys@example.com").await;
        orgs::set_role(&t.db, beta, me, "member").await.unwrap();
        let refused = app
            .json(
                Method::Post,
                "/users/settings/api-keys",
                json!({ "name": "b", "organization": "beta" }),
            )
            .await;
        refused.assert_refused(Status::UnprocessableEntity, "invalid_fields");
        assert_eq!(refused.field_reason("organization"), "organization_invalid");
        let unknown = app
            .json(
                Method::Post,
                "/users/settings/api-keys",
                json!({ "name": "b", "organization": "nope" }),
            )
            .await;
        assert_eq!(unknown.field_reason("organization"), "organization_invalid");
        // A personal key acts in the account's default organization (the first joined).
        let personal = app
            .json(
                Method::Post,
                "/users/settings/api-keys",
                json!({ "name": "mine" }),
            )
            .await;
        let personal = personal.body["key"].as_str().unwrap().to_owned();
        assert_eq!(
            app.api(Method::Get, "/org", None, Some(&personal))
                .await
                .text,
            "org acme owner"
        );
        let owned = app
            .json(
                Method::Post,
                "/users/settings/api-keys",
                json!({ "name": "a", "organization": "acme" }),
            )
            .await;
        owned.assert_ok(Status::Created);
        let keys = app.json_get("/users/settings/api-keys").await;
        let listed = keys.body["api_keys"].as_array().unwrap();
        assert!(listed.iter().any(|k| k["organization_id"] == json!(acme)));
        let events = org_events(&t, acme).await;
        assert!(
            events.contains(&audit::API_KEY_CREATED.to_owned()),
            "{events:?}"
        );
        // Deleting the organization deletes its keys.
        let owned_key = owned.body["key"].as_str().unwrap().to_owned();
        assert_eq!(
            app.api(Method::Get, "/org", None, Some(&owned_key))
                .await
                .status,
            Status::Ok
        );
        app.json(Method::Delete, "/organizations/acme", json!({}))
            .await
            .assert_ok(Status::Ok);
        app.api(Method::Get, "/org", None, Some(&owned_key))
            .await
            .assert_refused(Status::Unauthorized, "invalid_token");
        t
    }

    async fn registration_makes_a_personal_organization_when_configured(t: TestDb) -> TestDb {
        let app = app_with(figment(&t).merge(("sigra.organizations.personal", true))).await;
        app.signed_up("solo@example.com").await;
        let me = user_id(&t, "solo@example.com").await;
        let mine = orgs::organizations_of(&t.db, me).await.unwrap();
        assert_eq!(mine.len(), 1);
        assert!(mine[0].personal);
        assert_eq!(mine[0].role, "owner");
        assert!(mine[0].slug.starts_with("personal-"));
        assert_eq!(
            host(&app, "/org").await.1,
            format!("org {} owner", mine[0].slug)
        );
        // Nobody can be invited into it.
        let r = app
            .json(
                Method::Post,
                &format!("/organizations/{}/invitations", mine[0].slug),
                json!({ "email": "friend@example.com" }),
            )
            .await;
        r.assert_refused(Status::Conflict, "personal_organization");
        // Off (the library default): registration makes none.
        let plain = app_with(figment(&t)).await;
        plain.signed_up("plain@example.com").await;
        let none = orgs::organizations_of(&t.db, user_id(&t, "plain@example.com").await).await;
        assert!(none.unwrap().is_empty());
        t
    }

    async fn deleting_an_account_hands_its_sole_owned_organizations_on_or_deletes_them(
        t: TestDb,
    ) -> TestDb {
        let app = app_with(figment(&t).merge(("sigra.deletion.grace_days", 0))).await;
        app.signed_up("leaving@example.com").await;
        let me = user_id(&t, "leaving@example.com").await;
        let team = create_org(&app, "Team", "team").await;
        let empty = create_org(&app, "Empty", "empty").await;
        let shared = create_org(&app, "Shared", "shared").await;
        let member = member(&app, &t, team, "member@example.com", "member").await;
        let admin = member_later(&app, &t, team, "admin@example.com", "admin").await;
        let co = member_later(&app, &t, shared, "co@example.com", "owner").await;
        app.submit("/users/settings/delete", &[]).await;
        app.state().run_due_jobs().await.unwrap();
        sigra_core::features::deletion::execute_due(&app.state().auth)
            .await
            .unwrap();
        // Team passes to its oldest admin (not the older member); Empty is gone; Shared
        // keeps its other owner.
        assert_eq!(role_of(&t, team, me).await, None);
        assert_eq!(role_of(&t, team, admin).await.as_deref(), Some("owner"));
        assert_eq!(role_of(&t, team, member).await.as_deref(), Some("member"));
        assert!(orgs::find_by_id(&t.db, empty).await.unwrap().is_none());
        assert_eq!(role_of(&t, shared, co).await.as_deref(), Some("owner"));
        assert_eq!(orgs::members(&t.db, shared).await.unwrap().len(), 1);
        assert!(orgs::memberships_of(&t.db, me).await.unwrap().is_empty());
        assert!(
            org_events(&t, team)
                .await
                .contains(&audit::ORGANIZATION_OWNERSHIP_TRANSFERRED.to_owned())
        );
        t
    }
);

/// [`member`], joining a second later (so "oldest" is well defined).
async fn member_later(app: &TestApp, t: &TestDb, org: Uuid, email: &str, role: &str) -> Uuid {
    app.clock.advance(time::Duration::seconds(1));
    member(app, t, org, email, role).await
}

/// Meets every organization reason over HTTP as JSON, for the reason table.
pub async fn refusals_over_http(t: &TestDb) -> Vec<(String, u16)> {
    let app = app_with(
        figment(t)
            .merge(("sigra.organizations.personal", true))
            .merge(("sigra.organizations.invitations_per_hour", 1)),
    )
    .await;
    let mut seen = Vec::new();
    let mut note = |a: JsonAnswer| seen.push((a.reason().to_owned(), a.status.code));
    let nobody = app_with(figment(t)).await;
    nobody.signed_up("org-r-nobody@example.com").await;
    note(nobody.json_get("/org").await);
    app.signed_up("org-r-reasons@example.com").await;
    let me = user_id(t, "org-r-reasons@example.com").await;
    create_org(&app, "R", "rr").await;
    let r = orgs::find_by_slug(&t.db, "rr").await.unwrap().unwrap().id;
    note(app.json_get("/organizations/nope").await);
    note(
        app.json(Method::Post, "/organizations/rr/leave", json!({}))
            .await,
    );
    let ghost = Uuid::nil();
    note(
        app.json(
            Method::Delete,
            &format!("/organizations/rr/members/{ghost}"),
            json!({}),
        )
        .await,
    );
    note(
        app.json(
            Method::Delete,
            &format!("/organizations/rr/invitations/{ghost}"),
            json!({}),
        )
        .await,
    );
    let personal = orgs::organizations_of(&t.db, me).await.unwrap();
    let personal = personal.iter().find(|o| o.personal).unwrap();
    note(
        app.json(
            Method::Post,
            &format!("/organizations/{}/invitations", personal.slug),
            json!({ "email": "org-r-x@example.com" }),
        )
        .await,
    );
    app.json(
        Method::Post,
        "/organizations/rr/invitations",
        json!({ "email": "org-r-x@example.com" }),
    )
    .await
    .assert_ok(Status::Ok);
    note(
        app.json(
            Method::Post,
            "/organizations/rr/invitations",
            json!({ "email": "org-r-y@example.com" }),
        )
        .await,
    );
    note(
        nobody
            .json_get("/organizations/invitations/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
            .await,
    );
    let link = app
        .link_for("org-r-x@example.com", "/organizations/invitations/")
        .await;
    note(nobody.json(Method::Post, &link, json!({})).await);
    let member_browser = app.other_browser().await;
    member_browser.signed_up("org-r-m2@example.com").await;
    add(
        &app,
        t,
        r,
        user_id(t, "org-r-m2@example.com").await,
        "member",
    )
    .await;
    member_browser.submit("/organizations/rr/switch", &[]).await;
    note(
        member_browser
            .json(
                Method::Post,
                "/organizations/rr/invitations",
                json!({ "email": "org-r-z@example.com" }),
            )
            .await,
    );
    note(member_browser.json_get("/org/admin").await);
    // The account-exists refusal: the invited address has an account.
    seen.extend(account_exists(&app, t).await);
    seen
}

/// `invitation_account_exists`: an invitation to an address with an account, answered
/// with a password from a browser that is not logged in.
async fn account_exists(app: &TestApp, t: &TestDb) -> Vec<(String, u16)> {
    let owner = app.other_browser().await;
    owner.signed_up("org-r-exists-owner@example.com").await;
    create_org(&owner, "E", "ee").await;
    owner
        .json(
            Method::Post,
            "/organizations/ee/invitations",
            json!({ "email": "org-r-reasons@example.com" }),
        )
        .await
        .assert_ok(Status::Ok);
    let link = owner
        .link_for("org-r-reasons@example.com", "/organizations/invitations/")
        .await;
    let anonymous = app.other_browser().await;
    let r = anonymous
        .json(Method::Post, &link, json!({ "password": PASSWORD }))
        .await;
    assert!(
        role_of(
            t,
            orgs::find_by_slug(&t.db, "ee").await.unwrap().unwrap().id,
            user_id(t, "org-r-reasons@example.com").await
        )
        .await
        .is_none()
    );
    vec![(r.reason().to_owned(), r.status.code)]
}

#[rocket::get("/needs-organization")]
fn needs_organization(org: sigra_rocket::ActiveOrganization) -> String {
    org.slug().to_owned()
}

#[tokio::test]
async fn an_organization_guard_without_the_fairing_fails_at_launch() {
    let rocket = rocket::custom(rocket::Config::debug_default())
        .mount("/", rocket::routes![needs_organization]);
    let Err(err) = rocket.ignite().await else {
        panic!("the Sentinel aborts launch")
    };
    assert!(
        matches!(err.kind(), rocket::error::ErrorKind::SentinelAborts(_)),
        "{err:?}"
    );
}
