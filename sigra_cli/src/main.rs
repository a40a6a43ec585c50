//! `sigra`: the command-line companion of a Sigra app. It reads the app's configuration
//! exactly as the app does (see [`settings`]) and runs Sigra's own flows, so what it does
//! is what the app or its admin console would do: same transactions, same audit events
//! (with no actor and `"via": "cli"`), same revocations.
//!
//! See the crate README (`## The sigra command`) and `sigra --help`.

mod admin;
mod args;
mod audit;
mod doctor;
mod migrate;
mod settings;
mod templates;
mod users;

use std::process::ExitCode;

use args::Command;
use settings::Settings;

/// Why a command could not do its work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The command line or a named file is wrong.
    #[error("{0}")]
    Usage(String),
    /// The `sigra` section does not validate.
    #[error("{0}")]
    Config(#[from] sigra_core::config::ConfigError),
    /// The database could not be opened.
    #[error("the `sigra` database ([default.databases.sigra] url = …) could not be opened: {0}")]
    Database(String),
    /// The command needs the app's master secret.
    #[error(
        "`sigra.secret_key` (or SIGRA_SECRET_KEY) is not set: this command needs the app's own \
         secret (it is required in every profile but debug, and what this command writes with \
         a random one the app could not read)"
    )]
    NoSecretKey,
    /// The database lacks some of Sigra's migrations.
    #[error("{0} migration(s) of Sigra are not applied to the database: run `sigra migrate` first")]
    MigrationsPending(usize),
    /// Sigra could not be set up from the configuration.
    #[error("{0}")]
    Build(#[from] sigra_core::features::BuildError),
    /// A flow failed.
    #[error("{0}")]
    Flow(#[from] sigra_core::features::FlowError),
    /// The database failed.
    #[error("{0}")]
    Store(#[from] sigra_core::store::StoreError),
    /// Something else failed (a file could not be written, …).
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    /// A stable machine-readable reason.
    pub fn reason(&self) -> &'static str {
        match self {
            CliError::Usage(_) => "usage",
            CliError::Config(e) => e.reason(),
            CliError::Database(_) => "database_unavailable",
            CliError::NoSecretKey => "secret_key_missing",
            CliError::MigrationsPending(_) => "migrations_pending",
            CliError::Build(e) => e.reason(),
            CliError::Flow(e) => e.reason(),
            CliError::Store(e) => e.reason(),
            CliError::Failed(_) => "failed",
        }
    }

    /// The exit status: 2 for wrong usage, 1 for anything else.
    fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) => ExitCode::from(2),
            _ => ExitCode::FAILURE,
        }
    }
}

/// How a command that ran ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Done (exit 0).
    Done,
    /// It ran and reports a failure: a check failed, an action was refused, the chain is
    /// broken (exit 1).
    Failed,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("sigra: {message}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(Status::Done) => ExitCode::SUCCESS,
        Ok(Status::Failed) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("sigra: error ({}): {e}", e.reason());
            e.exit_code()
        }
    }
}

async fn run(args: args::Args) -> Result<Status, CliError> {
    let figment = || settings::figment(args.config.as_deref(), args.profile.as_deref());
    match args.command {
        Command::Help => {
            print!("{}", args::USAGE);
            Ok(Status::Done)
        }
        Command::Version => {
            println!("sigra {}", env!("CARGO_PKG_VERSION"));
            Ok(Status::Done)
        }
        // The doctor reports an unreadable configuration as a failed check.
        Command::Doctor => Ok(doctor::run(figment()?).await),
        command => {
            let settings = Settings::read(figment()?)?;
            match command {
                Command::Migrate => migrate::run(&settings).await,
                Command::Eject(pages) => templates::eject(&settings, &pages),
                Command::AdminCreate(email) => admin::create(&settings, &email).await,
                Command::AdminRevoke(email) => admin::revoke(&settings, &email).await,
                Command::Users(action, email) => users::act(&settings, action, &email).await,
                Command::AuditVerify => audit::verify(&settings).await,
                Command::Help | Command::Version | Command::Doctor => Ok(Status::Done),
            }
        }
    }
}
