//! Store conformance: the same behaviour on every backend.

use sigra_core::clock::{Clock, FixedClock};
use sigra_core::crypto::{Token, TokenKind};
use sigra_core::store::{Executor, StoreError, audit, new_id_at, outbox, sessions, tokens, users};
use time::{Duration, OffsetDateTime, macros::datetime};

use crate::common::TestDb;

fn clock() -> FixedClock {
    FixedClock::new(datetime!(2026-03-01 10:00 UTC))
}

async fn make_user(ex: &impl Executor, c: &FixedClock, email: &str) -> sigra_core::store::User {
    users::insert(
        ex,
        new_id_at(c.now()),
        email,
        Some("$argon2id$fake".into()),
        c.now(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn migrations_apply_to_an_empty_database_and_are_idempotent() {
    use sigra_core::store::Backend;
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::MySql] {
        let Some(t) = crate::common::TestDb::fresh(backend).await else {
            continue;
        };
        // Empty: the users table does not exist yet.
        assert!(
            users::find_by_email(&t.db, "a@example.com").await.is_err(),
            "{backend}"
        );
        t.db.migrate().await.unwrap();
        t.db.migrate().await.unwrap();
        assert_eq!(
            users::find_by_email(&t.db, "a@example.com").await.unwrap(),
            None,
            "{backend}"
        );
        let on_disk = std::fs::read_dir(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../sigra_core/migrations/sqlite"
        ))
        .unwrap()
        .count();
        assert_eq!(
            t.db.embedded_migrations().len(),
            on_disk,
            "every migration file is embedded"
        );
        t.cleanup().await;
    }
}

/// The schema as the server describes it: every table's columns, indexes and
/// constraints, the migration history (versions and checksums) and the audit chain's seed.
async fn schema_of(db: &sigra_core::store::Db) -> Vec<String> {
    use sigra_core::store::Db;
    async fn strings<'e, E>(executor: E, sql: &'static str) -> Vec<String>
    where
        E: sqlx::Executor<'e>,
        (String,): for<'r> sqlx::FromRow<'r, <E::Database as sqlx::Database>::Row>,
        <E::Database as sqlx::Database>::Arguments: sqlx::IntoArguments<E::Database>,
    {
        let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(executor).await.unwrap();
        rows.into_iter().map(|(r,)| r).collect()
    }
    let mut out = match db {
        Db::Postgres(p) => {
            let mut out = strings(
                p,
                "SELECT concat_ws(' ', table_name, column_name, data_type, is_nullable, \
                 column_default, collation_name) FROM information_schema.columns \
                 WHERE table_schema = 'public'",
            )
            .await;
            out.extend(
                strings(
                    p,
                    "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'",
                )
                .await,
            );
            out.extend(
                strings(
                    p,
                    "SELECT conrelid::regclass::text || ' ' || pg_get_constraintdef(oid) \
                     FROM pg_constraint WHERE connamespace = 'public'::regnamespace",
                )
                .await,
            );
            out.extend(
                strings(
                    p,
                    "SELECT version::text || ' ' || encode(checksum, 'hex') FROM _sigra_migrations",
                )
                .await,
            );
            out.extend(strings(p, "SELECT encode(hash, 'hex') FROM sigra_audit_chain").await);
            out
        }
        Db::MySql(p) => {
            let mut out = Vec::new();
            let tables = strings(
                p,
                "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
                 WHERE table_schema = DATABASE()",
            )
            .await;
            for table in tables {
                let (_, ddl): (String, String) =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("SHOW CREATE TABLE `{table}`")))
                        .fetch_one(p)
                        .await
                        .unwrap();
                out.push(ddl);
            }
            out.extend(
                strings(
                    p,
                    "SELECT CONCAT(version, ' ', HEX(checksum)) FROM _sigra_migrations",
                )
                .await,
            );
            out.extend(strings(p, "SELECT HEX(hash) FROM sigra_audit_chain").await);
            out
        }
        _ => unreachable!("templates are for PostgreSQL and MySQL"),
    };
    out.sort();
    out
}

