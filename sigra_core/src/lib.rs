//! # sigra_core
//!
//! The framework-agnostic core of Sigra, production-grade authentication for Rocket:
//! configuration, the clock, cryptography, storage on SQLite, PostgreSQL and MySQL,
//! and the authentication flows themselves. It has no Rocket dependency; the
//! `sigra_rocket` crate is the thin web layer on top.
//!
//! Cargo features, all on by default: one per database backend (`sqlite`, `postgres`,
//! `mysql`; at least one) and one per capability (`passkeys`, `oauth`, `organizations`,
//! `admin`, `api`). A capability that is off compiles none of its modules and none of its
//! dependencies; the migrations, and so the schema, are the same in every build.

#![warn(missing_docs)]

#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
compile_error!(
    "Sigra needs at least one database backend: turn on the `sqlite`, `postgres` or `mysql` \
     Cargo feature"
);

pub mod capabilities;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod features;
pub mod form;
pub mod jobs;
pub mod mail;
pub mod net;
pub mod password_policy;
pub mod rate_limit;
pub mod secret;
pub mod session_cache;
pub mod store;
pub mod user_agent;

pub use clock::{Clock, FixedClock, SystemClock};
pub use config::SigraConfig;
/// The sea-query version Sigra's store and scoping conditions use.
pub use sea_query;
