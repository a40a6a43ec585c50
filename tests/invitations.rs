//! Invitations: the mailed link, accepted by the invited account, refused to another,
//! turned into a new confirmed account, used once, expired, revoked, throttled.

use rocket::http::{Method, Status};
use serde_json::json;
use sigra_core::Clock;
use sigra_core::features::audit;
use sigra_core::store::organizations as orgs;
use sigra_core::store::users;
use time::Duration;

use crate::common::TestDb;
use crate::common::app::{PASSWORD, TestApp, app, app_with, figment, location};
use crate::organizations::{create_org, member, org_events, role_of, user_id};

/// An owner of organization `acme` who invited `email` as `role`; answers the owner's
/// browser, the organization's id and the link's path.
async fn invited(t: &TestDb, app: &TestApp, email: &str, role: &str) -> (uuid::Uuid, String) {
    app.signed_up("inviter@example.com").await;
    let org = create_org(app, "Acme", "acme").await;
    let r = app
        .json(
            Method::Post,
            "/organizations/acme/invitations",
            json!({ "email": email, "role": role }),
        )
        .await;
    r.assert_ok(Status::Ok);
    assert_eq!(r.body["invitation"]["role"], role);
    let _ = t;
    (
        org,
        app.link_for(email, "/organizations/invitations/").await,
    )
}