/// PostgreSQL and MySQL test databases are copies of a migrated template
/// (`common::TestDb::migrated`): a copy must be exactly what the migrator makes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_template_copy_is_the_migrated_schema() {
    for backend in [
        sigra_core::store::Backend::Postgres,
        sigra_core::store::Backend::MySql,
    ] {
        let Some(copy) = TestDb::migrated(backend).await else {
            continue;
        };
        let migrated = TestDb::fresh(backend).await.unwrap();
        migrated.db.migrate().await.unwrap();
        let (a, b) = (schema_of(&copy.db).await, schema_of(&migrated.db).await);
        assert!(a.len() > 40, "{backend:?}: the schema was read: {a:?}");
        assert_eq!(
            a, b,
            "{backend:?}: the copy differs from a migrated database"
        );
        copy.cleanup().await;
        migrated.cleanup().await;
    }
}

conformance!(
    async fn user_roundtrip_normalizes_email(t: TestDb) -> TestDb {
        let c = clock();
        let u = make_user(&t.db, &c, "  Ada@Example.COM ").await;
        assert_eq!(u.email, "ada@example.com");
        let found = users::find_by_email(&t.db, "ADA@example.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found, u);
        assert_eq!(
            users::find_by_id(&t.db, u.id).await.unwrap().unwrap().email,
            "ada@example.com"
        );
        assert_eq!(found.created_at, datetime!(2026-03-01 10:00 UTC));
        assert!(found.confirmed_at.is_none());
        assert_eq!(found.hashed_password(), Some("$argon2id$fake"));

        c.advance(Duration::minutes(5));
        assert_eq!(users::confirm(&t.db, u.id, c.now()).await.unwrap(), 1);
        assert_eq!(
            users::confirm(&t.db, u.id, c.now()).await.unwrap(),
            0,
            "already confirmed"
        );
        users::set_password_hash(&t.db, u.id, None, c.now())
            .await
            .unwrap();
        users::record_failed_login(&t.db, u.id, c.now())
            .await
            .unwrap();
        users::record_failed_login(&t.db, u.id, c.now())
            .await
            .unwrap();
        let u2 = users::find_by_id(&t.db, u.id).await.unwrap().unwrap();
        assert_eq!(u2.confirmed_at, Some(datetime!(2026-03-01 10:05 UTC)));
        assert!(!u2.has_password());
        assert_eq!(u2.failed_login_count, 2);
        users::reset_failed_logins(&t.db, u.id).await.unwrap();
        assert_eq!(
            users::find_by_id(&t.db, u.id)
                .await
                .unwrap()
                .unwrap()
                .failed_login_count,
            0
        );
        t
    }

    async fn concurrent_registrations_of_one_email_let_exactly_one_win(t: TestDb) -> TestDb {
        let c = clock();
        let mut handles = Vec::new();
        for i in 0..8 {
            let db = t.db.clone();
            let c = c.clone();
            let email = if i % 2 == 0 {
                "race@example.com"
            } else {
                "RACE@example.com "
            };
            handles.push(tokio::spawn(async move {
                users::insert(&db, new_id_at(c.now()), email, None, c.now()).await
            }));
        }
        let mut ok = 0;
        for h in handles {
            match h.await.unwrap() {
                Ok(_) => ok += 1,
                Err(StoreError::Conflict) => {}
                Err(e) => panic!("unexpected error: {e:?}"),
            }
        }
        assert_eq!(ok, 1);
        t
    }

    async fn a_token_consumed_concurrently_is_consumed_exactly_once(t: TestDb) -> TestDb {
        let c = clock();
        let u = make_user(&t.db, &c, "tok@example.com").await;
        let token = Token::generate().unwrap();
        let hash = token.hash();
        tokens::insert(
            &t.db,
            &tokens::NewToken {
                id: new_id_at(c.now()),
                user_id: u.id,
                hash: &hash,
                kind: TokenKind::ResetPassword,
                sent_to: Some("tok@example.com"),
                expires_at: c.now() + Duration::hours(1),
                created_at: c.now(),
            },
        )
        .await
        .unwrap();
        let mut handles = Vec::new();
        for _ in 0..8 {
            let db = t.db.clone();
            let now = c.now();
            handles.push(tokio::spawn(async move {
                tokens::consume(&db, &hash, TokenKind::ResetPassword, now)
                    .await
                    .unwrap()
            }));
        }
        let mut winners = Vec::new();
        for h in handles {
            if let Some(tok) = h.await.unwrap() {
                winners.push(tok);
            }
        }
        assert_eq!(winners.len(), 1);
        assert_eq!(winners[0].user_id, u.id);
        assert_eq!(winners[0].sent_to.as_deref(), Some("tok@example.com"));
        assert!(
            tokens::consume(&t.db, &hash, TokenKind::ResetPassword, c.now())
                .await
                .unwrap()
                .is_none()
        );
        t
    }

    async fn tokens_are_bound_to_kind_and_expiry(t: TestDb) -> TestDb {
        let c = clock();
        let u = make_user(&t.db, &c, "kind@example.com").await;
        let token = Token::generate().unwrap();
        tokens::insert(
            &t.db,
            &tokens::NewToken {
                id: new_id_at(c.now()),
                user_id: u.id,
                hash: &token.hash(),
                kind: TokenKind::MagicLink,
                sent_to: None,
                expires_at: c.now() + Duration::minutes(15),
                created_at: c.now(),
            },
        )
        .await
        .unwrap();
        let wrong_kind = tokens::consume(&t.db, &token.hash(), TokenKind::ResetPassword, c.now())
            .await
            .unwrap();
        assert!(wrong_kind.is_none());
        let other = Token::generate().unwrap();
        assert!(
            tokens::find_valid(&t.db, &other.hash(), TokenKind::MagicLink, c.now())
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            tokens::latest_created_at(&t.db, u.id, TokenKind::MagicLink)
                .await
                .unwrap(),
            Some(c.now())
        );
        c.advance(Duration::minutes(15));
        assert!(
            tokens::consume(&t.db, &token.hash(), TokenKind::MagicLink, c.now())
                .await
                .unwrap()
                .is_none(),
            "expired at exactly its expiry"
        );
        assert_eq!(tokens::delete_expired(&t.db, c.now()).await.unwrap(), 1);
        t
    }

    async fn delete_for_user_removes_only_the_named_kinds(t: TestDb) -> TestDb {
        let c = clock();
        let u = make_user(&t.db, &c, "kinds@example.com").await;
        let mut kept = None;
        for kind in [
            TokenKind::Confirmation,
            TokenKind::ResetPassword,
            TokenKind::RememberMe,
        ] {
            let token = Token::generate().unwrap();
            tokens::insert(
                &t.db,
                &tokens::NewToken {
                    id: new_id_at(c.now()),
                    user_id: u.id,
                    hash: &token.hash(),
                    kind,
                    sent_to: None,
                    expires_at: c.now() + Duration::hours(1),
                    created_at: c.now(),
                },
            )
            .await
            .unwrap();
            if kind == TokenKind::RememberMe {
                kept = Some(token);
            }
        }
        let removed = tokens::delete_for_user(
            &t.db,
            u.id,
            &[TokenKind::Confirmation, TokenKind::ResetPassword],
        )
        .await
        .unwrap();
        assert_eq!(removed, 2);
        let kept = kept.unwrap();
        assert!(
            tokens::find_valid(&t.db, &kept.hash(), TokenKind::RememberMe, c.now())
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(tokens::delete_for_user(&t.db, u.id, &[]).await.unwrap(), 1);
        t
    }

    async fn a_failed_transaction_leaves_nothing_behind(t: TestDb) -> TestDb {
        let c = clock();
        make_user(&t.db, &c, "taken@example.com").await;
        let tx = t.db.begin().await.unwrap();
        let u = make_user(&tx, &c, "new@example.com").await;
        let token = Token::generate().unwrap();
        tokens::insert(
            &tx,
            &tokens::NewToken {
                id: new_id_at(c.now()),
                user_id: u.id,
                hash: &token.hash(),
                kind: TokenKind::Confirmation,
                sent_to: Some("new@example.com"),
                expires_at: c.now() + Duration::hours(24),
                created_at: c.now(),
            },
        )
        .await
        .unwrap();
        outbox::enqueue(
            &tx,
            new_id_at(c.now()),
            "mail",
            serde_json::json!({"to": "new@example.com"}),
            c.now(),
        )
        .await
        .unwrap();
        // The third write fails: the whole unit must vanish.
        let err = users::insert(&tx, new_id_at(c.now()), "TAKEN@example.com", None, c.now())
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict), "{err:?}");
        tx.rollback().await.unwrap();
        assert!(
            users::find_by_email(&t.db, "new@example.com")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            tokens::find_valid(&t.db, &token.hash(), TokenKind::Confirmation, c.now())
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            outbox::claim_due(&t.db, c.now(), Duration::minutes(1), 10)
                .await
                .unwrap()
                .is_empty()
        );

        // Dropping an unfinished transaction rolls back too; committing keeps everything.
        {
            let tx = t.db.begin().await.unwrap();
            make_user(&tx, &c, "dropped@example.com").await;
        }
        assert!(
            users::find_by_email(&t.db, "dropped@example.com")
                .await
                .unwrap()
                .is_none()
        );
        let tx = t.db.begin().await.unwrap();
        make_user(&tx, &c, "kept@example.com").await;
        tx.commit().await.unwrap();
        assert!(
            users::find_by_email(&t.db, "kept@example.com")
                .await
                .unwrap()
                .is_some()
        );
        t
    }

    async fn sessions_join_their_user_and_touch_at_most_once_per_interval(t: TestDb) -> TestDb {
        let c = clock();
        let u = make_user(&t.db, &c, "sess@example.com").await;
        let token = Token::generate().unwrap();
        let s = sessions::insert(
            &t.db,
            &sessions::NewSession {
                id: new_id_at(c.now()),
                user_id: u.id,
                hash: &token.hash(),
                created_at: c.now(),
                expires_at: c.now() + Duration::days(14),
                remember_me: true,
                sudo_at: Some(c.now()),
                mfa_at: None,
                ip: Some("203.0.113.9"),
                user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"),
                impersonator_id: None,
                impersonation_organization_id: None,
                impersonation_reason: None,
            },
        )
        .await
        .unwrap();
        let (found, user) = sessions::find_by_hash(&t.db, &token.hash())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found, s);
        assert_eq!(user, u);
        assert!(found.remember_me);

        let minute = Duration::minutes(1);
        c.advance(Duration::seconds(30));
        assert_eq!(
            sessions::touch(&t.db, s.id, c.now(), minute).await.unwrap(),
            0
        );
        c.advance(Duration::seconds(30));
        assert_eq!(
            sessions::touch(&t.db, s.id, c.now(), minute).await.unwrap(),
            1
        );
        assert_eq!(
            sessions::touch(&t.db, s.id, c.now(), minute).await.unwrap(),
            0
        );

        let fresh = Token::generate().unwrap();
        assert_eq!(
            sessions::rotate(&t.db, s.id, &fresh.hash(), Some(c.now()), None)
                .await
                .unwrap(),
            1
        );
        assert!(
            sessions::find_by_hash(&t.db, &token.hash())
                .await
                .unwrap()
                .is_none(),
            "old token dead"
        );
        let (rotated, _) = sessions::find_by_hash(&t.db, &fresh.hash())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rotated.sudo_at, Some(c.now()));
        assert_eq!(rotated.last_seen_at, datetime!(2026-03-01 10:01 UTC));
        t
    }

    async fn sessions_list_revoke_one_and_all_but_one(t: TestDb) -> TestDb {
        let c = clock();
        let u = make_user(&t.db, &c, "many@example.com").await;
        let other = make_user(&t.db, &c, "other@example.com").await;
        let mut ids = Vec::new();
        for i in 0..3 {
            c.advance(Duration::seconds(1));
            let token = Token::generate().unwrap();
            let s = sessions::insert(
                &t.db,
                &sessions::NewSession {
                    id: new_id_at(c.now()),
                    user_id: u.id,
                    hash: &token.hash(),
                    created_at: c.now(),
                    expires_at: c.now() + Duration::days(1) * (i + 1),
                    remember_me: false,
                    sudo_at: None,
                    mfa_at: None,
                    ip: None,
                    user_agent: None,
                    impersonator_id: None,
                    impersonation_organization_id: None,
                    impersonation_reason: None,
                },
            )
            .await
            .unwrap();
            ids.push(s.id);
        }
        let listed: Vec<_> = sessions::list_for_user(&t.db, u.id, c.now())
            .await
            .unwrap()
            .iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(listed, vec![ids[2], ids[1], ids[0]], "newest first");
        assert_eq!(
            sessions::delete(&t.db, other.id, ids[0]).await.unwrap(),
            0,
            "not theirs"
        );
        assert_eq!(sessions::delete(&t.db, u.id, ids[0]).await.unwrap(), 1);
        assert_eq!(
            sessions::delete_for_user(&t.db, u.id, Some(ids[2]))
                .await
                .unwrap(),
            1
        );
        let listed: Vec<_> = sessions::list_for_user(&t.db, u.id, c.now())
            .await
            .unwrap()
            .iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(listed, vec![ids[2]]);
        c.advance(Duration::days(4));
        assert!(
            sessions::list_for_user(&t.db, u.id, c.now())
                .await
                .unwrap()
                .is_empty(),
            "expired ones are not listed"
        );
        assert_eq!(
            sessions::delete_expired(&t.db, c.now(), c.now() - Duration::days(1))
                .await
                .unwrap(),
            1
        );
        t
    }

    async fn audit_events_keep_json_metadata_and_filter_by_user(t: TestDb) -> TestDb {
        let c = clock();
        let u = make_user(&t.db, &c, "audit@example.com").await;
        for (i, action) in ["register", "login.success", "login.failure"]
            .into_iter()
            .enumerate()
        {
            c.advance(Duration::seconds(1));
            let mut e = audit::event(
                new_id_at(c.now()),
                action,
                Some(u.id),
                Some(u.id),
                serde_json::json!({"n": i, "email": "audit@example.com"}),
                c.now(),
            );
            e.ip = Some("127.0.0.1".into());
            e.user_agent = Some("test-agent".into());
            audit::insert(&t.db, &e).await.unwrap();
        }
        audit::insert(
            &t.db,
            &audit::event(
                new_id_at(c.now()),
                "register",
                None,
                None,
                serde_json::json!({}),
                c.now(),
            ),
        )
        .await
        .unwrap();
        let mine = audit::list(&t.db, &audit::AuditFilter::for_user(u.id))
            .await
            .unwrap();
        assert_eq!(
            mine.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
            ["login.failure", "login.success", "register"]
        );
        assert_eq!(mine[0].metadata.0["n"], 2);
        assert_eq!(mine[0].ip.as_deref(), Some("127.0.0.1"));
        let failures = audit::list(
            &t.db,
            &audit::AuditFilter::for_user(u.id).action("login.failure"),
        )
        .await
        .unwrap();
        assert_eq!(failures.len(), 1);
        t
    }

    async fn outbox_jobs_are_claimed_once_retried_and_completed(t: TestDb) -> TestDb {
        let c = clock();
        let id = new_id_at(c.now());
        outbox::enqueue(
            &t.db,
            id,
            "mail",
            serde_json::json!({"to": ["a@example.com"]}),
            c.now(),
        )
        .await
        .unwrap();
        let lease = Duration::minutes(5);
        let claimed = outbox::claim_due(&t.db, c.now(), lease, 10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].payload.0["to"][0], "a@example.com");
        assert!(
            outbox::claim_due(&t.db, c.now(), lease, 10)
                .await
                .unwrap()
                .is_empty(),
            "leased"
        );

        outbox::fail(
            &t.db,
            id,
            "smtp down",
            Some(c.now() + Duration::minutes(1)),
            c.now(),
        )
        .await
        .unwrap();
        assert!(
            outbox::claim_due(&t.db, c.now(), lease, 10)
                .await
                .unwrap()
                .is_empty(),
            "not due yet"
        );
        c.advance(Duration::minutes(1));
        let again = outbox::claim_due(&t.db, c.now(), lease, 10).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].attempts, 1);
        assert_eq!(again[0].last_error.as_deref(), Some("smtp down"));
        outbox::complete(&t.db, id, c.now()).await.unwrap();
        let done = outbox::find(&t.db, id).await.unwrap().unwrap();
        assert_eq!(done.done_at, Some(c.now()));
        assert_eq!(done.attempts, 2);
        c.advance(Duration::hours(1));
        assert!(
            outbox::claim_due(&t.db, c.now(), lease, 10)
                .await
                .unwrap()
                .is_empty()
        );
        t
    }

    async fn an_expired_lease_lets_another_worker_claim(t: TestDb) -> TestDb {
        let c = clock();
        let id = new_id_at(c.now());
        outbox::enqueue(&t.db, id, "mail", serde_json::json!({}), c.now())
            .await
            .unwrap();
        assert_eq!(
            outbox::claim_due(&t.db, c.now(), Duration::minutes(5), 10)
                .await
                .unwrap()
                .len(),
            1
        );
        c.advance(Duration::minutes(5));
        assert_eq!(
            outbox::claim_due(&t.db, c.now(), Duration::minutes(5), 10)
                .await
                .unwrap()
                .len(),
            1
        );
        t
    }
);

