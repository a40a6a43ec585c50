use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

#[cfg(feature = "mysql")]
use sea_query::MysqlQueryBuilder;
#[cfg(feature = "postgres")]
use sea_query::PostgresQueryBuilder;
#[cfg(feature = "sqlite")]
use sea_query::SqliteQueryBuilder;
use sea_query_sqlx::SqlxBinder;
#[cfg(feature = "mysql")]
use sqlx::mysql::{MySql, MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlRow};
#[cfg(feature = "postgres")]
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow, Postgres};
#[cfg(feature = "sqlite")]
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, FromRow, Transaction};
use tokio::sync::Mutex;

use super::StoreError;

/// The database backends Sigra runs on. Every variant exists in every build; a backend
/// whose Cargo feature (`sqlite`, `postgres`, `mysql`) is off is named by a URL but not
/// connected to ([`StoreError::BackendDisabled`]).
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

/// A connection pool on one backend. Cheap to clone. Only the backends whose Cargo
/// feature is on have a variant.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Db {
    /// SQLite.
    #[cfg(feature = "sqlite")]
    Sqlite(SqlitePool),
    /// PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres(PgPool),
    /// MySQL or MariaDB.
    #[cfg(feature = "mysql")]
    MySql(MySqlPool),
}

/// `$name`: a row type that decodes on `$feature`'s backend, or any type when that backend
/// is not built in (so [`AnyRow`] asks nothing of a backend that is off).
macro_rules! decodes_on {
    ($name:ident, $feature:literal, $row:ty, $doc:literal) => {
        #[doc = $doc]
        #[cfg(feature = $feature)]
        pub trait $name: for<'r> FromRow<'r, $row> {}
        #[cfg(feature = $feature)]
        impl<T: for<'r> FromRow<'r, $row>> $name for T {}
        #[doc = $doc]
        #[cfg(not(feature = $feature))]
        pub trait $name {}
        #[cfg(not(feature = $feature))]
        impl<T> $name for T {}
    };
}

decodes_on!(
    DecodesOnSqlite,
    "sqlite",
    SqliteRow,
    "A row type that decodes from a SQLite row (any type without the `sqlite` feature)."
);
decodes_on!(
    DecodesOnPostgres,
    "postgres",
    PgRow,
    "A row type that decodes from a PostgreSQL row (any type without the `postgres` feature)."
);
decodes_on!(
    DecodesOnMySql,
    "mysql",
    MySqlRow,
    "A row type that decodes from a MySQL row (any type without the `mysql` feature)."
);

/// A row type that decodes on every backend built in; `store::row!` gives it.
pub trait AnyRow: DecodesOnSqlite + DecodesOnPostgres + DecodesOnMySql + Send + Unpin {}

impl<T> AnyRow for T where T: DecodesOnSqlite + DecodesOnPostgres + DecodesOnMySql + Send + Unpin {}

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

/// Renders `$stmt` for the backend of `$target` (a [`Db`] or a `TxInner`, named by
/// `$kind`) and evaluates `$body` with the SQL, its values and the backend's executor
/// bound to `$sql`, `$vals` and `$ex`. The body is the same tokens for every backend; only
/// the types differ. The pool and the transaction share one body this way.
macro_rules! on_backend {
    ($target:expr, $kind:ident, $stmt:expr, |$sql:ident, $vals:ident, $ex:ident| $body:expr) => {
        match $target {
            #[cfg(feature = "sqlite")]
            $kind::Sqlite($ex) => {
                let ($sql, $vals) = $stmt.build_sqlx(SqliteQueryBuilder);
                let $sql = AssertSqlSafe($sql);
                $body
            }
            #[cfg(feature = "postgres")]
            $kind::Postgres($ex) => {
                let ($sql, $vals) = $stmt.build_sqlx(PostgresQueryBuilder);
                let $sql = AssertSqlSafe($sql);
                $body
            }
            #[cfg(feature = "mysql")]
            $kind::MySql($ex) => {
                let ($sql, $vals) = $stmt.build_sqlx(MysqlQueryBuilder);
                let $sql = AssertSqlSafe($sql);
                $body
            }
        }
    };
}

