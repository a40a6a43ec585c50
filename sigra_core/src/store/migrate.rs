//! Embedded migrations, numbered identically on every backend. Every build embeds every
//! migration of its backends, whatever capabilities it has: the schema is the same, only
//! behaviour differs.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AssertSqlSafe, SqlSafeStr};

use super::{Db, StoreError};

/// Sigra keeps its own migration history so it never collides with the host app's.
pub const MIGRATIONS_TABLE: &str = "_sigra_migrations";

macro_rules! migrations {
    ($backend:literal: $($version:literal $name:literal),+ $(,)?) => {
        &[$(($version, $name, include_str!(concat!(
            "../../migrations/", $backend, "/", $version, "_", $name, ".sql"
        )))),+]
    };
}

type Embedded = &'static [(&'static str, &'static str, &'static str)];

#[cfg(feature = "sqlite")]
const SQLITE: Embedded = migrations!("sqlite": "0001" "users", "0002" "sessions", "0003" "audit", "0004" "jobs", "0005" "confirmation", "0006" "lockout", "0007" "deletion", "0008" "mfa", "0009" "attempts", "0010" "retention", "0011" "remember_me_new_device", "0012" "api_keys", "0013" "api_tokens", "0014" "passkeys", "0015" "oauth", "0016" "organizations", "0017" "organization_scope", "0018" "audit_chain", "0019" "admin", "0020" "instances");
#[cfg(feature = "postgres")]
const POSTGRES: Embedded = migrations!("postgres": "0001" "users", "0002" "sessions", "0003" "audit", "0004" "jobs", "0005" "confirmation", "0006" "lockout", "0007" "deletion", "0008" "mfa", "0009" "attempts", "0010" "retention", "0011" "remember_me_new_device", "0012" "api_keys", "0013" "api_tokens", "0014" "passkeys", "0015" "oauth", "0016" "organizations", "0017" "organization_scope", "0018" "audit_chain", "0019" "admin", "0020" "instances");
#[cfg(feature = "mysql")]
const MYSQL: Embedded = migrations!("mysql": "0001" "users", "0002" "sessions", "0003" "audit", "0004" "jobs", "0005" "confirmation", "0006" "lockout", "0007" "deletion", "0008" "mfa", "0009" "attempts", "0010" "retention", "0011" "remember_me_new_device", "0012" "api_keys", "0013" "api_tokens", "0014" "passkeys", "0015" "oauth", "0016" "organizations", "0017" "organization_scope", "0018" "audit_chain", "0019" "admin", "0020" "instances");

fn migrator(embedded: Embedded) -> Migrator {
    let migrations = embedded
        .iter()
        .map(|(version, name, sql)| {
            let version = version.parse::<i64>().unwrap_or_default();
            Migration::new(
                version,
                Cow::Borrowed(*name),
                MigrationType::Simple,
                AssertSqlSafe(*sql).into_sql_str(),
                false,
            )
        })
        .collect();
    let mut migrator = Migrator::with_migrations(migrations);
    migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
    migrator
}

impl Db {
    /// Applies every embedded migration not yet applied. Safe to run again and from
    /// several processes at once (the migrator takes a database lock).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(pool) => migrator(SQLITE).run(pool).await?,
            #[cfg(feature = "postgres")]
            Db::Postgres(pool) => migrator(POSTGRES).run(pool).await?,
            #[cfg(feature = "mysql")]
            Db::MySql(pool) => migrator(MYSQL).run(pool).await?,
        }
        Ok(())
    }

    /// The embedded migrations not applied to this database yet, in order: what
    /// [`migrate`](Self::migrate) would apply. Reads only (creates no table). A database
    /// where Sigra's migration table cannot be read as a table (it does not exist yet)
    /// has every migration pending; a database out of reach is an error.
    pub async fn pending_migrations(&self) -> Result<Vec<(i64, &'static str)>, StoreError> {
        use sqlx::migrate::{Migrate, MigrateError};
        let applied = match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                conn.list_applied_migrations(MIGRATIONS_TABLE).await
            }
            #[cfg(feature = "postgres")]
            Db::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                conn.list_applied_migrations(MIGRATIONS_TABLE).await
            }
            #[cfg(feature = "mysql")]
            Db::MySql(pool) => {
                let mut conn = pool.acquire().await?;
                conn.list_applied_migrations(MIGRATIONS_TABLE).await
            }
        };
        let applied: Vec<i64> = match applied {
            Ok(rows) => rows.into_iter().map(|m| m.version).collect(),
            // The server answered, refusing the query: no such table.
            Err(MigrateError::Execute(sqlx::Error::Database(_))) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        Ok(self
            .embedded_migrations()
            .into_iter()
            .filter(|(version, _)| !applied.contains(version))
            .collect())
    }

    /// The versions and names of the embedded migrations for this backend, in order.
    pub fn embedded_migrations(&self) -> Vec<(i64, &'static str)> {
        let embedded = match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(_) => SQLITE,
            #[cfg(feature = "postgres")]
            Db::Postgres(_) => POSTGRES,
            #[cfg(feature = "mysql")]
            Db::MySql(_) => MYSQL,
        };
        embedded
            .iter()
            .map(|(v, name, _)| (v.parse().unwrap_or_default(), *name))
            .collect()
    }
}

#[cfg(all(test, feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod tests {
    use super::*;

    #[test]
    fn every_backend_has_the_same_numbered_migrations() {
        let names = |e: Embedded| e.iter().map(|(v, n, _)| (*v, *n)).collect::<Vec<_>>();
        assert_eq!(names(SQLITE), names(POSTGRES));
        assert_eq!(names(SQLITE), names(MYSQL));
        for dir in ["sqlite", "postgres", "mysql"] {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/");
            let mut files: Vec<String> = std::fs::read_dir(format!("{path}{dir}"))
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            files.sort();
            let embedded: Vec<String> = names(SQLITE)
                .iter()
                .map(|(v, n)| format!("{v}_{n}.sql"))
                .collect();
            assert_eq!(
                files, embedded,
                "migrations/{dir} and the embedded list differ"
            );
        }
    }
}
