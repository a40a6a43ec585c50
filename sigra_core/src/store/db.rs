use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use sea_query::{MysqlQueryBuilder, PostgresQueryBuilder, SqliteQueryBuilder};
use sea_query_sqlx::SqlxBinder;
use sqlx::mysql::{MySql, MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow, Postgres};
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, FromRow, Transaction};
use tokio::sync::Mutex;

use super::StoreError;

/// The database backends Sigra runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite (embedded; the default).
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    MySql,
}

impl Backend {
    /// The backend a URL names, by scheme.
    ///
    /// ```
    /// use sigra_core::store::Backend;
    /// assert_eq!(Backend::from_url("postgres://localhost/app"), Some(Backend::Postgres));
    /// assert_eq!(Backend::from_url("sqlite::memory:"), Some(Backend::Sqlite));
    /// assert_eq!(Backend::from_url("mariadb://x"), Some(Backend::MySql));
    /// assert_eq!(Backend::from_url("redis://x"), None);
    /// ```
    pub fn from_url(url: &str) -> Option<Backend> {
        let scheme = url.split(':').next()?;
        match scheme {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" | "postgresql" => Some(Backend::Postgres),
            "mysql" | "mariadb" => Some(Backend::MySql),
            _ => None,
        }
    }

    /// A short lower-case name (`sqlite`, `postgres`, `mysql`).
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A connection pool on one backend. Cheap to clone.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Db {
    /// SQLite.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
    /// MySQL or MariaDB.
    MySql(MySqlPool),
}

/// A row type that decodes on every backend; `#[derive(sqlx::FromRow)]` gives it.
pub trait AnyRow:
    for<'r> FromRow<'r, SqliteRow>
    + for<'r> FromRow<'r, PgRow>
    + for<'r> FromRow<'r, MySqlRow>
    + Send
    + Unpin
{
}

impl<T> AnyRow for T where
    T: for<'r> FromRow<'r, SqliteRow>
        + for<'r> FromRow<'r, PgRow>
        + for<'r> FromRow<'r, MySqlRow>
        + Send
        + Unpin
{
}

/// Runs statements: implemented by [`Db`] (each statement on its own) and [`Tx`] (all in one
/// transaction).
pub trait Executor: Sync {
    /// The backend statements run on.
    fn backend(&self) -> Backend;

    /// Runs a statement; answers the number of rows it affected.
    fn execute<S: SqlxBinder + Sync>(
        &self,
        stmt: &S,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Runs a query that answers at most one row.
    fn fetch_optional<T: AnyRow, S: SqlxBinder + Sync>(
        &self,
        stmt: &S,
    ) -> impl Future<Output = Result<Option<T>, StoreError>> + Send;

    /// Runs a query that answers any number of rows.
    fn fetch_all<T: AnyRow, S: SqlxBinder + Sync>(
        &self,
        stmt: &S,
    ) -> impl Future<Output = Result<Vec<T>, StoreError>> + Send;
}

/// Renders `$stmt` for the backend of `$target` and evaluates `$body` with the SQL, its
/// values and the backend's executor bound to `$sql`, `$vals` and `$ex`. The body is the
/// same tokens for every backend; only the types differ.
macro_rules! on_backend {
    ($target:expr, $stmt:expr, |$sql:ident, $vals:ident, $ex:ident| $body:expr) => {
        match $target {
            Target::Sqlite($ex) => {
                let ($sql, $vals) = $stmt.build_sqlx(SqliteQueryBuilder);
                let $sql = AssertSqlSafe($sql);
                $body
            }
            Target::Postgres($ex) => {
                let ($sql, $vals) = $stmt.build_sqlx(PostgresQueryBuilder);
                let $sql = AssertSqlSafe($sql);
                $body
            }
            Target::MySql($ex) => {
                let ($sql, $vals) = $stmt.build_sqlx(MysqlQueryBuilder);
                let $sql = AssertSqlSafe($sql);
                $body
            }
        }
    };
}

/// Generic over "what to run on" so that the pool and the transaction share one body.
enum Target<A, B, C> {
    Sqlite(A),
    Postgres(B),
    MySql(C),
}

impl Db {
    /// Opens a pool for `url` (`sqlite:`, `postgres:` or `mysql:`/`mariadb:`).
    ///
    /// SQLite files are created when missing and run in WAL mode with foreign keys on;
    /// an in-memory SQLite database gets a single connection so that every query sees it.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, StoreError> {
        Db::connect_with(url, max_connections, Duration::from_secs(10)).await
    }

