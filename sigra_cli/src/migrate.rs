//! `sigra migrate`: applies Sigra's embedded migrations, as the fairing does at launch
//! ([`sigra_core::store::Db::migrate`]: safe to run again, and beside running instances,
//! since the migrator takes a database lock).

use crate::settings::Settings;
use crate::{CliError, Status};

/// Applies the pending migrations and names them.
pub async fn run(settings: &Settings) -> Result<Status, CliError> {
    let db = settings.database().await?;
    let pending = db.pending_migrations().await?;
    db.migrate().await?;
    let total = db.embedded_migrations().len();
    if pending.is_empty() {
        println!("Nothing to do: all {total} migrations of Sigra are applied.");
    } else {
        for (version, name) in &pending {
            println!("applied {version:04}_{name}");
        }
        println!("Applied {} migration(s); {total} in all.", pending.len());
    }
    db.close().await;
    Ok(Status::Done)
}
