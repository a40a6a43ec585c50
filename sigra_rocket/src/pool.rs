//! Sigra's database pool as a `rocket_db_pools` database, configured under
//! `[default.databases.sigra]` and shareable with the host app.

use rocket::figment::Figment;
use rocket_db_pools::{Config, Database, Pool};
use sigra_core::store::{Db, StoreError};

/// The pool behind [`SigraDb`]: a [`Db`] on SQLite, PostgreSQL or MySQL.
#[derive(Debug, Clone)]
pub struct SigraPool(pub Db);

#[rocket::async_trait]
impl Pool for SigraPool {
    type Connection = Db;
    type Error = rocket_db_pools::Error<StoreError>;

    async fn init(figment: &Figment) -> Result<Self, Self::Error> {
        let config: Config = figment.extract().map_err(rocket_db_pools::Error::Config)?;
        let max = u32::try_from(config.max_connections).unwrap_or(u32::MAX);
        // `connect_timeout` (rocket_db_pools' key, 5 s by default) bounds how long a
        // request waits for a connection while the database is out of reach.
        let wait = std::time::Duration::from_secs(config.connect_timeout.max(1));
        Db::connect_with(&config.url, max, wait)
            .await
            .map(SigraPool)
            .map_err(rocket_db_pools::Error::Init)
    }

    async fn get(&self) -> Result<Self::Connection, Self::Error> {
        Ok(self.0.clone())
    }

    async fn close(&self) {
        self.0.close().await;
    }
}

/// Sigra's database. The host app may use it too, through
/// `rocket_db_pools::Connection<SigraDb>`:
///
/// ```no_run
/// # #[macro_use] extern crate rocket;
/// use rocket_db_pools::Connection;
/// use sigra_rocket::SigraDb;
///
/// #[get("/count")]
/// async fn count(db: Connection<SigraDb>) -> String {
///     format!("{:?}", db.into_inner())
/// }
/// ```
#[derive(Database, Debug)]
#[database("sigra")]
pub struct SigraDb(SigraPool);

impl SigraDb {
    /// The pool.
    pub fn db(&self) -> &Db {
        &self.0.0
    }
}