    /// [`connect`](Self::connect), with the longest a query waits for a connection
    /// (`acquire_timeout`): while the database is out of reach, requests fail after that
    /// long ([`StoreError::is_unavailable`]).
    pub async fn connect_with(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Db, StoreError> {
        let max_connections = max_connections.max(1);
        match Backend::from_url(url) {
            Some(Backend::Sqlite) => {
                let options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                let options = if in_memory {
                    options
                } else {
                    options
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                };
                let pool = SqlitePoolOptions::new()
                    .max_connections(if in_memory { 1 } else { max_connections })
                    .acquire_timeout(acquire_timeout)
                    .connect_with(options)
                    .await?;
                Ok(Db::Sqlite(pool))
            }
            Some(Backend::Postgres) => {
                let options = PgConnectOptions::from_str(url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(acquire_timeout)
                    .connect_with(options)
                    .await?;
                Ok(Db::Postgres(pool))
            }
            Some(Backend::MySql) => {
                let url = match url.strip_prefix("mariadb") {
                    Some(rest) => format!("mysql{rest}"),
                    None => url.to_owned(),
                };
                let options = MySqlConnectOptions::from_str(&url)?;
                let pool = MySqlPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(acquire_timeout)
                    // READ COMMITTED, like PostgreSQL: Sigra decides races with conditional
                    // updates and explicit row locks, never with REPEATABLE READ's gap locks,
                    // which deadlock two transactions that each delete an empty range and
                    // then insert into it (two registrations at once, for example).
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            sqlx::raw_sql("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                                .execute(conn)
                                .await
                                .map(drop)
                        })
                    })
                    .connect_with(options)
                    .await?;
                Ok(Db::MySql(pool))
            }
            None => Err(StoreError::UnsupportedUrl(
                url.split(':').next().unwrap_or_default().to_owned(),
            )),
        }
    }

    /// Starts a transaction.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let inner = match self {
            // IMMEDIATE takes the write lock up front (waiting under busy_timeout); a
            // deferred transaction that reads, then writes, fails with SQLITE_BUSY_SNAPSHOT
            // when another connection committed in between, and no wait helps it.
            Db::Sqlite(pool) => TxInner::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => TxInner::Postgres(pool.begin().await?),
            Db::MySql(pool) => TxInner::MySql(pool.begin().await?),
        };
        Ok(Tx {
            backend: self.backend_kind(),
            inner: Mutex::new(Some(inner)),
        })
    }

    /// Closes every connection of the pool.
    pub async fn close(&self) {
        match self {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
            Db::MySql(pool) => pool.close().await,
        }
    }

    fn backend_kind(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
            Db::MySql(_) => Backend::MySql,
        }
    }

    fn target(&self) -> Target<&SqlitePool, &PgPool, &MySqlPool> {
        match self {
            Db::Sqlite(p) => Target::Sqlite(p),
            Db::Postgres(p) => Target::Postgres(p),
            Db::MySql(p) => Target::MySql(p),
        }
    }
}

impl Executor for Db {
    fn backend(&self) -> Backend {
        self.backend_kind()
    }

    async fn execute<S: SqlxBinder + Sync>(&self, stmt: &S) -> Result<u64, StoreError> {
        Ok(on_backend!(self.target(), stmt, |sql, vals, ex| {
            sqlx::query_with(sql, vals)
                .execute(ex)
                .await?
                .rows_affected()
        }))
    }

