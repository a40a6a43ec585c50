//! The audit log: what it records of what a user typed, and its hash chain: every edit,
//! deletion or reordering of a sealed event is named by verification; anonymizing keeps
//! it whole; two instances appending at once make one chain.

use rocket::http::Status;
use sigra_core::store::audit;

use crate::common::TestDb;
use crate::common::app::{PASSWORD, app};

conformance!(
    async fn failed_log_ins_audit_only_a_valid_address_or_a_keyed_digest_never_the_typed_text(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        app.register("typed@example.com", PASSWORD).await;
        let typed_password = "my secret passphrase 77";
        let long_address = format!("{}@example.com", "a".repeat(250));
        let huge = "x".repeat(30_000);
        for typed in [
            " Typed@Example.com ",
            typed_password,
            long_address.as_str(),
            huge.as_str(),
            typed_password,
        ] {
            let r = app.log_in(typed, "not the password at all", false).await;
            assert_eq!(r.status(), Status::Unauthorized);
        }
        // Forgot password and magic link audit the address typed there the same way.
        app.submit("/users/reset-password", &[("email", typed_password)])
            .await;
        app.submit("/users/magic-link", &[("email", typed_password)])
            .await;

        let mut recorded = Vec::new();
        for action in [
            "login.failure",
            "reset_password.requested",
            "magic_link.requested",
        ] {
            let events = audit::list(&t.db, &audit::AuditFilter::default().action(action))
                .await
                .unwrap();
            recorded.extend(
                events
                    .into_iter()
                    .map(|e| e.metadata.0["email"].as_str().unwrap().to_owned()),
            );
        }
        assert_eq!(recorded.len(), 7, "{recorded:?}");
        assert!(
            recorded.contains(&"typed@example.com".to_owned()),
            "a valid address is kept, normalized"
        );
        for value in &recorded {
            assert!(
                !value.contains("secret passphrase"),
                "typed text never stored: {value}"
            );
            assert!(value.len() <= 254, "{} characters stored", value.len());
            assert!(
                value == "typed@example.com" || value.starts_with("hmac:"),
                "{value}"
            );
        }
        assert_eq!(
            recorded.iter().filter(|v| v.starts_with("hmac:")).count(),
            6
        );
        // The same typed text gives the same digest (audit is newest first: the last two
        // are the forgot-password and magic-link requests).
        let password_digest = &recorded[recorded.len() - 1];
        assert_eq!(&recorded[recorded.len() - 2], password_digest);
        assert_eq!(recorded.iter().filter(|v| *v == password_digest).count(), 4);
        t
    }
);

mod chain {
    use sigra_core::features::audit::{self as feature, Verification};
    use sigra_core::features::deletion;
    use sigra_core::store::{AuditEvents, Executor, audit};
    use sigra_rocket::sea_query::{Expr, ExprTrait, Query};

    use crate::common::app::{TestApp, app, app_with, figment};
    use crate::common::{TestDb, admin_execute};

    async fn verified(app: &TestApp) -> Verification {
        feature::verify(&app.state().auth).await.unwrap()
    }

    /// Where verification says the chain breaks.
    async fn break_at(app: &TestApp) -> Option<(i64, &'static str)> {
        verified(app).await.broken.map(|b| (b.seq, b.problem))
    }

    /// Sign-ups and log-outs, sealing after each.
    async fn work(app: &TestApp, who: &str) {
        for n in 0..4 {
            app.signed_up(&format!("{who}-{n}@example.com")).await;
            app.state().run_due_jobs().await.unwrap();
            app.log_out().await;
        }
    }

    async fn some_events(app: &TestApp, who: &str) {
        for n in 0..3 {
            app.signed_up(&format!("{who}-{n}@example.com")).await;
            app.log_out().await;
        }
    }

