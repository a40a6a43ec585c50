//! The app's configuration, read as the app reads it: Rocket's figment (`Rocket.toml` or
//! `ROCKET_CONFIG`, the profile from `ROCKET_PROFILE`, `ROCKET_*` variables), Sigra's
//! section through [`SigraConfig::from_figment`] (with the `SIGRA_*` overrides), and the
//! database through Sigra's own pool ([`SigraPool`], `[default.databases.sigra]`), as the
//! fairing does at launch.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rocket::figment::providers::{Env, Format, Serialized, Toml};
use rocket::figment::{Figment, Profile};
use sigra_core::SigraConfig;
use sigra_core::clock::SystemClock;
use sigra_core::features::{Auth, RequestMeta};
use sigra_core::store::Db;
use sigra_rocket::SigraPool;
use sigra_rocket::rocket_db_pools::Pool;

use crate::CliError;

/// Connections the command opens at most: it runs one flow at a time.
const MAX_CONNECTIONS: u32 = 2;
/// How long opening the database may wait (seconds), as rocket_db_pools' default.
const CONNECT_TIMEOUT_SECS: u64 = 5;

/// The figment the app would read, with `--config` and `--profile` applied.
pub fn figment(config: Option<&Path>, profile: Option<&str>) -> Result<Figment, CliError> {
    let figment = match config {
        // Rocket's own figment when no file is named: the very same providers.
        None => rocket::Config::figment(),
        Some(path) => {
            if !path.is_file() {
                return Err(CliError::Usage(format!(
                    "--config {}: no such file",
                    path.display()
                )));
            }
            // `rocket::Config::figment()` with this file in place of `ROCKET_CONFIG`.
            Figment::from(rocket::Config::default())
                .merge(Toml::file_exact(path).nested())
                .merge(Env::prefixed("ROCKET_").ignore(&["PROFILE"]).global())
                .select(Profile::from_env_or(
                    "ROCKET_PROFILE",
                    rocket::Config::DEFAULT_PROFILE,
                ))
        }
    };
    Ok(match profile {
        Some(name) => figment.select(name),
        None => figment,
    })
}

/// The app's settings: the figment and what Sigra reads from it.
pub struct Settings {
    figment: Figment,
    /// Sigra's validated settings.
    pub config: SigraConfig,
    /// Whether the profile is a production one (every profile but `debug`).
    pub production: bool,
    /// Whether Rocket itself serves TLS.
    pub tls: bool,
}

// The figment holds every value of the configuration, secrets included: never shown.
impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("profile", &self.profile())
            .field("config", &self.config)
            .field("production", &self.production)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Reads Sigra's settings from `figment` as the fairing does.
    pub fn read(figment: Figment) -> Result<Settings, CliError> {
        // As the fairing: the selected profile is the figment's; all but debug are
        // production; TLS as Rocket's config says.
        let production = figment.profile() != rocket::Config::DEBUG_PROFILE;
        let tls = figment
            .extract::<rocket::Config>()
            .is_ok_and(|c| c.tls_enabled());
        let config = SigraConfig::from_figment(&figment)?;
        Ok(Settings {
            figment,
            config,
            production,
            tls,
        })
    }

    /// The selected Rocket profile.
    pub fn profile(&self) -> &str {
        self.figment.profile().as_str().as_str()
    }

    /// The app's template folder (see [`sigra_rocket::templates::template_dir`]).
    pub fn template_dir(&self) -> PathBuf {
        sigra_rocket::templates::template_dir(&self.figment, &self.config)
    }

    /// Opens the `sigra` database with Sigra's pool, from `[default.databases.sigra]`.
    pub async fn database(&self) -> Result<Db, CliError> {
        let figment = self
            .figment
            .focus("databases.sigra")
            .join(Serialized::default("max_connections", MAX_CONNECTIONS))
            .join(Serialized::default("connect_timeout", CONNECT_TIMEOUT_SECS));
        SigraPool::init(&figment)
            .await
            .map(|pool| pool.0)
            .map_err(|e| CliError::Database(e.to_string()))
    }

    /// Everything a flow needs, built as the fairing builds it, except that migrations
    /// are never applied implicitly: with any pending, this is an error asking for
    /// `sigra migrate` (a command that only reads stays read-only). The session
    /// cache's broadcast is never started: a revocation made here waits
    /// `sigra.session.cache_ms` so the serving instances' cached sessions expire.
    ///
    /// Without `sigra.secret_key`: an error when `need_secret` (the command seals or
    /// signs what the app must read back) or in a production profile; otherwise a
    /// random key, as the app makes in debug.
    pub async fn auth(&self, need_secret: bool) -> Result<Auth, CliError> {
        let mut config = self.config.clone();
        if config.secret_key.is_none() {
            if need_secret || self.production {
                return Err(CliError::NoSecretKey);
            }
            config.secret_key = Some(
                sigra_core::crypto::random_secret_key()
                    .map_err(|e| CliError::Failed(e.to_string()))?,
            );
        }
        let db = self.database().await?;
        let pending = db.pending_migrations().await?;
        if !pending.is_empty() {
            db.close().await;
            return Err(CliError::MigrationsPending(pending.len()));
        }
        config.run_migrations = false;
        let template_dir = Some(self.template_dir()).filter(|dir| dir.is_dir());
        Ok(Auth::build(config, db, Arc::new(SystemClock), template_dir.as_deref()).await?)
    }
}

/// Who the command's audit events say acted: no account, and this user agent.
pub fn meta() -> RequestMeta {
    RequestMeta {
        user_agent: Some(format!("sigra-cli/{}", env!("CARGO_PKG_VERSION"))),
        ..RequestMeta::default()
    }
}
