//! Custom user fields (`user_fields`): a host declares extra registration fields, Sigra
//! renders and checks them, and the host's hook stores them in its own table inside the
//! registration's transaction, or the whole registration rolls back.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rocket::http::{Method, Status};
use serde_json::json;
use sigra_core::form::FieldError;
use sigra_core::store::{Backend, Db, Executor, Tx, users};
use sigra_core::{Clock, FixedClock};
use sigra_rocket::Sigra;
use sigra_rocket::sea_query::{Alias, Query};
use sigra_rocket::user_fields::{FieldSpec, HookError, StoreFuture, UserFieldValues, UserFields};
use time::macros::datetime;

use crate::common::app::{PASSWORD, TestApp, app_with_fairing, figment};
use crate::common::{TestDb, admin_execute};
use crate::retention::count;

/// The host's own table.
const PROFILES: &str = "test_profiles";

/// A display name that makes the hook fail after writing its row.
const FAILING_NAME: &str = "Fail Late";

/// A host's profile fields, counting the hook's calls and recording, for each, whether
/// the new account was visible inside the hook's transaction and outside it.
#[derive(Debug, Clone)]
struct Profiles {
    db: Db,
    calls: Arc<AtomicUsize>,
    visible: Arc<Mutex<Vec<(bool, bool)>>>,
    /// `forget` fails while set.
    refuse_forget: Arc<AtomicBool>,
}

impl UserFields for Profiles {
    fn fields(&self) -> Vec<FieldSpec> {
        vec![
            FieldSpec::text("display_name", "Display name")
                .required()
                .max_chars(20)
                .help("Shown to your team."),
            FieldSpec::checkbox("accept_terms", "I accept the terms").required(),
            FieldSpec::select("plan", "Plan", [("free", "Free"), ("pro", "Pro")]),
        ]
    }

    fn validate(&self, values: &UserFieldValues) -> Vec<(String, FieldError)> {
        if values.get("display_name") == Some("root") {
            let e = FieldError::new("display_name_reserved", "That name is reserved.");
            return vec![("display_name".into(), e)];
        }
        Vec::new()
    }

    fn store<'a>(
        &'a self,
        tx: &'a Tx,
        user_id: uuid::Uuid,
        values: &'a UserFieldValues,
    ) -> StoreFuture<'a> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let inside = users::find_by_id(tx, user_id).await?.is_some();
            let outside = users::find_by_id(&self.db, user_id).await?.is_some();
            self.visible.lock().unwrap().push((inside, outside));
            let name = values.get("display_name").unwrap_or_default();
            let stmt = Query::insert()
                .into_table(Alias::new(PROFILES))
                .columns([
                    Alias::new("user_id"),
                    Alias::new("display_name"),
                    Alias::new("accepted_terms"),
                    Alias::new("plan"),
                ])
                .values([
                    user_id.into(),
                    name.to_owned().into(),
                    values.checked("accept_terms").into(),
                    values.get("plan").map(str::to_owned).into(),
                ])
                .map_err(HookError::failed)?
                .to_owned();
            tx.execute(&stmt).await?;
            if name == FAILING_NAME {
                return Err(HookError::failed("the test host refuses this one"));
            }
            Ok(())
        })
    }

    fn forget<'a>(&'a self, tx: &'a Tx, user_id: uuid::Uuid) -> StoreFuture<'a> {
        Box::pin(async move {
            use sigra_rocket::sea_query::{Expr, ExprTrait};
            let stmt = Query::delete()
                .from_table(Alias::new(PROFILES))
                .and_where(Expr::col(Alias::new("user_id")).eq(user_id))
                .to_owned();
            tx.execute(&stmt).await?;
            if self.refuse_forget.load(Ordering::SeqCst) {
                return Err(HookError::failed("the test host refuses to forget"));
            }
            Ok(())
        })
    }
}

/// A stored profile.
#[derive(Debug, sqlx::FromRow)]
struct Profile {
    display_name: String,
    accepted_terms: bool,
    plan: Option<String>,
}

