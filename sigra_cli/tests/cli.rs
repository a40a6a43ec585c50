//! The `sigra` command, run as a real process in an app folder (a temp dir holding a
//! `Rocket.toml`), checked by its exit status, its output and what it did to the store
//! and the files. Commands that touch the database run on SQLite, and on PostgreSQL and
//! MySQL when `SIGRA_TEST_POSTGRES_URL` / `SIGRA_TEST_MYSQL_URL` are set (a loud line
//! says when one is skipped), each on a fresh database, as the integration suite does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Once};

use rocket::figment::Figment;
use rocket::figment::providers::{Format, Toml};
use sigra_core::SigraConfig;
use sigra_core::clock::SystemClock;
use sigra_core::features::login::{LoginInput, LoginOutcome, log_in};
use sigra_core::features::registration::{RegistrationInput, register};
use sigra_core::features::reset_password::{ResetOutcome, reset};
use sigra_core::features::{Auth, RequestMeta, audit as audit_feature, sessions};
use sigra_core::jobs::{Worker, WorkerConfig};
use sigra_core::mail::{Delivery, DevMailbox};
use sigra_core::sea_query::{Expr, ExprTrait, Query};
use sigra_core::secret::SecretString;
use sigra_core::store::{AuditEvent, AuditEvents, Backend, Db, Executor, audit, users};

const POSTGRES_ENV: &str = "SIGRA_TEST_POSTGRES_URL";
const MYSQL_ENV: &str = "SIGRA_TEST_MYSQL_URL";
const REDIS_ENV: &str = "SIGRA_TEST_REDIS_URL";

/// The app's master secret in these tests (never printed by the command).
const SECRET: &str = "cli-test-secret-0123456789abcdefghijklmnopqrstuvwxyz";
const PASSWORD: &str = "correct horse battery staple";

static SKIP_POSTGRES: Once = Once::new();
static SKIP_MYSQL: Once = Once::new();
static SKIP_REDIS: Once = Once::new();

fn loud_skip(once: &Once, what: &str, var: &str) {
    // Straight to stderr: libtest captures `eprintln!` of passing tests.
    once.call_once(|| {
        let _ = writeln!(
            std::io::stderr(),
            "\n!!!!! SKIPPING {what}: {var} is not set, so no {what} test of the sigra command runs. !!!!!\n"
        );
    });
}

fn random_name() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sigra_cli_{hex}")
}

/// `url` with its database path replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority_and_path, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let authority = authority_and_path.split('/').next().unwrap_or_default();
    let mut out = format!("{scheme}://{authority}/{name}");
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

async fn admin_execute(db: &Db, sql: &str) {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    match db {
        Db::Postgres(p) => sqlx::query(sql).execute(p).await.map(drop),
        Db::MySql(p) => sqlx::query(sql).execute(p).await.map(drop),
        Db::Sqlite(p) => sqlx::query(sql).execute(p).await.map(drop),
        _ => unreachable!(),
    }
    .unwrap();
}

/// An app folder: a temp dir for `Rocket.toml` and templates, and a fresh, empty
/// database (a SQLite file in the folder, or a new PostgreSQL / MySQL database).
struct Site {
    backend: Backend,
    dir: tempfile::TempDir,
    url: String,
    server: Option<(String, String)>,
}