#[test]
fn new_ids_are_time_ordered() {
    let a = new_id_at(OffsetDateTime::UNIX_EPOCH + Duration::days(20_000));
    let b = new_id_at(OffsetDateTime::UNIX_EPOCH + Duration::days(20_000) + Duration::seconds(1));
    assert!(a < b);
    assert_eq!(a.get_version_num(), 7);
}

/// Organizations, memberships and invitations at the store level.
mod organizations {
    use sigra_core::clock::Clock;
    use sigra_core::crypto::Token;
    use sigra_core::store::organizations as orgs;
    use sigra_core::store::{MembershipRow, OrganizationRow, StoreError, new_id_at, users};
    use time::Duration;
    use uuid::Uuid;

    use super::{clock, make_user};
    use crate::common::TestDb;

    fn org(c: &sigra_core::clock::FixedClock, slug: &str) -> OrganizationRow {
        let mut row = OrganizationRow {
            id: new_id_at(c.now()),
            name: format!("Org {slug}"),
            slug: slug.to_owned(),
            personal: false,
            created_at: c.now(),
            updated_at: c.now(),
        };
        row.name.truncate(100);
        row
    }

    /// How many transactions of this test's database wait for a row lock now.
    async fn lock_waits(db: &sigra_core::store::Db) -> i64 {
        use sigra_core::store::Db;
        match db {
            Db::Postgres(p) => sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                 WHERE NOT l.granted AND a.datname = current_database()",
            )
            .fetch_one(p)
            .await
            .unwrap(),
            Db::MySql(p) => sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.INNODB_TRX t \
                 JOIN information_schema.PROCESSLIST l ON l.ID = t.trx_mysql_thread_id \
                 WHERE t.trx_state = 'LOCK WAIT' AND l.DB = DATABASE()",
            )
            .fetch_one(p)
            .await
            .unwrap(),
            _ => 0,
        }
    }

    fn member(org: Uuid, user: Uuid, role: &str, at: time::OffsetDateTime) -> MembershipRow {
        MembershipRow {
            id: new_id_at(at),
            organization_id: org,
            user_id: user,
            role: role.to_owned(),
            created_at: at,
        }
    }

    conformance!(
        async fn slugs_are_unique_and_deleting_an_organization_takes_its_rows_along(
            t: TestDb,
        ) -> TestDb {
            let c = clock();
            let owner = make_user(&t.db, &c, "org-owner@example.com").await;
            let acme = org(&c, "acme");
            orgs::insert(&t.db, &acme).await.unwrap();
            assert!(matches!(
                orgs::insert(&t.db, &org(&c, "acme")).await,
                Err(StoreError::Conflict)
            ));
            assert_eq!(
                orgs::find_by_slug(&t.db, "acme").await.unwrap(),
                Some(acme.clone())
            );
            let m = member(acme.id, owner.id, "owner", c.now());
            orgs::insert_membership(&t.db, &m).await.unwrap();
            assert!(matches!(
                orgs::insert_membership(&t.db, &member(acme.id, owner.id, "admin", c.now())).await,
                Err(StoreError::Conflict)
            ));
            let token = Token::generate().unwrap();
            orgs::insert_invitation(
                &t.db,
                &orgs::NewInvitation {
                    id: new_id_at(c.now()),
                    organization_id: acme.id,
                    email: "invitee@example.com",
                    role: "member",
                    invited_by: Some(owner.id),
                    token_hash: token.hash().as_bytes(),
                    created_at: c.now(),
                    expires_at: c.now() + Duration::days(7),
                },
            )
            .await
            .unwrap();
            assert_eq!(orgs::count_owners(&t.db, acme.id).await.unwrap(), 1);
            assert_eq!(
                orgs::memberships_of(&t.db, owner.id).await.unwrap(),
                vec![m]
            );
            assert_eq!(orgs::delete(&t.db, acme.id).await.unwrap(), 1);
            assert!(orgs::find_by_slug(&t.db, "acme").await.unwrap().is_none());
            assert!(
                orgs::memberships_of(&t.db, owner.id)
                    .await
                    .unwrap()
                    .is_empty()
            );
            assert!(
                orgs::find_invitation(&t.db, token.hash().as_bytes())
                    .await
                    .unwrap()
                    .is_none()
            );
            // Deleting a user (hard) takes their memberships along.
            let again = org(&c, "again");
            orgs::insert(&t.db, &again).await.unwrap();
            orgs::insert_membership(&t.db, &member(again.id, owner.id, "owner", c.now()))
                .await
                .unwrap();
            users::delete(&t.db, owner.id).await.unwrap();
            assert!(orgs::members(&t.db, again.id).await.unwrap().is_empty());
            t
        }

        async fn an_invitation_is_accepted_exactly_once_and_never_late_or_revoked(
            t: TestDb,
        ) -> TestDb {
            let c = clock();
            let owner = make_user(&t.db, &c, "inv-owner@example.com").await;
            let invitee = make_user(&t.db, &c, "inv-invitee@example.com").await;
            let acme = org(&c, "inv-acme");
            orgs::insert(&t.db, &acme).await.unwrap();
            let invite = |days: i64| {
                let token = Token::generate().unwrap();
                let id = new_id_at(c.now());
                (token, id, days)
            };
            let mut made = Vec::new();
            for days in [7, 7, 7] {
                let (token, id, days) = invite(days);
                orgs::insert_invitation(
                    &t.db,
                    &orgs::NewInvitation {
                        id,
                        organization_id: acme.id,
                        email: "inv-invitee@example.com",
                        role: "member",
                        invited_by: Some(owner.id),
                        token_hash: token.hash().as_bytes(),
                        created_at: c.now(),
                        expires_at: c.now() + Duration::days(days),
                    },
                )
                .await
                .unwrap();
                made.push((token, id));
            }
            assert_eq!(
                orgs::pending_invitations(&t.db, acme.id, c.now())
                    .await
                    .unwrap()
                    .len(),
                3
            );
            assert_eq!(
                orgs::count_invitations_since(&t.db, acme.id, c.now() - Duration::hours(1))
                    .await
                    .unwrap(),
                3
            );
            // Concurrent acceptances of one invitation: exactly one wins.
            let hash = *made[0].0.hash().as_bytes();
            let mut handles = Vec::new();
            for _ in 0..8 {
                let db = t.db.clone();
                let now = c.now();
                let user = invitee.id;
                handles.push(tokio::spawn(async move {
                    orgs::accept_invitation(&db, &hash, user, now)
                        .await
                        .unwrap()
                }));
            }
            let mut wins = 0;
            for h in handles {
                wins += usize::from(h.await.unwrap());
            }
            assert_eq!(wins, 1);
            let row = orgs::find_invitation(&t.db, &hash).await.unwrap().unwrap();
            assert_eq!(row.accepted_by, Some(invitee.id));
            // Revoked: not accepted, and revoking twice does nothing.
            assert!(
                orgs::revoke_invitation(&t.db, acme.id, made[1].1, c.now())
                    .await
                    .unwrap()
            );
            assert!(
                !orgs::revoke_invitation(&t.db, acme.id, made[1].1, c.now())
                    .await
                    .unwrap()
            );
            let revoked = *made[1].0.hash().as_bytes();
            assert!(
                !orgs::accept_invitation(&t.db, &revoked, invitee.id, c.now())
                    .await
                    .unwrap()
            );
            // Seven days later the last one is dead.
            let late = c.now() + Duration::days(7);
            let expired = *made[2].0.hash().as_bytes();
            assert!(
                !orgs::accept_invitation(&t.db, &expired, invitee.id, late)
                    .await
                    .unwrap()
            );
            assert!(
                orgs::pending_invitations(&t.db, acme.id, late)
                    .await
                    .unwrap()
                    .is_empty()
            );
            t
        }

        async fn concurrent_demotions_under_the_organization_lock_keep_one_owner(
            t: TestDb,
        ) -> TestDb {
            // Two owners demote each other at once. The first holds the organization's
            // lock, has counted two owners and demoted the other one, and commits only
            // once the second has either counted (no lock: it saw two owners too) or is
            // seen waiting for a lock in this database. With the lock, the second counts
            // after the commit, sees one owner and changes nothing. SQLite serialises
            // writers at BEGIN IMMEDIATE, so there the first commits at once.
            let c = clock();
            let a = make_user(&t.db, &c, "own-a@example.com").await;
            let b = make_user(&t.db, &c, "own-b@example.com").await;
            let acme = org(&c, "lock-acme");
            orgs::insert(&t.db, &acme).await.unwrap();
            let org_id = acme.id;
            for u in [a.id, b.id] {
                orgs::insert_membership(&t.db, &member(acme.id, u, "owner", c.now()))
                    .await
                    .unwrap();
            }
            let demote =
                move |db: sigra_core::store::Db,
                      target: Uuid,
                      counted: Option<tokio::sync::oneshot::Sender<()>>| async move {
                    let tx = db.begin().await.unwrap();
                    assert!(orgs::lock(&tx, org_id).await.unwrap());
                    let owners = orgs::count_owners(&tx, org_id).await.unwrap();
                    if let Some(counted) = counted {
                        let _ = counted.send(());
                    }
                    if owners > 1 {
                        orgs::set_role(&tx, org_id, target, "admin").await.unwrap();
                    }
                    (tx, owners > 1)
                };
            let (first, demoted_b) = demote(t.db.clone(), b.id, None).await;
            let (counted_tx, counted_rx) = tokio::sync::oneshot::channel();
            let db = t.db.clone();
            let second = tokio::spawn(async move {
                let (tx, demoted_a) = demote(db, a.id, Some(counted_tx)).await;
                tx.commit().await.unwrap();
                demoted_a
            });
            if t.backend != sigra_core::store::Backend::Sqlite {
                // Bounded: at worst the first commits before the second arrives, and the
                // test then proves less, never hangs.
                let mut counted_rx = counted_rx;
                for _ in 0..5_000 {
                    if counted_rx.try_recv().is_ok() || lock_waits(&t.db).await > 0 {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
            }
            first.commit().await.unwrap();
            let demoted_a = second.await.unwrap();
            assert!(demoted_b);
            assert!(!demoted_a, "the second demotion saw the first one's result");
            assert_eq!(orgs::count_owners(&t.db, acme.id).await.unwrap(), 1);
            t
        }
    );
}

/// The database goes away mid-run (a proxy in front of it is cut) and comes back: flows
/// that need it answer 503 with `Retry-After` and write nothing; the same app serves
/// again once it is back, without a restart.
async fn a_database_out_of_reach_answers_503_writes_nothing_and_recovers(t: TestDb) -> TestDb {
    use crate::common::app::{PASSWORD, app_with, figment};
    use crate::common::proxy::FlakyProxy;
    use rocket::http::Status;

    // `scheme://user@host:port/db?…`: the same, through the proxy.
    let (scheme, rest) = t.url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let (user, host) = authority.rsplit_once('@').unwrap_or(("", authority));
    let target = std::net::ToSocketAddrs::to_socket_addrs(host)
        .unwrap()
        .next()
        .unwrap();
    let proxy = FlakyProxy::start(target);
    let at = if user.is_empty() {
        String::new()
    } else {
        format!("{user}@")
    };
    let via = format!("{scheme}://{at}{}/{path}", proxy.addr());
    let fig = figment(&t)
        .merge(("databases.sigra.url", via))
        .merge(("databases.sigra.connect_timeout", 1));
    let app = app_with(fig).await;
    app.signed_up("before@example.com").await;
    let token = app.csrf().await;
    // A session this instance has not seen yet: checking it needs the database.
    let other = app.other_browser().await;
    assert_eq!(
        other
            .log_in("before@example.com", PASSWORD, false)
            .await
            .status(),
        Status::SeeOther
    );
    let unseen = other.cookie("sigra_session").unwrap();

    proxy.set_up(false);
    let form = [
        ("_csrf", token.as_str()),
        ("email", "during@example.com"),
        ("password", PASSWORD),
    ];
    let r = app.post("/users/register", &form).await;
    assert_eq!(r.status(), Status::ServiceUnavailable);
    assert!(r.headers().get_one("Retry-After").is_some(), "Retry-After");
    let r = app
        .client
        .get("/dashboard")
        .cookie(crate::common::app::cookie("sigra_session", &unseen))
        .dispatch()
        .await;
    assert_eq!(
        r.status(),
        Status::ServiceUnavailable,
        "a lookup that needs it"
    );
    assert!(
        r.headers().get_one("Retry-After").is_some(),
        "a host route's 503 says when to retry"
    );

    proxy.set_up(true);
    assert!(
        users::find_by_email(&t.db, "during@example.com")
            .await
            .unwrap()
            .is_none(),
        "nothing half-written"
    );
    assert_eq!(
        app.register("during@example.com", PASSWORD).await.status(),
        Status::Ok
    );
    assert!(
        users::find_by_email(&t.db, "during@example.com")
            .await
            .unwrap()
            .is_some(),
        "served again without a restart"
    );
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_out_of_reach_answers_503_writes_nothing_and_recovers_postgres() {
    crate::common::run_on(
        sigra_core::store::Backend::Postgres,
        a_database_out_of_reach_answers_503_writes_nothing_and_recovers,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_out_of_reach_answers_503_writes_nothing_and_recovers_mysql() {
    crate::common::run_on(
        sigra_core::store::Backend::MySql,
        a_database_out_of_reach_answers_503_writes_nothing_and_recovers,
    )
    .await
}