conformance!(
    async fn the_invited_account_accepts_from_the_mailed_link_once(t: TestDb) -> TestDb {
        let app = app(&t).await;
        let (org, link) = invited(&t, &app, "bob@example.com", "admin").await;
        let mail = &app.mails_to("bob@example.com").await[0];
        assert!(mail.subject.contains("Acme"), "{}", mail.subject);
        assert!(mail.text.contains("7 days"), "{}", mail.text);
        // Stored as a digest: the token in the link is nowhere in the table.
        let token = link.rsplit('/').next().unwrap();
        let row = orgs::pending_invitations(&t.db, org, app.clock.now())
            .await
            .unwrap();
        assert_eq!(row.len(), 1);
        assert_eq!(row[0].email, "bob@example.com");
        assert!(!format!("{row:?}").contains(token));

        let bob = app.other_browser().await;
        bob.signed_up("bob@example.com").await;
        let (status, html) = bob.body(&link).await;
        assert_eq!(status, Status::Ok);
        assert!(html.contains("id=\"invitation-accept\"") && html.contains("Acme"));
        let r = bob.submit(&link, &[]).await;
        assert_eq!(r.status(), Status::SeeOther);
        assert_eq!(location(&r), "/organizations/acme?notice=joined");
        let bob_id = user_id(&t, "bob@example.com").await;
        assert_eq!(role_of(&t, org, bob_id).await.as_deref(), Some("admin"));
        // The session now works in it.
        assert_eq!(bob.body("/org").await.1, "org acme admin");
        // Used up: a second use, by anyone, is refused like an unknown link.
        bob.json(Method::Post, &link, json!({}))
            .await
            .assert_refused(Status::NotFound, "invitation_invalid");
        let (status, html) = bob.body(&link).await;
        assert_eq!(status, Status::NotFound);
        assert!(html.contains("id=\"invitation-invalid\""));
        let events = org_events(&t, org).await;
        assert!(events.contains(&audit::INVITATION_SENT.to_owned()));
        assert!(events.contains(&audit::INVITATION_ACCEPTED.to_owned()));
        assert!(events.contains(&audit::MEMBERSHIP_ADDED.to_owned()));
        t
    }

    async fn another_account_is_told_and_the_invitation_stays_open(t: TestDb) -> TestDb {
        let app = app(&t).await;
        let (org, link) = invited(&t, &app, "right@example.com", "member").await;
        let wrong = app.other_browser().await;
        wrong.signed_up("wrong@example.com").await;
        let (status, html) = wrong.body(&link).await;
        assert_eq!(status, Status::Forbidden);
        assert!(html.contains("id=\"invitation-wrong-account\""), "{html}");
        assert!(html.contains("id=\"invitation-switch-account\""));
        wrong
            .json(Method::Post, &link, json!({}))
            .await
            .assert_refused(Status::Forbidden, "invitation_wrong_account");
        assert_eq!(
            role_of(&t, org, user_id(&t, "wrong@example.com").await).await,
            None
        );
        // Switching accounts in that browser, the right one accepts.
        wrong.log_out().await;
        wrong.register("right@example.com", PASSWORD).await;
        wrong.log_in("right@example.com", PASSWORD, false).await;
        wrong
            .json(Method::Post, &link, json!({}))
            .await
            .assert_ok(Status::Ok);
        assert!(
            role_of(&t, org, user_id(&t, "right@example.com").await)
                .await
                .is_some()
        );
        t
    }

    async fn an_invitee_without_an_account_creates_it_confirmed_and_joins(t: TestDb) -> TestDb {
        let app = app(&t).await;
        let (org, link) = invited(&t, &app, "new@example.com", "member").await;
        let newcomer = app.other_browser().await;
        let (status, html) = newcomer.body(&link).await;
        assert_eq!(status, Status::Ok);
        assert!(html.contains("id=\"invitation-register\""));
        assert!(html.contains("value=\"new@example.com\""), "{html}");
        assert!(html.contains(" readonly"), "{html}");
        // A weak password re-renders the form; nothing is written.
        let r = newcomer
            .json(Method::Post, &link, json!({ "password": "short" }))
            .await;
        r.assert_refused(Status::UnprocessableEntity, "invalid_fields");
        assert_eq!(r.field_reason("password"), "password_too_short");
        assert!(
            users::find_by_email(&t.db, "new@example.com")
                .await
                .unwrap()
                .is_none()
        );
        let r = newcomer.submit(&link, &[("password", PASSWORD)]).await;
        assert_eq!(r.status(), Status::SeeOther);
        assert_eq!(location(&r), "/organizations/acme?notice=joined");
        let user = users::find_by_email(&t.db, "new@example.com")
            .await
            .unwrap()
            .unwrap();
        assert!(user.confirmed_at.is_some(), "the link proved the address");
        assert_eq!(role_of(&t, org, user.id).await.as_deref(), Some("member"));
        // Logged in, in the organization; no confirmation mail was needed.
        assert_eq!(newcomer.body("/org").await.1, "org acme member");
        assert!(
            newcomer
                .mails_to("new@example.com")
                .await
                .iter()
                .all(|m| !m.text.contains("/users/confirm/"))
        );
        // The password works for later log-ins.
        let later = app.other_browser().await;
        assert_eq!(
            later
                .log_in("new@example.com", PASSWORD, false)
                .await
                .status(),
            Status::SeeOther
        );
        t
    }

    async fn an_invited_address_with_an_account_is_sent_to_log_in(t: TestDb) -> TestDb {
        let app = app(&t).await;
        let other = app.other_browser().await;
        other.register("has@example.com", PASSWORD).await;
        let (org, link) = invited(&t, &app, "has@example.com", "member").await;
        let anonymous = app.other_browser().await;
        let (_, html) = anonymous.body(&link).await;
        assert!(html.contains("id=\"invitation-log-in\""), "{html}");
        assert!(!html.contains("id=\"invitation-register\""));
        anonymous
            .json(
                Method::Post,
                &link,
                json!({ "password": "another password 123" }),
            )
            .await
            .assert_refused(Status::Conflict, "invitation_account_exists");
        // Without a password, the button leads to the log-in page and back.
        let r = anonymous.submit(&link, &[]).await;
        assert_eq!(r.status(), Status::SeeOther);
        assert!(
            location(&r).starts_with("/users/log_in?return_to=%2Forganizations%2Finvitations%2F")
        );
        assert_eq!(
            role_of(&t, org, user_id(&t, "has@example.com").await).await,
            None
        );
        t
    }

    async fn expired_and_revoked_invitations_are_refused_like_unknown_ones(t: TestDb) -> TestDb {
        let app = app(&t).await;
        let (org, link) = invited(&t, &app, "late@example.com", "member").await;
        app.json(
            Method::Post,
            "/organizations/acme/invitations",
            json!({ "email": "gone@example.com" }),
        )
        .await
        .assert_ok(Status::Ok);
        let revoked = app
            .link_for("gone@example.com", "/organizations/invitations/")
            .await;
        let pending = orgs::pending_invitations(&t.db, org, app.clock.now())
            .await
            .unwrap();
        let id = pending
            .iter()
            .find(|i| i.email == "gone@example.com")
            .unwrap()
            .id;
        let r = app
            .submit(
                &format!("/organizations/acme/invitations/{id}"),
                &[("_method", "DELETE")],
            )
            .await;
        assert_eq!(
            location(&r),
            "/organizations/acme?notice=invitation_revoked"
        );
        let gone = app.other_browser().await;
        gone.signed_up("gone@example.com").await;
        gone.json(Method::Post, &revoked, json!({}))
            .await
            .assert_refused(Status::NotFound, "invitation_invalid");
        // Seven days on, the first one is dead too.
        let late = app.other_browser().await;
        late.signed_up("late@example.com").await;
        app.clock.advance(Duration::days(7));
        late.log_in("late@example.com", PASSWORD, false).await;
        late.json(Method::Post, &link, json!({}))
            .await
            .assert_refused(Status::NotFound, "invitation_invalid");
        assert!(orgs::members(&t.db, org).await.unwrap().len() == 1);
        // A visitor without a session is told too, not sent to log in first.
        app.other_browser()
            .await
            .json(Method::Post, &link, json!({}))
            .await
            .assert_refused(Status::NotFound, "invitation_invalid");
        assert!(
            org_events(&t, org)
                .await
                .contains(&audit::INVITATION_REVOKED.to_owned())
        );
        t
    }

    async fn inviting_a_member_answers_like_any_invitation_and_sending_is_throttled(
        t: TestDb,
    ) -> TestDb {
        let app =
            app_with(figment(&t).merge(("sigra.organizations.invitations_per_hour", 3))).await;
        app.signed_up("throttle@example.com").await;
        let org = create_org(&app, "Acme", "acme").await;
        member(&app, &t, org, "in@example.com", "member").await;
        let to_member = app
            .json(
                Method::Post,
                "/organizations/acme/invitations",
                json!({ "email": "in@example.com" }),
            )
            .await;
        let to_stranger = app
            .json(
                Method::Post,
                "/organizations/acme/invitations",
                json!({ "email": "out@example.com" }),
            )
            .await;
        assert_eq!(to_member.status, to_stranger.status);
        assert_eq!(
            to_member
                .body
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            to_stranger
                .body
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>()
        );
        assert_eq!(app.mails_to("in@example.com").await.len(), 1);
        app.json(
            Method::Post,
            "/organizations/acme/invitations",
            json!({ "email": "c@example.com" }),
        )
        .await
        .assert_ok(Status::Ok);
        let over = app
            .json(
                Method::Post,
                "/organizations/acme/invitations",
                json!({ "email": "d@example.com" }),
            )
            .await;
        over.assert_refused(Status::TooManyRequests, "invitation_limit");
        assert_eq!(over.retry_after.as_deref(), Some("3600"));
        assert!(app.mails_to("d@example.com").await.is_empty());
        // Another organization has its own budget; an hour later this one does again.
        create_org(&app, "Beta", "beta").await;
        app.json(
            Method::Post,
            "/organizations/beta/invitations",
            json!({ "email": "d@example.com" }),
        )
        .await
        .assert_ok(Status::Ok);
        app.clock.advance(Duration::minutes(61));
        app.json(
            Method::Post,
            "/organizations/acme/invitations",
            json!({ "email": "d@example.com" }),
        )
        .await
        .assert_ok(Status::Ok);
        // A bad address is a field error, and sends nothing.
        let bad = app
            .json(
                Method::Post,
                "/organizations/acme/invitations",
                json!({ "email": "nope", "role": "king" }),
            )
            .await;
        assert_eq!(bad.field_reason("email"), "email_invalid");
        assert_eq!(bad.field_reason("role"), "role_invalid");
        t
    }

    async fn concurrent_acceptances_of_one_invitation_join_exactly_once(t: TestDb) -> TestDb {
        let app = app(&t).await;
        let (org, link) = invited(&t, &app, "twice@example.com", "member").await;
        let one = app.other_browser().await;
        one.signed_up("twice@example.com").await;
        let two = app.other_browser().await;
        two.log_in("twice@example.com", PASSWORD, false).await;
        let (a, b) = tokio::join!(
            one.json(Method::Post, &link, json!({})),
            two.json(Method::Post, &link, json!({}))
        );
        let mut statuses = [a.status.code, b.status.code];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 404], "{a:?} {b:?}");
        assert_eq!(orgs::members(&t.db, org).await.unwrap().len(), 2);
        let accepted = org_events(&t, org)
            .await
            .into_iter()
            .filter(|e| e == audit::INVITATION_ACCEPTED)
            .count();
        assert_eq!(accepted, 1);
        t
    }
);