    conformance!(
        async fn verification_names_an_edited_deleted_or_reordered_event(t: TestDb) -> TestDb {
            let app = app(&t).await;
            some_events(&app, "chain").await;
            app.state().run_due_jobs().await.unwrap();
            let report = verified(&app).await;
            assert!(report.is_intact(), "{report:?}");
            assert!(report.checked >= 6, "{report:?}");
            assert_eq!(report.unsealed, 0);
            assert_eq!(report.head_seq, report.checked as i64);
            let db = &t.db;
            let link = |seq: i64| async move {
                audit::links_after(db, seq - 1, 1).await.unwrap()[0].clone()
            };
            let event = |id| async move { audit::by_ids(db, &[id]).await.unwrap()[0].clone() };
            let set = |id, column: AuditEvents, value: Option<String>| async move {
                let stmt = Query::update()
                    .table(AuditEvents::Table)
                    .value(column, value)
                    .and_where(Expr::col(AuditEvents::Id).eq(id))
                    .to_owned();
                Executor::execute(db, &stmt).await.unwrap();
            };

            // An edited action.
            let second = event(link(2).await.event_id).await;
            set(second.id, AuditEvents::Action, Some("tampered".into())).await;
            assert_eq!(break_at(&app).await, Some((2, "hash")));
            set(second.id, AuditEvents::Action, Some(second.action.clone())).await;
            assert!(verified(&app).await.is_intact());

            // An edited IP (a personal field).
            let third = event(link(3).await.event_id).await;
            set(third.id, AuditEvents::Ip, Some("198.51.100.99".into())).await;
            assert_eq!(break_at(&app).await, Some((3, "personal")));
            set(third.id, AuditEvents::Ip, third.ip.clone()).await;
            assert!(verified(&app).await.is_intact());

            // Two events swapped.
            let sql = |s: &str| s.to_owned();
            admin_execute(
                &t.db,
                &sql("UPDATE sigra_audit_links SET seq = -1 WHERE seq = 2"),
            )
            .await;
            admin_execute(
                &t.db,
                &sql("UPDATE sigra_audit_links SET seq = 2 WHERE seq = 3"),
            )
            .await;
            admin_execute(
                &t.db,
                &sql("UPDATE sigra_audit_links SET seq = 3 WHERE seq = -1"),
            )
            .await;
            assert_eq!(break_at(&app).await, Some((2, "prev_hash")));
            admin_execute(
                &t.db,
                &sql("UPDATE sigra_audit_links SET seq = -1 WHERE seq = 3"),
            )
            .await;
            admin_execute(
                &t.db,
                &sql("UPDATE sigra_audit_links SET seq = 3 WHERE seq = 2"),
            )
            .await;
            admin_execute(
                &t.db,
                &sql("UPDATE sigra_audit_links SET seq = 2 WHERE seq = -1"),
            )
            .await;
            assert!(verified(&app).await.is_intact());

            // The newest link deleted: the chain ends before its head.
            let last = report.head_seq;
            admin_execute(&t.db, &sql("UPDATE sigra_audit_chain SET seq = seq + 1")).await;
            assert_eq!(break_at(&app).await, Some((last + 1, "head")));
            admin_execute(&t.db, &sql("UPDATE sigra_audit_chain SET seq = seq - 1")).await;
            assert!(verified(&app).await.is_intact());

            // A deleted event, then a deleted link.
            let fifth = link(5).await.event_id;
            let stmt = Query::delete()
                .from_table(AuditEvents::Table)
                .and_where(Expr::col(AuditEvents::Id).eq(fifth))
                .to_owned();
            Executor::execute(&t.db, &stmt).await.unwrap();
            assert_eq!(break_at(&app).await, Some((5, "missing")));
            admin_execute(&t.db, &sql("DELETE FROM sigra_audit_links WHERE seq = 4")).await;
            assert_eq!(break_at(&app).await, Some((4, "gap")));
            t
        }

        async fn anonymizing_an_account_keeps_the_chain_verifiable(t: TestDb) -> TestDb {
            let app = app_with(figment(&t).merge(("sigra.deletion.grace_days", 0))).await;
            app.signed_up("anon@example.com").await;
            app.log_out().await;
            app.log_in("anon@example.com", crate::common::app::PASSWORD, false)
                .await;
            app.state().run_due_jobs().await.unwrap();
            let sealed = verified(&app).await;
            assert!(sealed.is_intact() && sealed.checked >= 3, "{sealed:?}");
            app.submit("/users/settings/delete", &[]).await;
            deletion::execute_due(&app.state().auth).await.unwrap();
            app.state().run_due_jobs().await.unwrap();
            let mut filter = audit::AuditFilter::default();
            filter.limit = Some(1000);
            let scrubbed = audit::list(&t.db, &filter).await.unwrap();
            assert!(
                scrubbed.iter().any(|e| e.scrubbed && e.ip.is_none()),
                "anonymized"
            );
            let report = verified(&app).await;
            assert!(report.is_intact(), "{report:?}");
            assert!(report.checked > sealed.checked);
            t
        }

        async fn two_instances_appending_at_once_make_one_chain(t: TestDb) -> TestDb {
            let one = app(&t).await;
            let two = one.other_browser().await;
            tokio::join!(work(&one, "one"), work(&two, "two"));
            tokio::join!(async { one.state().run_due_jobs().await.unwrap() }, async {
                two.state().run_due_jobs().await.unwrap()
            });
            let report = verified(&one).await;
            assert!(report.is_intact(), "{report:?}");
            assert_eq!(report.unsealed, 0);
            let mut filter = audit::AuditFilter::default();
            filter.limit = Some(1000);
            let all = audit::list(&t.db, &filter).await.unwrap();
            assert_eq!(report.checked as usize, all.len());
            assert!(all.len() >= 16, "{}", all.len());
            t
        }
    );
}

