//! Profiles: the example's custom registration fields (`user_fields`). The registration
//! page asks for a display name (required, at most 80 characters) and for the terms to be
//! accepted (a required checkbox); Sigra checks both, and [`Profiles::store`] writes them
//! to the app's own table, `example_profiles`, in the transaction that creates the
//! account. The dashboard shows the display name. [`Profiles::forget`] deletes the row
//! in the transaction that deletes (or anonymizes) the account.
//!
//! Accounts made without the registration form (a social log-in, an invitation) have no
//! profile row: [`display_name`] answers `None` for them.

use rocket::fairing::AdHoc;
use rocket::{Build, Rocket};
use sigra_rocket::SigraDb;
use sigra_rocket::rocket_db_pools::Database;
use sigra_rocket::sea_query::{Alias, Expr, ExprTrait, Query};
use sigra_rocket::sigra_core::store::{Backend, Db, Executor, Tx};
use sigra_rocket::user_fields::{FieldSpec, HookError, StoreFuture, UserFieldValues, UserFields};
use uuid::Uuid;

/// The app's table of profiles.
const PROFILES: &str = "example_profiles";

/// The longest display name, in characters.
const DISPLAY_NAME_MAX_CHARS: usize = 80;

/// Creates the profiles' table at launch; `rocket` has Sigra's fairing attached, with
/// `.user_fields(Profiles)`.
pub fn mount(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket.attach(profiles_table())
}

/// The profile fields of the registration form.
#[derive(Debug)]
pub struct Profiles;

impl UserFields for Profiles {
    fn fields(&self) -> Vec<FieldSpec> {
        vec![
            FieldSpec::text("display_name", "Display name")
                .required()
                .max_chars(DISPLAY_NAME_MAX_CHARS)
                .help("How the app greets you."),
            FieldSpec::checkbox("accept_terms", "I accept the terms of use").required(),
        ]
    }

    fn store<'a>(
        &'a self,
        tx: &'a Tx,
        user_id: Uuid,
        values: &'a UserFieldValues,
    ) -> StoreFuture<'a> {
        Box::pin(async move {
            // Sigra checked both: the name is there, the box is ticked.
            let name = values.get("display_name").unwrap_or_default().to_owned();
            let stmt = Query::insert()
                .into_table(Alias::new(PROFILES))
                .columns([
                    Alias::new("user_id"),
                    Alias::new("display_name"),
                    Alias::new("accepted_terms"),
                ])
                .values([
                    user_id.into(),
                    name.into(),
                    values.checked("accept_terms").into(),
                ])
                .map_err(HookError::failed)?
                .to_owned();
            tx.execute(&stmt).await?;
            Ok(())
        })
    }

    fn forget<'a>(&'a self, tx: &'a Tx, user_id: Uuid) -> StoreFuture<'a> {
        Box::pin(async move {
            let stmt = Query::delete()
                .from_table(Alias::new(PROFILES))
                .and_where(Expr::col(Alias::new("user_id")).eq(user_id))
                .to_owned();
            tx.execute(&stmt).await?;
            Ok(())
        })
    }
}

/// The display name of `user_id`, if the account has a profile.
pub async fn display_name(db: &Db, user_id: Uuid) -> Option<String> {
    let stmt = Query::select()
        .column(Alias::new("display_name"))
        .from(Alias::new(PROFILES))
        .and_where(Expr::col(Alias::new("user_id")).eq(user_id))
        .to_owned();
    // Read as a one-column tuple: sqlx decodes tuples without its derive macros.
    match db.fetch_optional::<(String,), _>(&stmt).await {
        Ok(row) => row.map(|(name,)| name),
        Err(e) => {
            eprintln!("profiles: reading a display name: {e}");
            None
        }
    }
}

/// Creates `example_profiles` when missing. Attached after `Sigra::fairing()`, whose
/// ignite step opens the pool and runs Sigra's migrations (the table refers to
/// `sigra_users`: a hard-deleted account takes its profile with it).
fn profiles_table() -> AdHoc {
    AdHoc::try_on_ignite("Example app: profiles table", |rocket| async move {
        let Some(db) = SigraDb::fetch(&rocket).map(|pool| pool.db().clone()) else {
            eprintln!("profiles: the `sigra` database is not open (attach Sigra::fairing() first)");
            return Err(rocket);
        };
        match create_profiles_table(&db).await {
            Ok(()) => Ok(rocket),
            Err(e) => {
                eprintln!("profiles: cannot create table {PROFILES}: {e}");
                Err(rocket)
            }
        }
    })
}

/// The DDL of `example_profiles`: one table on every backend, only the UUID column type
/// differs.
async fn create_profiles_table(db: &Db) -> Result<(), sqlx::Error> {
    let uuid = match db.backend() {
        Backend::Sqlite => "BLOB",
        Backend::Postgres => "UUID",
        Backend::MySql => "BINARY(16)",
        _ => {
            return Err(sqlx::Error::Configuration(
                "the profiles support SQLite, PostgreSQL and MySQL only".into(),
            ));
        }
    };
    let sql = sqlx::AssertSqlSafe(format!(
        "CREATE TABLE IF NOT EXISTS {PROFILES} (
            user_id {uuid} NOT NULL PRIMARY KEY,
            display_name TEXT NOT NULL,
            accepted_terms BOOLEAN NOT NULL,
            CONSTRAINT example_profiles_user_fk FOREIGN KEY (user_id)
                REFERENCES sigra_users (id) ON DELETE CASCADE
        )"
    ));
    match db {
        #[cfg(feature = "sqlite")]
        Db::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(drop),
        #[cfg(feature = "postgres")]
        Db::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(drop),
        #[cfg(feature = "mysql")]
        Db::MySql(pool) => sqlx::query(sql).execute(pool).await.map(drop),
        _ => Ok(()),
    }
}
