//! Shared test helpers: a fresh database per test on each backend.

pub mod app;
pub mod json;
pub mod oidc;
pub mod passkey;
pub mod proxy;

use std::io::Write;
use std::sync::Once;

use sigra_core::store::{Backend, Db};

pub const POSTGRES_ENV: &str = "SIGRA_TEST_POSTGRES_URL";
pub const MYSQL_ENV: &str = "SIGRA_TEST_MYSQL_URL";

/// One test's database: dropped again by [`TestDb::cleanup`].
#[allow(dead_code)] // not every test reads every field
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    pub db: Db,
    server: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

static SKIP_POSTGRES: Once = Once::new();
static SKIP_MYSQL: Once = Once::new();

fn loud_skip(once: &Once, backend: &str, var: &str) {
    // Written straight to the process's stderr: libtest captures `eprintln!` of passing
    // tests, and a skipped backend must never go unnoticed.
    once.call_once(|| {
        let _ = writeln!(
            std::io::stderr(),
            "\n!!!!! SKIPPING {backend}: {var} is not set, so no {backend} test runs. !!!!!\n"
        );
    });
}

fn random_name() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sigra_t_{hex}")
}

/// `url` with its database path replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("database URL has a scheme");
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

impl TestDb {
    /// A fresh, empty (unmigrated) database, or `None` when the backend is not configured.
    pub async fn fresh(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}/test.sqlite3", dir.path().display());
                let db = Db::connect(&url, 5).await.unwrap();
                Some(TestDb {
                    backend,
                    url,
                    db,
                    server: None,
                    _dir: Some(dir),
                })
            }
            Backend::Postgres | Backend::MySql => {
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
                Some(Self::on_server(backend, server_url, name).await)
            }
            _ => unreachable!("no such backend"),
        }
    }

    /// A fresh database with every migration applied.
    ///
    /// SQLite runs the migrations (a file on a temp dir: fast). PostgreSQL and MySQL copy
    /// a migrated template instead of running twenty migrations per test (seconds each on
    /// MySQL, where every DDL statement commits and syncs): PostgreSQL with `CREATE
    /// DATABASE … TEMPLATE`, MySQL by replaying the template's `SHOW CREATE TABLE` and
    /// copying its rows (the migration history and the audit chain's seed). The template,
    /// [`TEMPLATE_DB`] on each server, is brought up to date by the ordinary migrator once
    /// per test process, which also refuses it when an applied migration was since edited
    /// (then it is dropped and made again). The result is the schema the migrator makes:
    /// `store::the_template_copy_is_the_migrated_schema` compares the two.
    pub async fn migrated(backend: Backend) -> Option<TestDb> {
        if backend == Backend::Sqlite {
            let t = Self::fresh(backend).await?;
            t.db.migrate().await.unwrap();
            return Some(t);
        }
        let server_url = std::env::var(backend_env(backend)).ok();
        let Some(server_url) = server_url else {
            return Self::fresh(backend).await;
        };
        let template = template(backend, &server_url).await;
        let admin = Db::connect(&server_url, 1).await.unwrap();
        let name = random_name();
        if backend == Backend::Postgres {
            // Within this process the template is ready (`template` above). A second test
            // process migrating it at this very moment makes this fail loudly, not wait.
            let sql = format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}");
            admin_execute(&admin, &sql).await;
        } else {
            admin_execute(&admin, &format!("CREATE DATABASE {name}")).await;
        }
        admin.close().await;
        let t = Self::on_server(backend, server_url, name).await;
        if let (Db::MySql(pool), MySqlTemplate::Tables(tables)) = (&t.db, template) {
            let mut conn = pool.acquire().await.unwrap();
            sqlx::query("SET FOREIGN_KEY_CHECKS = 0")
                .execute(&mut *conn)
                .await
                .unwrap();
            for (table, ddl) in tables {
                sqlx::query(sqlx::AssertSqlSafe(ddl.clone()))
                    .execute(&mut *conn)
                    .await
                    .unwrap();
                let copy = format!("INSERT INTO `{table}` SELECT * FROM {TEMPLATE_DB}.`{table}`");
                sqlx::query(sqlx::AssertSqlSafe(copy))
                    .execute(&mut *conn)
                    .await
                    .unwrap();
            }
            sqlx::query("SET FOREIGN_KEY_CHECKS = 1")
                .execute(&mut *conn)
                .await
                .unwrap();
        }
        Some(t)
    }

    /// The database `name`, just created on the server at `server_url`.
    async fn on_server(backend: Backend, server_url: String, name: String) -> TestDb {
        let url = with_database(&server_url, &name);
        let db = Db::connect(&url, 5).await.unwrap();
        TestDb {
            backend,
            url,
            db,
            server: Some((server_url, name)),
            _dir: None,
        }
    }

    /// Closes the pool and drops the database.
    pub async fn cleanup(self) {
        self.db.close().await;
        if let Some((server_url, name)) = self.server {
            let admin = Db::connect(&server_url, 1).await.unwrap();
            // App instances of the test may still hold their revocation listener's
            // connection (it closes when the test's runtime ends): force them out.
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

/// The migrated database that PostgreSQL and MySQL test databases are copied from (one
/// per server, kept between runs; `.ci/run` drops it with the other `sigra_t_` databases).
pub const TEMPLATE_DB: &str = "sigra_t_template";

fn backend_env(backend: Backend) -> &'static str {
    if backend == Backend::Postgres {
        POSTGRES_ENV
    } else {
        MYSQL_ENV
    }
}

/// What a copy of the template needs: nothing more on PostgreSQL (the server copies it);
/// on MySQL each table's `CREATE TABLE`, in the template's order.
#[derive(Clone)]
enum MySqlTemplate {
    Server,
    Tables(Vec<(String, String)>),
}

static POSTGRES_TEMPLATE: tokio::sync::OnceCell<MySqlTemplate> = tokio::sync::OnceCell::const_new();
static MYSQL_TEMPLATE: tokio::sync::OnceCell<MySqlTemplate> = tokio::sync::OnceCell::const_new();

/// Brings [`TEMPLATE_DB`] up to date on the server at `server_url`, once per process.
async fn template(backend: Backend, server_url: &str) -> MySqlTemplate {
    let cell = if backend == Backend::Postgres {
        &POSTGRES_TEMPLATE
    } else {
        &MYSQL_TEMPLATE
    };
    cell.get_or_init(|| async {
        let admin = Db::connect(server_url, 1).await.unwrap();
        // Two test processes may both create it: the second finds it there.
        let create = format!("CREATE DATABASE {TEMPLATE_DB}");
        match try_execute(&admin, &create).await {
            Ok(()) => {}
            Err(e) if e.contains("exists") => {}
            Err(e) => panic!("creating the test template: {e}"),
        }
        let url = with_database(server_url, TEMPLATE_DB);
        let db = Db::connect(&url, 1).await.unwrap();
        if let Err(e) = db.migrate().await {
            // An applied migration was edited since the template was made: make it again.
            eprintln!("test template out of date ({e}); making it again");
            db.close().await;
            let force = if backend == Backend::Postgres {
                " WITH (FORCE)"
            } else {
                ""
            };
            admin_execute(&admin, &format!("DROP DATABASE {TEMPLATE_DB}{force}")).await;
            admin_execute(&admin, &format!("CREATE DATABASE {TEMPLATE_DB}")).await;
            let db = Db::connect(&url, 1).await.unwrap();
            db.migrate().await.unwrap();
            db.close().await;
        } else {
            db.close().await;
        }
        let template = match backend {
            Backend::Postgres => MySqlTemplate::Server,
            _ => {
                let Db::MySql(pool) = &admin else {
                    unreachable!("a MySQL server URL")
                };
                let tables: Vec<(String,)> = sqlx::query_as(
                    "SELECT table_name FROM information_schema.tables \
                     WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name",
                )
                .bind(TEMPLATE_DB)
                .fetch_all(pool)
                .await
                .unwrap();
                let mut ddl = Vec::new();
                for (table,) in tables {
                    let show = format!("SHOW CREATE TABLE {TEMPLATE_DB}.`{table}`");
                    let (_, create): (String, String) = sqlx::query_as(sqlx::AssertSqlSafe(show))
                        .fetch_one(pool)
                        .await
                        .unwrap();
                    ddl.push((table, create));
                }
                MySqlTemplate::Tables(ddl)
            }
        };
        admin.close().await;
        template
    })
    .await
    .clone()
}

/// Runs `sql`, answering the server's error as text.
async fn try_execute(db: &Db, sql: &str) -> Result<(), String> {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    match db {
        Db::Postgres(p) => sqlx::query(sql).execute(p).await.map(drop),
        Db::MySql(p) => sqlx::query(sql).execute(p).await.map(drop),
        Db::Sqlite(p) => sqlx::query(sql).execute(p).await.map(drop),
        _ => unreachable!(),
    }
    .map_err(|e| e.to_string())
}

pub async fn admin_execute(db: &Db, sql: &str) {
    if let Err(e) = try_execute(db, sql).await {
        panic!("{sql}: {e}");
    }
}

/// Runs `test` on a fresh migrated database of `backend` (or reports the skip).
pub async fn run_on<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: std::future::Future<Output = TestDb>,
{
    if let Some(t) = TestDb::migrated(backend).await {
        test(t).await.cleanup().await;
    }
}

/// Declares tests that run on every backend, as plain items so rustfmt formats them:
///
/// ```ignore
/// conformance!(
///     async fn name(t: TestDb) -> TestDb {
///         // ...
///         t
///     }
/// );
/// ```
///
/// Each body gets `t` (migrated) and must end by handing it back so its database is
/// dropped. Each item becomes `<name>::sqlite`, `<name>::postgres` and `<name>::mysql`.
macro_rules! conformance {
    ($($(#[$attr:meta])* async fn $name:ident($t:ident: $ty:ty $(,)?) -> $ret:ty $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                $(#[$attr])*
                async fn body($t: $ty) -> $ret $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    $crate::common::run_on(sigra_core::store::Backend::Sqlite, body).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    $crate::common::run_on(sigra_core::store::Backend::Postgres, body).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn mysql() {
                    $crate::common::run_on(sigra_core::store::Backend::MySql, body).await
                }
            }
        )*
    };
}

#[test]
fn with_database_replaces_only_the_path() {
    assert_eq!(
        with_database("postgres://u:p@127.0.0.1:5432/ci?sslmode=disable", "x"),
        "postgres://u:p@127.0.0.1:5432/x?sslmode=disable"
    );
    assert_eq!(
        with_database("mysql://root@127.0.0.1:3306", "y"),
        "mysql://root@127.0.0.1:3306/y"
    );
}