async fn profile_of(db: &Db, user_id: uuid::Uuid) -> Option<Profile> {
    use sigra_rocket::sea_query::{Expr, ExprTrait};
    let stmt = Query::select()
        .columns([
            Alias::new("display_name"),
            Alias::new("accepted_terms"),
            Alias::new("plan"),
        ])
        .from(Alias::new(PROFILES))
        .and_where(Expr::col(Alias::new("user_id")).eq(user_id))
        .to_owned();
    db.fetch_optional(&stmt).await.unwrap()
}

/// The app with the host's profile fields, their table created (the database is
/// migrated already), and the hook to watch.
async fn host_app(t: &TestDb) -> (TestApp, Profiles) {
    let uuid = match t.backend {
        Backend::Sqlite => "BLOB",
        Backend::Postgres => "UUID",
        _ => "BINARY(16)",
    };
    admin_execute(
        &t.db,
        &format!(
            "CREATE TABLE {PROFILES} (
                user_id {uuid} NOT NULL PRIMARY KEY,
                display_name TEXT NOT NULL,
                accepted_terms BOOLEAN NOT NULL,
                plan TEXT,
                FOREIGN KEY (user_id) REFERENCES sigra_users (id) ON DELETE CASCADE
            )"
        ),
    )
    .await;
    let hook = Profiles {
        db: t.db.clone(),
        calls: Arc::new(AtomicUsize::new(0)),
        visible: Arc::new(Mutex::new(Vec::new())),
        refuse_forget: Arc::new(AtomicBool::new(false)),
    };
    let fields = hook.clone();
    let app = app_with_fairing(t, Arc::new(move |s: Sigra| s.user_fields(fields.clone()))).await;
    (app, hook)
}

/// Rows of the tables a registration writes: accounts, host profiles, queued mail,
/// audit events.
async fn written(db: &Db) -> [i64; 4] {
    [
        count(db, "sigra_users").await,
        count(db, PROFILES).await,
        count(db, "sigra_outbox").await,
        count(db, "sigra_audit_events").await,
    ]
}

fn good<'a>(email: &'a str, name: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("email", email),
        ("password", PASSWORD),
        ("display_name", name),
        ("accept_terms", "true"),
        ("plan", "pro"),
    ]
}