/// The audit explorer: `/admin/audit` (filters, keyset pages, exports, the chain's
/// check) and an organization's `/organizations/<slug>/audit`.
mod explorer {
    use std::collections::BTreeSet;

    use rocket::http::Status;
    use serde_json::{Value, json};
    use sigra_core::features::RequestMeta;
    use sigra_core::features::admin::set_admin;
    use sigra_core::store::{AuditEvent, AuditEvents, Executor, audit};
    use sigra_rocket::sea_query::{Expr, ExprTrait, Query};
    use time::macros::datetime;
    use time::{Duration, OffsetDateTime};
    use uuid::Uuid;

    use crate::common::TestDb;
    use crate::common::app::{CLIENT, PASSWORD, TestApp, app};
    use crate::organizations::{add, create_org, member, user_id};

    /// Registers `email`, makes it a platform admin, and logs it in.
    async fn admin_app(t: &TestDb, email: &str) -> TestApp {
        let app = app(t).await;
        assert_eq!(app.register(email, PASSWORD).await.status(), Status::Ok);
        let made = set_admin(&app.state().auth, email, true, &RequestMeta::default())
            .await
            .unwrap();
        assert!(made.is_some());
        assert_eq!(
            app.log_in(email, PASSWORD, false).await.status(),
            Status::SeeOther
        );
        app
    }

    /// Inserts `events` (many rows per statement).
    async fn seed(t: &TestDb, events: &[AuditEvent]) {
        for chunk in events.chunks(200) {
            let mut stmt = Query::insert();
            stmt.into_table(AuditEvents::Table).columns([
                AuditEvents::Id,
                AuditEvents::ActorId,
                AuditEvents::TargetId,
                AuditEvents::Action,
                AuditEvents::Metadata,
                AuditEvents::Ip,
                AuditEvents::UserAgent,
                AuditEvents::OccurredAt,
                AuditEvents::OrganizationId,
                AuditEvents::ImpersonatorId,
            ]);
            for e in chunk {
                stmt.values([
                    e.id.into(),
                    e.actor_id.into(),
                    e.target_id.into(),
                    e.action.clone().into(),
                    e.metadata.0.clone().into(),
                    e.ip.clone().into(),
                    e.user_agent.clone().into(),
                    e.occurred_at.into(),
                    e.organization_id.into(),
                    e.impersonator_id.into(),
                ])
                .unwrap();
            }
            Executor::execute(&t.db, &stmt).await.unwrap();
        }
    }

    /// An id whose order is unrelated to `n`'s.
    fn scrambled(n: u64) -> Uuid {
        let x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
        Uuid::from_u64_pair(x, n)
    }

