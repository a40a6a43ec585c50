//! Storage on SQLite, PostgreSQL and MySQL/MariaDB.
//!
//! [`Db`] wraps a native sqlx pool for one backend, chosen by URL scheme; each backend is
//! a Cargo feature (`sqlite`, `postgres`, `mysql`, all on by default). Queries are
//! written once with sea-query and rendered for the backend at hand; rows decode
//! through types declared with `row!` that work on all three.
//!
//! Store functions take any [`Executor`]: the pool itself, or a [`Tx`] when several
//! writes must land together.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sigra_core::store::StoreError> {
//! use sigra_core::store::{Db, users};
//! let db = Db::connect("sqlite://sigra.sqlite3?mode=rwc", 5).await?;
//! db.migrate().await?;
//! let tx = db.begin().await?;
//! let user = users::find_by_email(&tx, "a@example.com").await?;
//! tx.commit().await?;
//! # Ok(()) }
//! ```

/// Declares a row type and its [`sqlx::FromRow`] decoding by column name, for any
/// backend: what `#[derive(sqlx::FromRow)]` generates for plain fields, without sqlx's
/// proc-macro crate. That crate compiles every enabled backend a second time for the
/// build host (SQLite's C sources included), which made up about a third of a clean
/// build of an app on Sigra; field names must equal column names (select `AS` to rename).
macro_rules! row {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$field_meta:meta])* $field_vis:vis $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $( $(#[$field_meta])* $field_vis $field: $ty ),*
        }

        impl<'r, R: ::sqlx::Row> ::sqlx::FromRow<'r, R> for $name
        where
            &'r str: ::sqlx::ColumnIndex<R>,
            $( $ty: ::sqlx::Decode<'r, R::Database> + ::sqlx::Type<R::Database>, )*
        {
            fn from_row(row: &'r R) -> ::std::result::Result<Self, ::sqlx::Error> {
                Ok($name {
                    $( $field: row.try_get(stringify!($field))?, )*
                })
            }
        }
    };
}

mod db;
mod migrate;
mod schema;

pub mod api_keys;
pub mod audit;
pub mod instances;
pub mod mfa;
pub mod oauth;
pub mod organizations;
pub mod outbox;
pub mod passkeys;
pub mod sessions;
pub mod tokens;
pub mod users;

pub use db::{Backend, Db, Executor, Tx};
pub use schema::*;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::clock::Clock;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A unique constraint refused the write (for example, an email already taken).
    #[error("a record with the same unique value already exists")]
    Conflict,
    /// The database URL names no supported backend.
    #[error("unsupported database URL scheme `{0}` (expected sqlite:, postgres: or mysql:)")]
    UnsupportedUrl(String),
    /// The database URL names a backend this build left out (its Cargo feature, `sqlite`,
    /// `postgres` or `mysql`, is off).
    #[error("the {0} backend is not built in: turn on Sigra's Cargo feature `{0}`")]
    BackendDisabled(Backend),
    /// The database answered with an error or could not be reached.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query could not be built (a bug in Sigra).
    #[error("query could not be built: {0}")]
    Query(#[from] sea_query::error::Error),
    /// A transaction was used after commit or rollback (a bug in Sigra).
    #[error("transaction already finished")]
    TransactionFinished,
    /// A row every migrated database has is missing (the migrations did not run, or it
    /// was deleted by hand).
    #[error("missing {0}")]
    Missing(&'static str),
}

impl StoreError {
    /// A stable machine-readable reason.
    pub fn reason(&self) -> &'static str {
        match self {
            StoreError::Conflict => "conflict",
            StoreError::UnsupportedUrl(_) => "unsupported_database_url",
            StoreError::BackendDisabled(_) => "database_backend_disabled",
            StoreError::Database(_) => "database_error",
            StoreError::Migrate(_) => "migration_failed",
            StoreError::Query(_) => "query_build_failed",
            StoreError::TransactionFinished => "transaction_finished",
            StoreError::Missing(_) => "missing_row",
        }
    }

    /// Whether the database is out of reach for now rather than refusing this work: the
    /// connection broke or could not be made, the pool had no connection in time, the
    /// server is shutting down, starting up or full, or SQLite stayed locked. A retry a
    /// little later may succeed (answer 503 with `Retry-After`, not 500).
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Database(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::BeginFailed => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                // SQLSTATE class 08 (connection exception: PostgreSQL, and MySQL's
                // 08S01 shutdown / 08004 too many connections); PostgreSQL's operator
                // intervention (57P01 admin shutdown, 57P02 crash, 57P03 cannot connect
                // now) and 53300 too many connections; SQLite's BUSY and LOCKED codes.
                code.starts_with("08")
                    || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
                    || matches!(&*code, "5" | "6" | "261" | "262" | "517")
            }),
            _ => false,
        }
    }
}

/// How many rows `select` finds: `select` names the table, its joins and conditions,
/// and no columns; this adds `COUNT(*)`.
///
/// ```no_run
/// # async fn demo(db: &sigra_core::store::Db) -> Result<(), sigra_core::store::StoreError> {
/// use sea_query::{Expr, ExprTrait, Query};
/// use sigra_core::store::{Users, count};
/// let confirmed = count(db, Query::select().from(Users::Table)
///     .and_where(Expr::col(Users::ConfirmedAt).is_not_null()).to_owned()).await?;
/// # Ok(()) }
/// ```
pub async fn count(
    ex: &impl Executor,
    mut select: sea_query::SelectStatement,
) -> Result<i64, StoreError> {
    row! {
        struct Row {
            n: i64,
        }
    }
    select.expr_as(
        sea_query::Func::count(sea_query::Expr::col(sea_query::Asterisk)),
        "n",
    );
    let row: Option<Row> = ex.fetch_optional(&select).await?;
    Ok(row.map_or(0, |r| r.n))
}

impl StoreError {
    /// Whether the database aborted the transaction to break a deadlock or a
    /// serialization conflict (SQLSTATE 40001 on every backend, 40P01 on PostgreSQL), so
    /// running the same transaction again is the expected remedy.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(db)) => {
                matches!(db.code().as_deref(), Some("40001" | "40P01"))
            }
            _ => false,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            _ => StoreError::Database(error),
        }
    }
}

/// A new primary key: UUIDv7, time-ordered, its time taken from `clock`.
pub fn new_id(clock: &dyn Clock) -> Uuid {
    new_id_at(clock.now())
}

/// A new UUIDv7 for time `at`.
pub fn new_id_at(at: OffsetDateTime) -> Uuid {
    let nanos = at.unix_timestamp_nanos();
    let secs = u64::try_from(nanos.div_euclid(1_000_000_000)).unwrap_or(0);
    let subsec = u32::try_from(nanos.rem_euclid(1_000_000_000)).unwrap_or(0);
    Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, secs, subsec))
}

/// Trims and lower-cases an email address: the form stored and looked up.
///
/// ```
/// assert_eq!(sigra_core::store::normalize_email("  Ada@Example.COM "), "ada@example.com");
/// ```
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}