    async fn fetch_optional<T: AnyRow, S: SqlxBinder + Sync>(
        &self,
        stmt: &S,
    ) -> Result<Option<T>, StoreError> {
        // Read to the end: a SQLite statement stopped after its first row can keep a read
        // snapshot open on its pooled connection until the statement is reset.
        Ok(self.fetch_all(stmt).await?.into_iter().next())
    }

    async fn fetch_all<T: AnyRow, S: SqlxBinder + Sync>(
        &self,
        stmt: &S,
    ) -> Result<Vec<T>, StoreError> {
        Ok(on_backend!(self.target(), stmt, |sql, vals, ex| {
            sqlx::query_as_with(sql, vals).fetch_all(ex).await?
        }))
    }
}

enum TxInner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
    MySql(Transaction<'static, MySql>),
}

/// A transaction: every statement run through it lands together on
/// [`commit`](Tx::commit), or not at all (dropping it rolls back).
pub struct Tx {
    backend: Backend,
    // A mutex so that store functions can take `&Tx` like they take `&Db`.
    inner: Mutex<Option<TxInner>>,
}

impl fmt::Debug for Tx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tx")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Tx {
    /// Makes every statement of the transaction permanent.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.inner.into_inner() {
            Some(TxInner::Sqlite(tx)) => tx.commit().await?,
            Some(TxInner::Postgres(tx)) => tx.commit().await?,
            Some(TxInner::MySql(tx)) => tx.commit().await?,
            None => return Err(StoreError::TransactionFinished),
        }
        Ok(())
    }

    /// Discards every statement of the transaction.
    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.inner.into_inner() {
            Some(TxInner::Sqlite(tx)) => tx.rollback().await?,
            Some(TxInner::Postgres(tx)) => tx.rollback().await?,
            Some(TxInner::MySql(tx)) => tx.rollback().await?,
            None => return Err(StoreError::TransactionFinished),
        }
        Ok(())
    }
}

fn tx_target(
    inner: &mut TxInner,
) -> Target<
    &mut Transaction<'static, Sqlite>,
    &mut Transaction<'static, Postgres>,
    &mut Transaction<'static, MySql>,
> {
    match inner {
        TxInner::Sqlite(t) => Target::Sqlite(t),
        TxInner::Postgres(t) => Target::Postgres(t),
        TxInner::MySql(t) => Target::MySql(t),
    }
}

impl Executor for Tx {
    fn backend(&self) -> Backend {
        self.backend
    }

    async fn execute<S: SqlxBinder + Sync>(&self, stmt: &S) -> Result<u64, StoreError> {
        let mut guard = self.inner.lock().await;
        let inner = guard.as_mut().ok_or(StoreError::TransactionFinished)?;
        Ok(on_backend!(tx_target(inner), stmt, |sql, vals, ex| {
            sqlx::query_with(sql, vals)
                .execute(&mut **ex)
                .await?
                .rows_affected()
        }))
    }

    async fn fetch_optional<T: AnyRow, S: SqlxBinder + Sync>(
        &self,
        stmt: &S,
    ) -> Result<Option<T>, StoreError> {
        // See `Db::fetch_optional`.
        Ok(self.fetch_all(stmt).await?.into_iter().next())
    }

    async fn fetch_all<T: AnyRow, S: SqlxBinder + Sync>(
        &self,
        stmt: &S,
    ) -> Result<Vec<T>, StoreError> {
        let mut guard = self.inner.lock().await;
        let inner = guard.as_mut().ok_or(StoreError::TransactionFinished)?;
        Ok(on_backend!(tx_target(inner), stmt, |sql, vals, ex| {
            sqlx::query_as_with(sql, vals).fetch_all(&mut **ex).await?
        }))
    }
}