conformance!(
    async fn the_registration_page_renders_each_declared_field(t: TestDb) -> TestDb {
        let (app, _) = host_app(&t).await;
        let (status, html) = app.body("/users/register").await;
        assert_eq!(status, Status::Ok);
        for expected in [
            r#"<label class="field__label" for="user_field_display_name">Display name</label>"#,
            r#"id="user_field_display_name" name="display_name" type="text""#,
            r#"maxlength="20""#,
            r#"<p class="field__hint" id="user_field_display_name-hint">Shown to your team.</p>"#,
            r#"id="user_field_accept_terms" name="accept_terms" value="true""#,
            r#"<label for="user_field_accept_terms">I accept the terms</label>"#,
            r#"<select class="input" id="user_field_plan" name="plan""#,
            r#"<option value="pro">Pro</option>"#,
        ] {
            assert!(html.contains(expected), "{expected} in {html}");
        }
        let terms = html.split("id=\"user_field_accept_terms\"").nth(1).unwrap();
        let terms = terms.split('>').next().unwrap();
        assert!(terms.contains("required"), "{terms}");
        assert!(!terms.contains("checked"), "{terms}");

        // An app without custom fields renders none.
        let plain = crate::common::app::app(&t).await;
        let (_, html) = plain.body("/users/register").await;
        assert!(!html.contains("user_field_"), "{html}");
        t
    }

    async fn missing_or_invalid_values_re_render_with_messages_keep_the_rest_and_create_nothing(
        t: TestDb,
    ) -> TestDb {
        let (app, hook) = host_app(&t).await;
        let before = written(&t.db).await;

        let r = app
            .submit(
                "/users/register",
                &[
                    ("email", "ada@example.com"),
                    ("password", PASSWORD),
                    ("display_name", "Ada Augusta King-Noel, Countess"),
                    ("plan", "gold"),
                ],
            )
            .await;
        assert_eq!(r.status(), Status::UnprocessableEntity);
        let html = r.into_string().await.unwrap();
        for message in [
            "Display name can be at most 20 characters long; this is 31.",
            "Tick “I accept the terms” to continue.",
            "Choose one of the options for Plan.",
        ] {
            assert!(html.contains(message), "{message} in {html}");
        }
        assert!(html.contains(r#"value="ada@example.com""#), "email kept");
        assert!(
            html.contains(r#"value="Ada Augusta King-Noel, Countess""#),
            "display name kept"
        );
        assert!(html.contains(r#"id="user_field_display_name-errors""#));
        assert!(!html.contains(PASSWORD), "never the password");

        // Required text missing, a host rule, and a ticked box kept ticked.
        let r = app
            .submit(
                "/users/register",
                &[
                    ("email", "ada@example.com"),
                    ("password", PASSWORD),
                    ("display_name", "   "),
                    ("accept_terms", "true"),
                    ("plan", "pro"),
                ],
            )
            .await;
        assert_eq!(r.status(), Status::UnprocessableEntity);
        let html = r.into_string().await.unwrap();
        assert!(html.contains("Display name is required."), "{html}");
        let terms = html.split("id=\"user_field_accept_terms\"").nth(1).unwrap();
        assert!(
            terms.split('>').next().unwrap().contains("checked"),
            "{terms}"
        );
        assert!(html.contains(r#"<option value="pro" selected>Pro</option>"#));

        let mut root = good("ada@example.com", "root");
        root.retain(|(k, _)| *k != "plan");
        let r = app.submit("/users/register", &root).await;
        assert_eq!(r.status(), Status::UnprocessableEntity);
        assert!(
            r.into_string()
                .await
                .unwrap()
                .contains("That name is reserved.")
        );

        assert_eq!(written(&t.db).await, before, "nothing written");
        assert_eq!(hook.calls.load(Ordering::SeqCst), 0);
        assert!(app.mails_to("ada@example.com").await.is_empty());
        t
    }

    async fn a_registration_stores_the_host_row_in_the_account_transaction(t: TestDb) -> TestDb {
        let (app, hook) = host_app(&t).await;
        let r = app
            .submit(
                "/users/register",
                &good("grace@example.com", "  Grace Hopper "),
            )
            .await;
        assert_eq!(r.status(), Status::Ok);
        let user = users::find_by_email(&t.db, "grace@example.com")
            .await
            .unwrap()
            .expect("the account");
        let profile = profile_of(&t.db, user.id).await.expect("the host's row");
        assert_eq!(profile.display_name, "Grace Hopper", "trimmed");
        assert!(profile.accepted_terms);
        assert_eq!(profile.plan.as_deref(), Some("pro"));
        // The hook ran inside the uncommitted registration: it saw the new account, the
        // rest of the world did not yet.
        assert_eq!(*hook.visible.lock().unwrap(), [(true, false)]);
        assert_eq!(app.mails_to("grace@example.com").await.len(), 1);
        t
    }

    async fn deleting_the_account_deletes_the_host_row_in_the_same_transaction(
        t: TestDb,
    ) -> TestDb {
        let (app, hook) = host_app(&t).await;
        let r = app
            .submit("/users/register", &good("ada@example.com", "Ada"))
            .await;
        assert_eq!(r.status(), Status::Ok);
        let id = users::find_by_email(&t.db, "ada@example.com")
            .await
            .unwrap()
            .expect("the account")
            .id;
        let now = app.clock.now();
        assert_eq!(
            users::schedule_deletion(&t.db, id, now, now).await.unwrap(),
            1
        );

        // A host that cannot forget stops the deletion: nothing of it is kept.
        hook.refuse_forget.store(true, Ordering::SeqCst);
        assert_eq!(app.state().run_due_jobs().await.unwrap().swept, 0);
        let user = users::find_by_id(&t.db, id).await.unwrap().unwrap();
        assert!(user.deleted_at.is_none(), "rolled back");
        assert_eq!(user.email, "ada@example.com");
        assert!(profile_of(&t.db, id).await.is_some(), "rolled back");

        // The next run deletes both: the account is anonymized (its row stays, so no
        // foreign key cascades) and the host's row is gone.
        hook.refuse_forget.store(false, Ordering::SeqCst);
        assert_eq!(app.state().run_due_jobs().await.unwrap().swept, 1);
        let user = users::find_by_id(&t.db, id).await.unwrap().unwrap();
        assert!(user.deleted_at.is_some());
        assert!(
            profile_of(&t.db, id).await.is_none(),
            "the host's row went along"
        );
        t
    }

    async fn a_failing_hook_leaves_no_account_no_mail_and_no_audit_event(t: TestDb) -> TestDb {
        let (app, hook) = host_app(&t).await;
        let before = written(&t.db).await;
        let r = app
            .submit("/users/register", &good("fail@example.com", FAILING_NAME))
            .await;
        assert_eq!(r.status(), Status::InternalServerError);
        let html = r.into_string().await.unwrap();
        assert!(!html.contains("Check your email"), "{html}");

        let answer = app
            .json(
                Method::Post,
                "/users/register",
                json!({
                    "email": "fail@example.com",
                    "password": PASSWORD,
                    "display_name": FAILING_NAME,
                    "accept_terms": true,
                }),
            )
            .await;
        answer.assert_refused(Status::InternalServerError, "internal_server_error");

        assert_eq!(
            hook.calls.load(Ordering::SeqCst),
            2,
            "the hook ran and failed"
        );
        assert_eq!(
            written(&t.db).await,
            before,
            "no account, no host row, no mail, no audit event"
        );
        assert!(app.mails_to("fail@example.com").await.is_empty());

        // Nothing half-made stands in the way: the same address registers afterwards.
        let r = app
            .submit("/users/register", &good("fail@example.com", "Fine"))
            .await;
        assert_eq!(r.status(), Status::Ok);
        let user = users::find_by_email(&t.db, "fail@example.com")
            .await
            .unwrap()
            .expect("the account");
        assert_eq!(
            profile_of(&t.db, user.id).await.unwrap().display_name,
            "Fine"
        );
        t
    }

    async fn an_existing_address_answers_identically_and_never_reaches_the_hook(
        t: TestDb,
    ) -> TestDb {
        let (app, hook) = host_app(&t).await;
        let first = app
            .submit("/users/register", &good("known@example.com", "First"))
            .await;
        let (first_status, first_body) = (first.status(), first.into_string().await.unwrap());
        assert_eq!(first_status, Status::Ok);
        assert_eq!(hook.calls.load(Ordering::SeqCst), 1);

        let again = app
            .submit("/users/register", &good("known@example.com", "Second"))
            .await;
        assert_eq!(again.status(), first_status);
        assert_eq!(again.into_string().await.unwrap(), first_body);
        // Even a value that would make the hook fail: the hook is never called.
        let failing = app
            .submit("/users/register", &good("known@example.com", FAILING_NAME))
            .await;
        assert_eq!(failing.status(), first_status);
        assert_eq!(failing.into_string().await.unwrap(), first_body);
        assert_eq!(
            hook.calls.load(Ordering::SeqCst),
            1,
            "not for a known address"
        );

        let user = users::find_by_email(&t.db, "known@example.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            profile_of(&t.db, user.id).await.unwrap().display_name,
            "First"
        );
        assert_eq!(count(&t.db, PROFILES).await, 1);
        t
    }

    async fn json_clients_send_the_fields_and_get_their_reasons_by_field(t: TestDb) -> TestDb {
        let (app, _) = host_app(&t).await;
        let refused = app
            .json(
                Method::Post,
                "/users/register",
                json!({"email": "js@example.com", "password": PASSWORD, "plan": "gold"}),
            )
            .await;
        refused.assert_refused(Status::UnprocessableEntity, "invalid_fields");
        assert_eq!(refused.field_reason("display_name"), "user_field_required");
        assert_eq!(refused.field_reason("accept_terms"), "user_field_unchecked");
        assert_eq!(refused.field_reason("plan"), "user_field_invalid_option");
        let fields = refused.body["fields"].as_object().unwrap();
        assert_eq!(
            fields.keys().collect::<Vec<_>>(),
            ["accept_terms", "display_name", "plan"],
            "only the fields at fault: {refused:?}"
        );
        assert_eq!(count(&t.db, "sigra_users").await, 0);

        let ok = app
            .json(
                Method::Post,
                "/users/register",
                json!({
                    "email": "js@example.com",
                    "password": PASSWORD,
                    "display_name": "Jay",
                    "accept_terms": true,
                    "plan": null,
                }),
            )
            .await;
        assert_eq!(ok.assert_ok(Status::Ok)["next"], "/users/confirm");
        let user = users::find_by_email(&t.db, "js@example.com")
            .await
            .unwrap()
            .expect("the account");
        let profile = profile_of(&t.db, user.id).await.expect("the host's row");
        assert_eq!(profile.display_name, "Jay");
        assert!(profile.accepted_terms);
        assert_eq!(profile.plan, None);
        t
    }

    async fn the_openapi_document_describes_the_declared_fields_of_the_registration_body(
        t: TestDb,
    ) -> TestDb {
        let (app, _) = host_app(&t).await;
        let r = app.json_get("/users/openapi.json").await;
        assert_eq!(r.status, Status::Ok);
        let body = &r.body["paths"]["/users/register"]["post"]["requestBody"]["content"];
        let json = &body["application/json"]["schema"];
        assert_eq!(json["properties"]["display_name"]["maxLength"], 20);
        assert_eq!(json["properties"]["display_name"]["title"], "Display name");
        assert_eq!(
            json["properties"]["display_name"]["description"],
            "Shown to your team."
        );
        assert_eq!(
            json["properties"]["plan"]["enum"],
            json!(["free", "pro", null])
        );
        assert_eq!(
            json["required"],
            json!(["email", "password", "display_name", "accept_terms"])
        );
        let form = &body["application/x-www-form-urlencoded"]["schema"];
        assert_eq!(
            form["properties"]["accept_terms"]["enum"],
            json!(["true", "false"])
        );
        assert_eq!(form["properties"]["plan"]["enum"], json!(["free", "pro"]));
        // The other bodies are left alone.
        let log_in = &r.body["paths"]["/users/log_in"]["post"]["requestBody"]["content"];
        assert!(log_in["application/json"]["schema"]["properties"]["display_name"].is_null());
        t
    }

    async fn a_declaration_that_cannot_work_stops_the_launch(t: TestDb) -> TestDb {
        #[derive(Debug)]
        struct Clash;
        impl UserFields for Clash {
            fn fields(&self) -> Vec<FieldSpec> {
                vec![FieldSpec::text("password", "Password again")]
            }
            fn store<'a>(
                &'a self,
                _: &'a Tx,
                _: uuid::Uuid,
                _: &'a UserFieldValues,
            ) -> StoreFuture<'a> {
                Box::pin(async { Ok(()) })
            }
        }
        let clock = FixedClock::new(datetime!(2026-06-01 09:00 UTC));
        let rocket = rocket::custom(figment(&t))
            .attach(Sigra::with_clock(Arc::new(clock)).user_fields(Clash));
        let Err(err) = rocket.ignite().await else {
            panic!("launch must fail")
        };
        assert!(
            matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(f) if f[0].name == "Sigra"),
            "{err:?}"
        );
        t
    }
);
