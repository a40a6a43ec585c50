//! Memberships: who may do what in an organization (every action by every role), and the
//! owner that always stays.

use rocket::http::{Method, Status};
use serde_json::json;
use sigra_core::Clock;
use sigra_core::features::audit;
use sigra_core::store::organizations as orgs;

use crate::common::TestDb;
use crate::common::app::app;
use crate::organizations::{add, create_org, member, org_events, role_of, user_id};

/// What the actor tries, in this order (each on its own target, so earlier successes do
/// not change later cases), and which roles may do it.
const MATRIX: &[(&str, [bool; 3])] = &[
    //                          member admin  owner
    ("see invitations", [false, true, true]),
    ("invite a member", [false, true, true]),
    ("invite an admin", [false, true, true]),
    ("invite an owner", [false, false, true]),
    ("revoke an invitation", [false, true, true]),
    ("make a member admin", [false, true, true]),
    ("make an admin member", [false, true, true]),
    ("make an admin owner", [false, false, true]),
    ("make an owner admin", [false, false, true]),
    ("remove a member", [false, true, true]),
    ("remove an admin", [false, true, true]),
    ("remove an owner", [false, false, true]),
    ("leave", [true, true, true]),
];

conformance!(
    async fn every_action_is_allowed_to_exactly_the_roles_the_table_names(t: TestDb) -> TestDb {
        for (column, actor_role) in ["member", "admin", "owner"].into_iter().enumerate() {
            let app = app(&t).await;
            let owner_email = format!("founder-{actor_role}@example.com");
            app.signed_up(&owner_email).await;
            let slug = format!("matrix-{actor_role}");
            let org = create_org(&app, "Matrix", &slug).await;
            let who = |name: &str| format!("{name}-{actor_role}@example.com");
            let m1 = member(&app, &t, org, &who("m1"), "member").await;
            let m2 = member(&app, &t, org, &who("m2"), "member").await;
            let a1 = member(&app, &t, org, &who("a1"), "admin").await;
            let a2 = member(&app, &t, org, &who("a2"), "admin").await;
            let a3 = member(&app, &t, org, &who("a3"), "admin").await;
            let o2 = member(&app, &t, org, &who("o2"), "owner").await;
            let o3 = member(&app, &t, org, &who("o3"), "owner").await;
            app.json(
                Method::Post,
                &format!("/organizations/{slug}/invitations"),
                json!({ "email": who("pending") }),
            )
            .await
            .assert_ok(Status::Ok);
            let pending = orgs::pending_invitations(&t.db, org, app.clock.now())
                .await
                .unwrap()[0]
                .id;
            let actor = app.other_browser().await;
            let actor_email = who("actor");
            actor.signed_up(&actor_email).await;
            add(&app, &t, org, user_id(&t, &actor_email).await, actor_role).await;

            let base = format!("/organizations/{slug}");
            let patch = |id| (Method::Patch, format!("{base}/members/{id}"));
            let remove = |id| (Method::Delete, format!("{base}/members/{id}"));
            for (action, allowed) in MATRIX {
                let allowed = allowed[column];
                let r = match *action {
                    "see invitations" => {
                        let page = actor.json_get(&base).await;
                        let seen = !page.body["invitations"].as_array().unwrap().is_empty();
                        assert_eq!(seen, allowed, "{actor_role}: {action}");
                        continue;
                    }
                    "invite a member" | "invite an admin" | "invite an owner" => {
                        let role = action.rsplit(' ').next().unwrap();
                        let body = json!({ "email": who(role), "role": role });
                        let path = format!("{base}/invitations");
                        actor.json(Method::Post, &path, body).await
                    }
                    "revoke an invitation" => {
                        let path = format!("{base}/invitations/{pending}");
                        actor.json(Method::Delete, &path, json!({})).await
                    }
                    "make a member admin" => {
                        let (m, p) = patch(m1);
                        actor.json(m, &p, json!({ "role": "admin" })).await
                    }
                    "make an admin member" => {
                        let (m, p) = patch(a1);
                        actor.json(m, &p, json!({ "role": "member" })).await
                    }
                    "make an admin owner" => {
                        let (m, p) = patch(a2);
                        actor.json(m, &p, json!({ "role": "owner" })).await
                    }
                    "make an owner admin" => {
                        let (m, p) = patch(o2);
                        actor.json(m, &p, json!({ "role": "admin" })).await
                    }
                    "remove a member" => {
                        let (m, p) = remove(m2);
                        actor.json(m, &p, json!({})).await
                    }
                    "remove an admin" => {
                        let (m, p) = remove(a3);
                        actor.json(m, &p, json!({})).await
                    }
                    "remove an owner" => {
                        let (m, p) = remove(o3);
                        actor.json(m, &p, json!({})).await
                    }
                    "leave" => {
                        let path = format!("{base}/leave");
                        actor.json(Method::Post, &path, json!({})).await
                    }
                    other => panic!("no case for {other}"),
                };
                if allowed {
                    r.assert_ok(Status::Ok);
                } else {
                    r.assert_refused(Status::Forbidden, "organization_forbidden");
                }
            }
            // What the table allowed happened in the store; what it refused did not.
            let [_, admin_or_more, owner] = [false, column >= 1, column == 2];
            assert_eq!(
                role_of(&t, org, m1).await.as_deref(),
                Some(if admin_or_more { "admin" } else { "member" })
            );
            assert_eq!(
                role_of(&t, org, a1).await.as_deref(),
                Some(if admin_or_more { "member" } else { "admin" })
            );
            assert_eq!(
                role_of(&t, org, a2).await.as_deref(),
                Some(if owner { "owner" } else { "admin" })
            );
            assert_eq!(
                role_of(&t, org, o2).await.as_deref(),
                Some(if owner { "admin" } else { "owner" })
            );
            assert_eq!(role_of(&t, org, m2).await.is_none(), admin_or_more);
            assert_eq!(role_of(&t, org, a3).await.is_none(), admin_or_more);
            assert_eq!(role_of(&t, org, o3).await.is_none(), owner);
            let pending_now = orgs::pending_invitations(&t.db, org, app.clock.now())
                .await
                .unwrap();
            let expected = 1 + usize::from(admin_or_more) * 2 + usize::from(owner)
                - usize::from(admin_or_more);
            assert_eq!(pending_now.len(), expected, "{actor_role}: {pending_now:?}");
            assert_eq!(
                role_of(&t, org, user_id(&t, &actor_email).await).await,
                None
            );
        }
        t
    }

    async fn the_last_owner_can_never_leave_be_removed_or_be_demoted(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.signed_up("only@example.com").await;
        let me = user_id(&t, "only@example.com").await;
        let org = create_org(&app, "Solo", "solo").await;
        let admin = member(&app, &t, org, "deputy@example.com", "admin").await;
        app.json(Method::Post, "/organizations/solo/leave", json!({}))
            .await
            .assert_refused(Status::Conflict, "last_owner");
        app.json(
            Method::Patch,
            &format!("/organizations/solo/members/{me}"),
            json!({ "role": "admin" }),
        )
        .await
        .assert_refused(Status::Conflict, "last_owner");
        app.json(
            Method::Delete,
            &format!("/organizations/solo/members/{me}"),
            json!({}),
        )
        .await
        .assert_refused(Status::Conflict, "last_owner");
        // The page says so, keeping the form.
        let r = app.submit("/organizations/solo/leave", &[]).await;
        assert_eq!(r.status(), Status::Conflict);
        assert!(r.into_string().await.unwrap().contains("needs an owner"));
        assert_eq!(role_of(&t, org, me).await.as_deref(), Some("owner"));
        // With a second owner, one may go; then the other is the last again.
        app.json(
            Method::Patch,
            &format!("/organizations/solo/members/{admin}"),
            json!({ "role": "owner" }),
        )
        .await
        .assert_ok(Status::Ok);
        app.json(
            Method::Patch,
            &format!("/organizations/solo/members/{me}"),
            json!({ "role": "member" }),
        )
        .await
        .assert_ok(Status::Ok);
        assert_eq!(orgs::count_owners(&t.db, org).await.unwrap(), 1);
        assert_eq!(role_of(&t, org, admin).await.as_deref(), Some("owner"));
        // A member can no longer touch the owner.
        app.json(
            Method::Delete,
            &format!("/organizations/solo/members/{admin}"),
            json!({}),
        )
        .await
        .assert_refused(Status::Forbidden, "organization_forbidden");
        app.json(Method::Post, "/organizations/solo/leave", json!({}))
            .await
            .assert_ok(Status::Ok);
        let events = org_events(&t, org).await;
        assert!(events.contains(&audit::MEMBERSHIP_ROLE_CHANGED.to_owned()));
        assert!(events.contains(&audit::MEMBERSHIP_LEFT.to_owned()));
        t
    }
);