/// How one run of the command ended.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn succeeded(&self) -> &Run {
        assert_eq!(self.code, 0, "{self:#?}");
        self
    }

    #[track_caller]
    fn failed_with(&self, code: i32) -> &Run {
        assert_eq!(self.code, code, "{self:#?}");
        self
    }

    /// Both streams, for checks that must hold on everything printed.
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl Site {
    async fn fresh(backend: Backend) -> Option<Site> {
        let dir = tempfile::tempdir().unwrap();
        let (url, server) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}/app.sqlite3", dir.path().display()),
                None,
            ),
            _ => {
                let (var, once) = if backend == Backend::Postgres {
                    (POSTGRES_ENV, &SKIP_POSTGRES)
                } else {
                    (MYSQL_ENV, &SKIP_MYSQL)
                };
                let Ok(server_url) = std::env::var(var) else {
                    loud_skip(once, backend.name(), var);
                    return None;
                };
                let admin = Db::connect(&server_url, 1)
                    .await
                    .unwrap_or_else(|e| panic!("{var} is set but unreachable: {e}"));
                let name = random_name();
                admin_execute(&admin, &format!("CREATE DATABASE {name}")).await;
                admin.close().await;
                (with_database(&server_url, &name), Some((server_url, name)))
            }
        };
        let site = Site {
            backend,
            dir,
            url,
            server,
        };
        site.configure(&format!("secret_key = \"{SECRET}\""), "");
        Some(site)
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Writes the folder's `Rocket.toml`: the database, `keys` in `[default.sigra]`, a
    /// short session cache (a revocation from the command waits that long), and `more`
    /// tables after them.
    fn configure(&self, keys: &str, more: &str) {
        let toml = format!(
            "[default.databases.sigra]\nurl = \"{}\"\n\n[default.sigra]\n{keys}\n\n\
             [default.sigra.session]\ncache_ms = 100\n\n{more}\n",
            self.url
        );
        std::fs::write(self.path("Rocket.toml"), toml).unwrap();
    }

    /// Runs `sigra ARGS` in the folder, with no ROCKET_* or SIGRA_* variable of this
    /// process (only the folder's configuration counts).
    fn sigra(&self, args: &[&str]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sigra"));
        command.args(args).current_dir(self.dir.path());
        for (key, _) in std::env::vars() {
            if key.starts_with("ROCKET_") || key.starts_with("SIGRA_") {
                command.env_remove(key);
            }
        }
        let output = command.output().unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }

    async fn db(&self) -> Db {
        Db::connect(&self.url, 2).await.unwrap()
    }

    /// The app's side: Sigra built from the same `Rocket.toml` (debug profile).
    async fn auth(&self) -> Auth {
        let figment =
            Figment::from(Toml::file_exact(self.path("Rocket.toml")).nested()).select("debug");
        let config = SigraConfig::from_figment(&figment).unwrap();
        Auth::build(config, self.db().await, Arc::new(SystemClock), None)
            .await
            .unwrap()
    }

    async fn cleanup(self) {
        if let Some((server_url, name)) = self.server {
            let admin = Db::connect(&server_url, 1).await.unwrap();
            let force = if self.backend == Backend::Postgres {
                " WITH (FORCE)"
            } else {
                ""
            };
            admin_execute(&admin, &format!("DROP DATABASE IF EXISTS {name}{force}")).await;
            admin.close().await;
        }
    }
}

async fn run_on<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(Site) -> Fut,
    Fut: std::future::Future<Output = Site>,
{
    if let Some(site) = Site::fresh(backend).await {
        test(site).await.cleanup().await;
    }
}

/// Tests that touch the database: each runs on SQLite, PostgreSQL and MySQL.
macro_rules! on_every_backend {
    ($(async fn $name:ident($site:ident: Site $(,)?) -> Site $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn body($site: Site) -> Site $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run_on(Backend::Sqlite, body).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    run_on(Backend::Postgres, body).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn mysql() {
                    run_on(Backend::MySql, body).await
                }
            }
        )*
    };
}

fn meta() -> RequestMeta {
    RequestMeta::default()
}

async fn sign_up(auth: &Auth, email: &str) {
    let input = RegistrationInput {
        email: email.into(),
        password: SecretString::new(PASSWORD),
        user_fields: Default::default(),
    };
    register(auth, &input, &meta()).await.unwrap().unwrap();
}