impl Db {
    /// Opens a pool for `url` (`sqlite:`, `postgres:` or `mysql:`/`mariadb:`).
    ///
    /// SQLite files are created when missing and run in WAL mode with foreign keys on;
    /// an in-memory SQLite database gets a single connection so that every query sees it.
    /// A URL of a backend whose Cargo feature is off answers
    /// [`StoreError::BackendDisabled`].
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
        let Some(backend) = Backend::from_url(url) else {
            return Err(StoreError::UnsupportedUrl(
                url.split(':').next().unwrap_or_default().to_owned(),
            ));
        };
        match backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => {
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
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                let options = PgConnectOptions::from_str(url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(acquire_timeout)
                    .connect_with(options)
                    .await?;
                Ok(Db::Postgres(pool))
            }
            #[cfg(feature = "mysql")]
            Backend::MySql => {
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
            // Unreachable when every backend is built in.
            #[allow(unreachable_patterns)]
            disabled => Err(StoreError::BackendDisabled(disabled)),
        }
    }

    /// Starts a transaction.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let inner = match self {
            // IMMEDIATE takes the write lock up front (waiting under busy_timeout); a
            // deferred transaction that reads, then writes, fails with SQLITE_BUSY_SNAPSHOT
            // when another connection committed in between, and no wait helps it.
            #[cfg(feature = "sqlite")]
            Db::Sqlite(pool) => TxInner::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            #[cfg(feature = "postgres")]
            Db::Postgres(pool) => TxInner::Postgres(pool.begin().await?),
            #[cfg(feature = "mysql")]
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
            #[cfg(feature = "sqlite")]
            Db::Sqlite(pool) => pool.close().await,
            #[cfg(feature = "postgres")]
            Db::Postgres(pool) => pool.close().await,
            #[cfg(feature = "mysql")]
            Db::MySql(pool) => pool.close().await,
        }
    }

    fn backend_kind(&self) -> Backend {
        match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Db::Postgres(_) => Backend::Postgres,
            #[cfg(feature = "mysql")]
            Db::MySql(_) => Backend::MySql,
        }
    }
}

impl Executor for Db {
    fn backend(&self) -> Backend {
        self.backend_kind()
    }

    async fn execute<S: SqlxBinder + Sync>(&self, stmt: &S) -> Result<u64, StoreError> {
        Ok(on_backend!(self, Db, stmt, |sql, vals, ex| {
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
        Ok(on_backend!(self, Db, stmt, |sql, vals, ex| {
            sqlx::query_as_with(sql, vals).fetch_all(ex).await?
        }))
    }
}

enum TxInner {
    #[cfg(feature = "sqlite")]
    Sqlite(Transaction<'static, Sqlite>),
    #[cfg(feature = "postgres")]
    Postgres(Transaction<'static, Postgres>),
    #[cfg(feature = "mysql")]
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
            #[cfg(feature = "sqlite")]
            Some(TxInner::Sqlite(tx)) => tx.commit().await?,
            #[cfg(feature = "postgres")]
            Some(TxInner::Postgres(tx)) => tx.commit().await?,
            #[cfg(feature = "mysql")]
            Some(TxInner::MySql(tx)) => tx.commit().await?,
            None => return Err(StoreError::TransactionFinished),
        }
        Ok(())
    }

    /// Discards every statement of the transaction.
    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.inner.into_inner() {
            #[cfg(feature = "sqlite")]
            Some(TxInner::Sqlite(tx)) => tx.rollback().await?,
            #[cfg(feature = "postgres")]
            Some(TxInner::Postgres(tx)) => tx.rollback().await?,
            #[cfg(feature = "mysql")]
            Some(TxInner::MySql(tx)) => tx.rollback().await?,
            None => return Err(StoreError::TransactionFinished),
        }
        Ok(())
    }
}

impl Executor for Tx {
    fn backend(&self) -> Backend {
        self.backend
    }

    async fn execute<S: SqlxBinder + Sync>(&self, stmt: &S) -> Result<u64, StoreError> {
        let mut guard = self.inner.lock().await;
        let inner = guard.as_mut().ok_or(StoreError::TransactionFinished)?;
        Ok(on_backend!(inner, TxInner, stmt, |sql, vals, ex| {
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
        Ok(on_backend!(inner, TxInner, stmt, |sql, vals, ex| {
            sqlx::query_as_with(sql, vals).fetch_all(&mut **ex).await?
        }))
    }
}