    /// `n` events: actors, targets, actions and organizations cycle; times go back one
    /// minute every 7 events, so many events share a time (ties broken by id).
    fn events(n: u64, actors: &[Uuid], orgs: &[Uuid]) -> Vec<AuditEvent> {
        let start = datetime!(2026-05-20 12:00 UTC);
        (0..n)
            .map(|i| {
                let mut e = audit::event(
                    scrambled(i),
                    ["seed.alpha", "seed.beta", "seed.gamma"][(i / 2 % 3) as usize],
                    Some(actors[(i % actors.len() as u64) as usize]),
                    Some(actors[((i + 1) % actors.len() as u64) as usize]),
                    json!({ "n": i }),
                    start - Duration::minutes((i / 7) as i64),
                );
                e.organization_id = orgs.get((i % 4) as usize).copied();
                e.impersonator_id = (i % 11 == 0).then_some(actors[0]);
                e.ip = Some("203.0.113.9".into());
                e
            })
            .collect()
    }

    /// Every event, newest first by `(occurred_at, id)`, sorted here (not by the code
    /// under test).
    async fn all_events(t: &TestDb) -> Vec<AuditEvent> {
        let mut all = audit::search(&t.db, &audit::AuditSearch::default(), None, 100_000)
            .await
            .unwrap();
        all.sort_by_key(|e| std::cmp::Reverse((e.occurred_at, e.id)));
        all
    }

    fn ids(events: &[AuditEvent]) -> Vec<String> {
        events.iter().map(|e| e.id.to_string()).collect()
    }