/// Logs in; answers the session cookie's value, or `None` when the log-in is refused.
async fn session_of(auth: &Auth, email: &str, password: &str) -> Option<String> {
    let input = LoginInput {
        email: email.into(),
        password: SecretString::new(password),
        remember_me: false,
        trusted_browser: None,
    };
    match log_in(auth, &input, None, &meta()).await.unwrap() {
        LoginOutcome::Success(issued) => Some(issued.token.as_str().to_owned()),
        LoginOutcome::InvalidCredentials => None,
        other => panic!("unexpected log-in outcome {other:?}"),
    }
}

async fn events(db: &Db, action: &str) -> Vec<AuditEvent> {
    audit::list(db, &audit::AuditFilter::default().action(action))
        .await
        .unwrap()
}

/// The event is the command's: no actor, `"via": "cli"`, the command's user agent.
#[track_caller]
fn by_the_command(event: &AuditEvent) {
    assert_eq!(event.actor_id, None, "{event:?}");
    assert_eq!(event.metadata.0["via"], "cli", "{event:?}");
    assert!(
        event
            .user_agent
            .as_deref()
            .is_some_and(|ua| ua.starts_with("sigra-cli/")),
        "{event:?}"
    );
}

on_every_backend!(
    async fn migrate_applies_every_migration_once_then_has_nothing_to_do(site: Site) -> Site {
        // Every other command refuses an unmigrated database instead of changing it.
        let refused = site.sigra(&["audit", "verify"]);
        refused.failed_with(1);
        assert!(
            refused.stderr.contains("migrations_pending"),
            "{refused:#?}"
        );
        assert!(refused.stderr.contains("sigra migrate"), "{refused:#?}");

        let db = site.db().await;
        let all = db.embedded_migrations();
        assert_eq!(db.pending_migrations().await.unwrap(), all);

        let run = site.sigra(&["migrate"]);
        run.succeeded();
        assert!(run.stdout.contains("applied 0001_users"), "{run:#?}");
        assert!(
            run.stdout
                .contains(&format!("Applied {} migration(s)", all.len())),
            "{run:#?}"
        );
        assert!(db.pending_migrations().await.unwrap().is_empty());
        // The tables are there: the store answers.
        assert!(
            users::find_by_email(&db, "nobody@example.com")
                .await
                .unwrap()
                .is_none()
        );

        let again = site.sigra(&["migrate"]);
        again.succeeded();
        assert!(again.stdout.contains("Nothing to do"), "{again:#?}");
        db.close().await;
        site
    }

    async fn users_lock_ends_sessions_and_refuses_log_in_until_unlock_and_ban_ends_them_for_good(
        site: Site,
    ) -> Site {
        site.sigra(&["migrate"]).succeeded();
        let auth = site.auth().await;
        sign_up(&auth, "ada@example.com").await;
        let session = session_of(&auth, "ada@example.com", PASSWORD)
            .await
            .unwrap();
        assert!(
            sessions::authenticate(&auth, &session)
                .await
                .unwrap()
                .is_some()
        );

        let run = site.sigra(&["users", "lock", "Ada@Example.com"]);
        run.succeeded();
        assert!(run.stdout.contains("ada@example.com"), "{run:#?}");
        assert!(run.stdout.contains("locked"), "{run:#?}");
        let user = users::find_by_email(&auth.db, "ada@example.com")
            .await
            .unwrap()
            .unwrap();
        assert!(user.admin_locked_at.is_some());
        assert!(
            sessions::authenticate(&auth, &session)
                .await
                .unwrap()
                .is_none(),
            "the session ended"
        );
        assert_eq!(session_of(&auth, "ada@example.com", PASSWORD).await, None);
        let locked = events(&auth.db, "admin.user_locked").await;
        assert_eq!(locked.len(), 1);
        assert_eq!(locked[0].target_id, Some(user.id));
        by_the_command(&locked[0]);

        // Locking a locked account changes and records nothing.
        let again = site.sigra(&["users", "lock", "ada@example.com"]);
        again.succeeded();
        assert!(again.stdout.contains("nothing to do"), "{again:#?}");
        assert_eq!(events(&auth.db, "admin.user_locked").await.len(), 1);

        site.sigra(&["users", "unlock", "ada@example.com"])
            .succeeded();
        let user = users::find_by_email(&auth.db, "ada@example.com")
            .await
            .unwrap()
            .unwrap();
        assert!(user.admin_locked_at.is_none());
        // The lock ended the session: unlocking does not bring it back.
        assert!(
            sessions::authenticate(&auth, &session)
                .await
                .unwrap()
                .is_none(),
            "the session from before the lock stays ended"
        );
        let session = session_of(&auth, "ada@example.com", PASSWORD)
            .await
            .unwrap();
        by_the_command(&events(&auth.db, "admin.user_unlocked").await[0]);

        let run = site.sigra(&["users", "ban", "ada@example.com"]);
        run.succeeded();
        assert!(run.stdout.contains("banned"), "{run:#?}");
        let user = users::find_by_email(&auth.db, "ada@example.com")
            .await
            .unwrap()
            .unwrap();
        assert!(user.banned_at.is_some());
        assert!(
            sessions::authenticate(&auth, &session)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(session_of(&auth, "ada@example.com", PASSWORD).await, None);
        by_the_command(&events(&auth.db, "admin.user_banned").await[0]);

        // No such account: refused, named, nothing recorded.
        let unknown = site.sigra(&["users", "lock", "nobody@example.com"]);
        unknown.failed_with(1);
        assert!(unknown.stderr.contains("user_not_found"), "{unknown:#?}");
        // Not on an admin, as in the console.
        sign_up(&auth, "root@example.com").await;
        site.sigra(&["admin", "create", "root@example.com"])
            .succeeded();
        let admin = site.sigra(&["users", "ban", "root@example.com"]);
        admin.failed_with(1);
        assert!(admin.stderr.contains("target_is_admin"), "{admin:#?}");
        let root = users::find_by_email(&auth.db, "root@example.com")
            .await
            .unwrap()
            .unwrap();
        assert!(root.banned_at.is_none());
        // Revoked first, as the refusal says: then the ban goes through.
        site.sigra(&["admin", "revoke", "root@example.com"])
            .succeeded();
        let root = users::find_by_email(&auth.db, "root@example.com")
            .await
            .unwrap()
            .unwrap();
        assert!(!root.is_admin);
        by_the_command(&events(&auth.db, "admin.revoked").await[0]);
        site.sigra(&["users", "ban", "root@example.com"])
            .succeeded();
        let root = users::find_by_email(&auth.db, "root@example.com")
            .await
            .unwrap()
            .unwrap();
        assert!(root.banned_at.is_some());
        auth.db.close().await;
        site
    }

    async fn admin_create_grants_an_existing_account_or_creates_one_that_sets_its_password_by_mail(
        site: Site,
    ) -> Site {
        site.sigra(&["migrate"]).succeeded();
        let auth = site.auth().await;
        sign_up(&auth, "grace@example.com").await;

        let run = site.sigra(&["admin", "create", "Grace@Example.com"]);
        run.succeeded();
        assert!(
            run.stdout.contains("grace@example.com is a platform admin"),
            "{run:#?}"
        );
        let grace = users::find_by_email(&auth.db, "grace@example.com")
            .await
            .unwrap()
            .unwrap();
        assert!(grace.is_admin);
        let granted = events(&auth.db, "admin.granted").await;
        assert_eq!(granted.len(), 1);
        assert_eq!(granted[0].target_id, Some(grace.id));
        by_the_command(&granted[0]);

        // Nobody has this address: the account is made, confirmed, without a password.
        let run = site.sigra(&["admin", "create", "ops@example.com"]);
        run.succeeded();
        assert!(run.stdout.contains("Created ops@example.com"), "{run:#?}");
        let ops = users::find_by_email(&auth.db, "ops@example.com")
            .await
            .unwrap()
            .unwrap();
        assert!(ops.is_admin && ops.confirmed_at.is_some() && !ops.has_password());
        for action in ["registration", "admin.granted", "admin.reset_sent"] {
            let found: Vec<_> = events(&auth.db, action)
                .await
                .into_iter()
                .filter(|e| e.target_id == Some(ops.id))
                .collect();
            assert_eq!(found.len(), 1, "{action}");
            by_the_command(&found[0]);
        }

        // The app's worker delivers the queued mail; its link sets the password.
        let dev = DevMailbox::new(Arc::new(SystemClock));
        let delivery = Arc::new(Delivery::new(None, Some(dev.clone())));
        let worker = Worker::new(
            auth.db.clone(),
            delivery,
            auth.cipher.clone(),
            auth.clock.clone(),
            WorkerConfig::default(),
        );
        worker.run_once().await.unwrap();
        let mail = dev
            .list()
            .into_iter()
            .find(|m| m.to == ["ops@example.com"])
            .expect("a reset mail to the new admin");
        let marker = "/users/reset-password/";
        let start = mail.text.find(marker).expect("a reset link") + marker.len();
        let token: String = mail.text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        let password = SecretString::new("a brand new admin passphrase");
        let outcome = reset(&auth, &token, &password, &password, &meta())
            .await
            .unwrap();
        assert_eq!(outcome, ResetOutcome::Done);
        assert!(
            session_of(&auth, "ops@example.com", "a brand new admin passphrase")
                .await
                .is_some()
        );

        // Not an address: wrong usage, nothing made.
        site.sigra(&["admin", "create", "not-an-address"])
            .failed_with(2);
        assert!(
            users::find_by_email(&auth.db, "not-an-address")
                .await
                .unwrap()
                .is_none()
        );
        auth.db.close().await;
        site
    }

    async fn audit_verify_passes_an_intact_chain_and_names_the_first_tampered_link(
        site: Site,
    ) -> Site {
        site.sigra(&["migrate"]).succeeded();
        let auth = site.auth().await;
        for n in 0..3 {
            sign_up(&auth, &format!("user{n}@example.com")).await;
        }
        audit_feature::seal(&auth).await.unwrap();
        // One more, not sealed yet: counted, not covered.
        sign_up(&auth, "late@example.com").await;

        let run = site.sigra(&["audit", "verify"]);
        run.succeeded();
        assert!(run.stdout.contains("INTACT"), "{run:#?}");
        let expected = audit_feature::verify(&auth).await.unwrap();
        assert!(
            expected.checked >= 3 && expected.unsealed >= 1,
            "{expected:?}"
        );
        let checked = format!("{} sealed event(s) checked", expected.checked);
        assert!(run.stdout.contains(&checked), "{run:#?}");
        let unsealed = format!(
            "Not sealed yet (not covered): {} event(s)",
            expected.unsealed
        );
        assert!(run.stdout.contains(&unsealed), "{run:#?}");
        assert!(run.stdout.contains(&expected.head_hash), "{run:#?}");

        let link = audit::links_after(&auth.db, 1, 1).await.unwrap()[0].clone();
        assert_eq!(link.seq, 2);
        let tamper = Query::update()
            .table(AuditEvents::Table)
            .value(AuditEvents::Action, "tampered")
            .and_where(Expr::col(AuditEvents::Id).eq(link.event_id))
            .to_owned();
        Executor::execute(&auth.db, &tamper).await.unwrap();

        let run = site.sigra(&["audit", "verify"]);
        run.failed_with(1);
        assert!(run.stdout.contains("BROKEN at link #2"), "{run:#?}");
        assert!(run.stdout.contains(&link.event_id.to_string()), "{run:#?}");
        assert!(run.stdout.contains("hash"), "{run:#?}");
        auth.db.close().await;
        site
    }
);

// ---------------------------------------------------------------------------------------
// templates eject: files only (SQLite configuration, the database is not opened).
// ---------------------------------------------------------------------------------------

/// A default template as the repository holds it: mails in sigra_core, pages in
/// sigra_rocket.
fn default_source(path: &str) -> String {
    let owner = if path.starts_with("sigra/email/") {
        "sigra_core"
    } else {
        "sigra_rocket"
    };
    let templates = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(owner)
        .join("templates");
    std::fs::read_to_string(templates.join(path)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_eject_copies_the_named_pages_and_never_overwrites() {
    let site = Site::fresh(Backend::Sqlite).await.unwrap();
    let run = site.sigra(&["templates", "eject", "login", "email/reset_password"]);
    run.succeeded();
    let login = site.path("templates/sigra/login.html.tera");
    for (file, default) in [
        (login.clone(), "sigra/login.html.tera"),
        (
            site.path("templates/sigra/email/reset_password.txt.tera"),
            "sigra/email/reset_password.txt.tera",
        ),
        (
            site.path("templates/sigra/email/reset_password.html.tera"),
            "sigra/email/reset_password.html.tera",
        ),
    ] {
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            default_source(default)
        );
    }
    assert!(!site.path("templates/sigra/layout.html.tera").exists());

    // The host edits its copy; ejecting it again (with another page) is refused whole.
    std::fs::write(&login, "my own login page").unwrap();
    let again = site.sigra(&["templates", "eject", "layout", "login"]);
    again.failed_with(1);
    assert!(
        again.stderr.contains("login.html.tera exists"),
        "{again:#?}"
    );
    assert!(again.stderr.contains("nothing copied"), "{again:#?}");
    assert_eq!(
        std::fs::read_to_string(&login).unwrap(),
        "my own login page"
    );
    assert!(!site.path("templates/sigra/layout.html.tera").exists());

    // Ejecting everything is refused too while one file is there.
    site.sigra(&["templates", "eject"]).failed_with(1);
    assert!(!site.path("templates/sigra/layout.html.tera").exists());

    // A page Sigra does not have: wrong usage.
    let unknown = site.sigra(&["templates", "eject", "logn"]);
    unknown.failed_with(2);
    assert!(unknown.stderr.contains("`logn`"), "{unknown:#?}");
    site.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_eject_of_everything_into_sigra_template_dir_gives_pages_the_app_loads() {
    let site = Site::fresh(Backend::Sqlite).await.unwrap();
    site.configure(
        &format!("secret_key = \"{SECRET}\"\ntemplate_dir = \"views\""),
        "",
    );
    let run = site.sigra(&["templates", "eject"]);
    run.succeeded();
    let count = sigra_rocket::templates::defaults().len();
    assert!(
        run.stdout.contains(&format!("Ejected {count} template(s)")),
        "{run:#?}"
    );
    assert_eq!(
        std::fs::read_to_string(site.path("views/sigra/email/layout.html.tera")).unwrap(),
        default_source("sigra/email/layout.html.tera")
    );
    // What the fairing and the mailer load: every ejected file parses as an override.
    let views = site.path("views");
    sigra_rocket::templates::Pages::load(Some(views.as_path())).unwrap();
    sigra_core::mail::MailTemplates::new(Some(views.as_path())).unwrap();
    site.cleanup().await;
}

// ---------------------------------------------------------------------------------------
// doctor
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_fails_a_release_profile_without_a_secret_or_migrations() {
    let site = Site::fresh(Backend::Sqlite).await.unwrap();
    site.configure("public_url = \"https://app.example.com\"", "");
    let run = site.sigra(&["--profile", "release", "doctor"]);
    run.failed_with(1);
    assert!(run.stdout.contains("FAIL  secret_key: not set"), "{run:#?}");
    assert!(run.stdout.contains("FAIL  migrations: "), "{run:#?}");
    assert!(run.stdout.contains("run `sigra migrate`"), "{run:#?}");
    assert!(run.stdout.contains("ok    public_url"), "{run:#?}");
    assert!(run.stdout.contains("check(s) failed"), "{run:#?}");

    // The same folder in debug: a missing secret is only a warning there.
    site.sigra(&["migrate"]).succeeded();
    let debug = site.sigra(&["doctor"]);
    debug.succeeded();
    assert!(debug.stdout.contains("warn  secret_key"), "{debug:#?}");
    site.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_a_sound_release_config_with_a_real_smtp_server_and_never_prints_secrets() {
    require_aiosmtpd();
    let site = Site::fresh(Backend::Sqlite).await.unwrap();
    site.sigra(&["migrate"]).succeeded();
    let port = free_port();
    let smtp_password = "smtp-password-never-shown";
    let redis = match std::env::var(REDIS_ENV) {
        Ok(url) => format!("redis_url = \"{url}\""),
        Err(_) => {
            loud_skip(&SKIP_REDIS, "Redis", REDIS_ENV);
            String::new()
        }
    };
    let keys =
        format!("secret_key = \"{SECRET}\"\npublic_url = \"https://app.example.com\"\n{redis}");
    let mail = |userinfo: &str| {
        format!("[default.sigra.mail]\nsmtp_url = \"smtp://{userinfo}127.0.0.1:{port}\"\n")
    };

    // Nobody listens yet: the SMTP check fails, naming the server, not its credentials.
    site.configure(&keys, &mail(&format!("mailer:{smtp_password}@")));
    let down = site.sigra(&["--profile", "release", "doctor"]);
    down.failed_with(1);
    assert!(
        down.stdout
            .contains(&format!("FAIL  smtp: smtp://127.0.0.1:{port}")),
        "{down:#?}"
    );

    // aiosmtpd offers no AUTH: the sound configuration has no credentials.
    site.configure(&keys, &mail(""));
    let _server = start_smtp_server(port);
    let run = site.sigra(&["--profile", "release", "doctor"]);
    run.succeeded();
    for check in [
        "ok    configuration",
        "ok    secret_key",
        "ok    public_url",
        "ok    cookies: Secure",
        "ok    database",
        "ok    migrations: all",
        "ok    redis",
    ] {
        assert!(run.stdout.contains(check), "{check}: {run:#?}");
    }
    assert!(
        run.stdout
            .contains(&format!("ok    smtp: smtp://127.0.0.1:{port} answered")),
        "{run:#?}"
    );
    assert!(!run.stdout.contains("FAIL"), "{run:#?}");
    for secret in [SECRET, smtp_password] {
        assert!(!run.all().contains(secret), "{secret} printed: {run:#?}");
        assert!(!down.all().contains(secret), "{secret} printed: {down:#?}");
    }
    site.cleanup().await;
}

#[test]
fn wrong_usage_exits_2_with_the_usage() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sigra"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (code, _, stderr) = run(&["users", "delete", "a@example.com"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown users action `delete`") && stderr.contains("Usage:"));
    let (code, stdout, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("templates eject") && stdout.contains("audit verify"));
    let (code, _, stderr) = run(&["--config", "missing.toml", "migrate"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("missing.toml: no such file"), "{stderr}");
}

// ---------------------------------------------------------------------------------------
// A real SMTP server (PyPI aiosmtpd), as in the suite's mail test.
// ---------------------------------------------------------------------------------------

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn require_aiosmtpd() {
    let found = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        found,
        "the doctor's SMTP test needs python3 with aiosmtpd: run `pip install aiosmtpd`"
    );
}

/// An aiosmtpd server that accepts and drops every mail. It answers once it listens:
/// `Controller.start()` returns only after a test connection succeeded, and the script
/// then prints `ready`, which this reads.
fn start_smtp_server(port: u16) -> KillOnDrop {
    const SCRIPT: &str = "import sys\n\
from aiosmtpd.controller import Controller\n\
from aiosmtpd.handlers import Sink\n\
server = Controller(Sink(), hostname='127.0.0.1', port=int(sys.argv[1]))\n\
server.start()\n\
print('ready', flush=True)\n\
sys.stdin.read()\n\
server.stop()\n";
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
    assert_eq!(
        line.trim(),
        "ready",
        "aiosmtpd did not start on port {port}"
    );
    KillOnDrop(child)
}