    /// Every page of `path` (a query string included), following `next`; the ids in order.
    async fn walk(app: &TestApp, path: &str) -> (Vec<String>, usize) {
        let mut seen = Vec::new();
        let mut pages = 0;
        let mut url = path.to_owned();
        loop {
            let r = app.json_get(&url).await;
            let body = r.assert_ok(Status::Ok).clone();
            let events = body["events"].as_array().unwrap();
            assert!(events.len() <= 50, "{} on a page", events.len());
            seen.extend(events.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
            pages += 1;
            match body["next"].as_str() {
                Some(next) => {
                    assert_eq!(events.len(), 50, "only the last page is short");
                    let sep = if path.contains('?') { '&' } else { '?' };
                    url = format!("{path}{sep}page={next}");
                }
                None => return (seen, pages),
            }
        }
    }

    fn rfc3339(t: OffsetDateTime) -> String {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    }

    conformance!(
        async fn pages_cover_every_event_once_in_order_and_each_filter_narrows(
            t: TestDb,
        ) -> TestDb {
            let app = admin_app(&t, "root@example.com").await;
            let org_a = create_org(&app, "Acme", "acme").await;
            let org_b = create_org(&app, "Beta", "beta").await;
            let alice = member(&app, &t, org_a, "alice@example.com", "member").await;
            let bob = member(&app, &t, org_b, "bob@example.com", "member").await;
            let carol = Uuid::from_u128(0xCA201);
            seed(&t, &events(160, &[alice, bob, carol], &[org_a, org_b])).await;
            let all = all_events(&t).await;
            assert!(all.len() > 160, "{}", all.len());

            // Every event once, in order, across page boundaries (ties included).
            let (seen, pages) = walk(&app, "/admin/audit").await;
            assert_eq!(seen, ids(&all));
            assert!(pages >= 4, "{pages} pages");
            let unique: BTreeSet<&String> = seen.iter().collect();
            assert_eq!(unique.len(), seen.len());

            let expect = |keep: &dyn Fn(&AuditEvent) -> bool| {
                let kept: Vec<AuditEvent> = all.iter().filter(|e| keep(e)).cloned().collect();
                assert!(!kept.is_empty());
                ids(&kept)
            };
            let cases: Vec<(String, Vec<String>)> = vec![
                (
                    format!("actor={alice}"),
                    expect(&|e| e.actor_id == Some(alice)),
                ),
                (
                    "actor=Alice%40Example.com".into(),
                    expect(&|e| e.actor_id == Some(alice)),
                ),
                (
                    format!("target={carol}"),
                    expect(&|e| e.target_id == Some(carol)),
                ),
                (
                    "target=bob%40example.com".into(),
                    expect(&|e| e.target_id == Some(bob)),
                ),
                (
                    "action=seed.beta".into(),
                    expect(&|e| e.action == "seed.beta"),
                ),
                (
                    format!("organization={org_b}"),
                    expect(&|e| e.organization_id == Some(org_b)),
                ),
                (
                    "organization=acme".into(),
                    expect(&|e| e.organization_id == Some(org_a)),
                ),
                (
                    "from=2026-05-20T11:50:00Z&to=2026-05-20T11:55:00Z".into(),
                    expect(&|e| {
                        e.occurred_at >= datetime!(2026-05-20 11:50 UTC)
                            && e.occurred_at <= datetime!(2026-05-20 11:55 UTC)
                    }),
                ),
                (
                    "to=2026-05-20T12:40:00%2B01:00".into(),
                    expect(&|e| e.occurred_at <= datetime!(2026-05-20 11:40 UTC)),
                ),
                (
                    "from=2026-06-01".into(),
                    expect(&|e| e.occurred_at >= datetime!(2026-06-01 00:00 UTC)),
                ),
                (
                    "to=2026-05-20".into(),
                    expect(&|e| e.occurred_at < datetime!(2026-05-21 00:00 UTC)),
                ),
                (
                    format!("actor={bob}&action=seed.gamma&organization={org_a}"),
                    expect(&|e| {
                        e.actor_id == Some(bob)
                            && e.action == "seed.gamma"
                            && e.organization_id == Some(org_a)
                    }),
                ),
            ];
            for (filters, expected) in cases {
                let (seen, _) = walk(&app, &format!("/admin/audit?{filters}")).await;
                assert_eq!(seen, expected, "{filters}");
            }
            // Impersonated events carry the admin who acted.
            let r = app.json_get(&format!("/admin/audit?actor={alice}")).await;
            let events = r.body["events"].as_array().unwrap();
            assert!(events.iter().all(|e| e.get("impersonator_id").is_some()));
            assert!(
                events
                    .iter()
                    .any(|e| e["impersonator_id"] == alice.to_string()),
                "{events:?}"
            );

            // The HTML page: the form keeps the filters, the next link carries them,
            // and the exports carry them too.
            let (status, html) = app
                .body(&format!("/admin/audit?action=seed.beta&actor={alice}"))
                .await;
            assert_eq!(status, Status::Ok);
            assert!(html.contains("id=\"audit-events\""), "{html}");
            assert!(
                html.contains("<label class=\"field__label\" for=\"audit-actor\">Actor</label>")
            );
            assert!(html.contains("value=\"seed.beta\""));
            // (Tera escapes `/` in attributes as `&#x2F;`.)
            let csv_link = format!("export.csv?actor={alice}&amp;action=seed.beta");
            assert!(html.contains(&csv_link), "{html}");
            let (_, html) = app.body("/admin/audit").await;
            assert!(
                html.contains("id=\"audit-next\" href=\"&#x2F;admin&#x2F;audit?page="),
                "{html}"
            );
            t
        }

        async fn bad_filter_values_are_refused_by_field_not_answered_with_500(t: TestDb) -> TestDb {
            let app = admin_app(&t, "root@example.com").await;
            let cases = [
                ("actor=nobody", "actor", "invalid_filter"),
                ("actor=ghost%40example.com", "actor", "filter_not_found"),
                ("target=not-a-uuid", "target", "invalid_filter"),
                (
                    "organization=Not%20A%20Slug",
                    "organization",
                    "invalid_filter",
                ),
                ("organization=missing", "organization", "filter_not_found"),
                ("from=yesterday", "from", "invalid_filter"),
                ("to=2026-02-30", "to", "invalid_filter"),
                ("from=2026-06-02&to=2026-06-01", "to", "invalid_filter"),
                ("page=garbage", "page", "invalid_filter"),
                ("page=AAAAAAAAAAAAAAAAAAAAAA", "page", "invalid_filter"),
            ];
            for (filters, field, reason) in cases {
                for path in [
                    "/admin/audit",
                    "/admin/audit/export.csv",
                    "/admin/audit/export.jsonl",
                ] {
                    if field == "page" && path != "/admin/audit" {
                        continue;
                    }
                    let r = app.json_get(&format!("{path}?{filters}")).await;
                    r.assert_refused(Status::UnprocessableEntity, "invalid_fields");
                    assert_eq!(r.field_reason(field), reason, "{path}?{filters}");
                }
            }
            let (status, html) = app.body("/admin/audit?from=yesterday").await;
            assert_eq!(status, Status::UnprocessableEntity);
            assert!(html.contains("id=\"audit-from-errors\""), "{html}");
            assert!(html.contains("value=\"yesterday\""));
            t
        }

        async fn exports_are_complete_quoted_and_neutralised(t: TestDb) -> TestDb {
            let app = admin_app(&t, "root@example.com").await;
            let someone = Uuid::from_u128(0x5);
            let mut seeded = events(2600, &[someone], &[]);
            seeded[3].user_agent = Some("=HYPERLINK(\"http://evil.example\",\"x\")".into());
            seeded[4].ip = Some("+1-555".into());
            seeded[5].metadata = sqlx::types::Json(json!({"note": "a, \"quoted\"\r\nline"}));
            seeded[6].user_agent = Some("@cmd, -2+3".into());
            seed(&t, &seeded).await;
            let all = all_events(&t).await;
            assert!(all.len() > 2600);

            // CSV: header, every event once in order, RFC 4180, formulas neutralised.
            let r = app
                .client
                .get("/admin/audit/export.csv")
                .remote(CLIENT)
                .dispatch()
                .await;
            assert_eq!(r.status(), Status::Ok);
            let disposition = r
                .headers()
                .get_one("Content-Disposition")
                .unwrap()
                .to_owned();
            assert!(
                disposition.starts_with("attachment; filename=\"sigra-audit-")
                    && disposition.ends_with(".csv\""),
                "{disposition}"
            );
            assert!(
                r.content_type()
                    .unwrap()
                    .to_string()
                    .starts_with("text/csv")
            );
            let text = r.into_string().await.unwrap();
            let records = parse_csv(&text);
            assert_eq!(
                records[0],
                [
                    "id",
                    "occurred_at",
                    "action",
                    "actor_id",
                    "target_id",
                    "organization_id",
                    "impersonator_id",
                    "ip",
                    "user_agent",
                    "metadata"
                ]
            );
            let rows = &records[1..];
            assert!(rows.iter().all(|r| r.len() == 10));
            let csv_ids: Vec<String> = rows.iter().map(|r| r[0].clone()).collect();
            assert_eq!(csv_ids, ids(&all), "every event once, newest first");
            let row = |id: Uuid| {
                rows.iter()
                    .find(|r| r[0] == id.to_string())
                    .unwrap()
                    .clone()
            };
            assert_eq!(
                row(seeded[3].id)[8],
                "'=HYPERLINK(\"http://evil.example\",\"x\")"
            );
            assert_eq!(row(seeded[4].id)[7], "'+1-555");
            assert_eq!(row(seeded[6].id)[8], "'@cmd, -2+3");
            let note: Value = serde_json::from_str(&row(seeded[5].id)[9]).unwrap();
            assert_eq!(note["note"], "a, \"quoted\"\r\nline");
            let first = row(seeded[0].id);
            assert_eq!(first[1], rfc3339(seeded[0].occurred_at));
            assert_eq!(first[3], someone.to_string());
            assert_eq!(first[6], someone.to_string(), "impersonator_id");
            assert_eq!(first[5], "", "no organization");

            // JSON Lines: one object per line, the same events.
            let r = app
                .client
                .get("/admin/audit/export.jsonl")
                .remote(CLIENT)
                .dispatch()
                .await;
            assert_eq!(r.status(), Status::Ok);
            let disposition = r
                .headers()
                .get_one("Content-Disposition")
                .unwrap()
                .to_owned();
            assert!(disposition.ends_with(".jsonl\""), "{disposition}");
            let text = r.into_string().await.unwrap();
            assert!(text.ends_with('\n'));
            let lines: Vec<Value> = text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            let jsonl_ids: Vec<String> = lines
                .iter()
                .map(|l| l["id"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(jsonl_ids, ids(&all));
            let five = lines
                .iter()
                .find(|l| l["id"] == seeded[5].id.to_string())
                .unwrap();
            assert_eq!(five["metadata"]["note"], "a, \"quoted\"\r\nline");

            // The filters apply to exports too.
            let r = app
                .client
                .get("/admin/audit/export.jsonl?action=seed.beta&to=2026-05-20T11:00:00Z")
                .remote(CLIENT)
                .dispatch()
                .await;
            let text = r.into_string().await.unwrap();
            let expected: Vec<String> = all
                .iter()
                .filter(|e| {
                    e.action == "seed.beta" && e.occurred_at <= datetime!(2026-05-20 11:00 UTC)
                })
                .map(|e| e.id.to_string())
                .collect();
            let got: Vec<String> = text
                .lines()
                .map(|l| {
                    serde_json::from_str::<Value>(l).unwrap()["id"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .collect();
            assert!(!expected.is_empty());
            assert_eq!(got, expected);
            t
        }

        async fn only_admins_reach_the_explorer_and_organization_admins_see_their_own(
            t: TestDb,
        ) -> TestDb {
            let admin = admin_app(&t, "root@example.com").await;
            let owner = admin.other_browser().await;
            owner.signed_up("owner@example.com").await;
            let acme = create_org(&owner, "Acme", "acme").await;
            let other = create_org(&owner, "Other", "other").await;
            let plain = admin.other_browser().await;
            plain.signed_up("plain@example.com").await;
            add(
                &owner,
                &t,
                acme,
                user_id(&t, "plain@example.com").await,
                "member",
            )
            .await;
            let boss = admin.other_browser().await;
            boss.signed_up("boss@example.com").await;
            add(
                &owner,
                &t,
                acme,
                user_id(&t, "boss@example.com").await,
                "admin",
            )
            .await;
            let someone = user_id(&t, "owner@example.com").await;
            seed(&t, &events(70, &[someone], &[acme, other])).await;

            // Not an admin: every admin route refuses, HTML and JSON.
            for path in [
                "/admin/audit",
                "/admin/audit?action=seed.alpha",
                "/admin/audit/export.csv",
                "/admin/audit/export.jsonl",
                "/admin/audit/verify",
            ] {
                let (status, html) = owner.body(path).await;
                assert_eq!(status, Status::Forbidden, "{path}");
                assert!(!html.contains("audit-events"), "{path}");
                let r = owner.json_get(path).await;
                r.assert_refused(Status::Forbidden, "admin_required");
                assert_eq!(r.body["events"], Value::Null);
            }
            // Not logged in: nothing either.
            let anonymous = admin.other_browser().await;
            let r = anonymous.json_get("/admin/audit/export.csv").await;
            assert_eq!(r.status, Status::Unauthorized);

            // A member of the organization is refused its log; an outsider is told
            // there is no such organization.
            let outsider = admin.other_browser().await;
            outsider.signed_up("outsider@example.com").await;
            let r = plain.json_get("/organizations/acme/audit").await;
            r.assert_refused(Status::Forbidden, "organization_forbidden");
            let (status, _) = plain.body("/organizations/acme/audit").await;
            assert_eq!(status, Status::Forbidden);
            let r = outsider.json_get("/organizations/acme/audit").await;
            r.assert_refused(Status::NotFound, "organization_not_found");

            // Its admin sees the organization's events only, even when asking for
            // another organization.
            let all = all_events(&t).await;
            let acme_ids: Vec<String> = all
                .iter()
                .filter(|e| e.organization_id == Some(acme))
                .map(|e| e.id.to_string())
                .collect();
            let (seen, pages) = walk(&boss, "/organizations/acme/audit").await;
            assert_eq!(seen, acme_ids);
            assert!(pages >= 1);
            let (seen, _) = walk(
                &boss,
                &format!("/organizations/acme/audit?organization={other}"),
            )
            .await;
            assert_eq!(
                seen, acme_ids,
                "the lens is the organization, whatever is typed"
            );
            let (seen, _) = walk(&boss, "/organizations/acme/audit?action=seed.gamma").await;
            let gamma: Vec<String> = all
                .iter()
                .filter(|e| e.organization_id == Some(acme) && e.action == "seed.gamma")
                .map(|e| e.id.to_string())
                .collect();
            assert_eq!(seen, gamma);
            let (status, html) = boss.body("/organizations/acme/audit").await;
            assert_eq!(status, Status::Ok);
            assert!(html.contains("Audit log of Acme"), "{html}");
            assert!(
                !html.contains("export.csv"),
                "exports are the platform admin's"
            );
            // The owner (no platform admin) sees it too; the platform admin is no
            // member, so not through this lens.
            let r = owner.json_get("/organizations/acme/audit").await;
            r.assert_ok(Status::Ok);
            let r = admin.json_get("/organizations/acme/audit").await;
            r.assert_refused(Status::NotFound, "organization_not_found");
            t
        }

        async fn the_verify_page_reports_the_chain_and_names_a_tampered_link(t: TestDb) -> TestDb {
            let app = admin_app(&t, "root@example.com").await;
            for n in 0..3 {
                let other = app.other_browser().await;
                other.signed_up(&format!("user-{n}@example.com")).await;
            }
            app.state().run_due_jobs().await.unwrap();
            let r = app.json_get("/admin/audit/verify").await;
            let body = r.assert_ok(Status::Ok).clone();
            assert_eq!(body["intact"], true, "{body}");
            assert_eq!(body["broken"], Value::Null);
            let checked = body["checked"].as_u64().unwrap();
            assert!(checked >= 6, "{body}");
            assert_eq!(body["head_seq"].as_u64(), Some(checked));
            assert_eq!(body["head_hash"].as_str().unwrap().len(), 64);
            let (status, html) = app.body("/admin/audit/verify").await;
            assert_eq!(status, Status::Ok);
            assert!(html.contains("id=\"audit-chain-intact\""), "{html}");

            // Edit the third sealed event's action.
            let link = audit::links_after(&t.db, 2, 1).await.unwrap()[0].clone();
            let stmt = Query::update()
                .table(AuditEvents::Table)
                .value(AuditEvents::Action, "tampered")
                .and_where(Expr::col(AuditEvents::Id).eq(link.event_id))
                .to_owned();
            Executor::execute(&t.db, &stmt).await.unwrap();
            let r = app.json_get("/admin/audit/verify").await;
            let body = r.assert_ok(Status::Ok).clone();
            assert_eq!(body["intact"], false, "{body}");
            assert_eq!(body["broken"]["seq"], 3);
            assert_eq!(body["broken"]["problem"], "hash");
            assert_eq!(body["broken"]["event_id"], link.event_id.to_string());
            assert_eq!(body["checked"], 2);
            let (status, html) = app.body("/admin/audit/verify").await;
            assert_eq!(status, Status::Ok);
            assert!(html.contains("id=\"audit-chain-broken\""), "{html}");
            assert!(html.contains(&link.event_id.to_string()));
            assert!(html.contains("<strong id=\"audit-broken-problem\">hash</strong>"));
            t
        }
    );

    /// RFC 4180 records (CRLF between records; quoted fields may hold anything).
    fn parse_csv(text: &str) -> Vec<Vec<String>> {
        let mut records = Vec::new();
        let mut record = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => field.push(c),
                (false, '"') if field.is_empty() => quoted = true,
                (false, ',') => record.push(std::mem::take(&mut field)),
                (false, '\r') if chars.peek() == Some(&'\n') => {
                    chars.next();
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                }
                (false, c) => {
                    assert!(c != '\n' && c != '"', "bare {c:?} outside quotes");
                    field.push(c);
                }
            }
        }
        assert!(field.is_empty() && record.is_empty(), "ends with CRLF");
        records
    }
}
