//! # sigra_rocket
//!
//! Production-grade authentication for Rocket. The [`Sigra`] fairing mounts every auth
//! page and endpoint under a base path (`/users` by default); request guards protect the
//! host app's routes:
//!
//! ```no_run
//! #[macro_use] extern crate rocket;
//! use sigra_rocket::{Sigra, AuthenticatedUser, SudoUser};
//!
//! #[get("/dashboard")]
//! fn dashboard(user: AuthenticatedUser) -> String { format!("hello {}", user.email()) }
//!
//! #[post("/danger")]
//! fn danger(_user: SudoUser) -> &'static str { "recently re-authenticated" }
//!
//! #[launch]
//! fn rocket() -> _ {
//!     rocket::build()
//!         .attach(Sigra::fairing())
//!         .mount("/", routes![dashboard, danger])
//! }
//! ```
//!
//! Configuration lives in the `sigra` section of `Rocket.toml` (see
//! [`sigra_core::config`]) and the database under `[default.databases.sigra]`.

#![warn(missing_docs)]

mod catchers;
mod cookies;
mod fairing;
pub mod guards;
mod pool;
mod respond;
mod routes;
mod secret_field;
mod state;
pub mod templates;

pub use fairing::Sigra;
pub use guards::{
    ActiveOrganization, Admin, ApiCaller, AuthenticatedUser, ClientMeta, ConfirmedUser, CsrfForm,
    CsrfToken, FORBIDDEN_WHILE_IMPERSONATING, Impersonation, MfaUser, OptionalUser, OrgAdmin,
    OrgOwner, Scope, Scoped, SudoAdmin, SudoUser,
};
pub use pool::{SigraDb, SigraPool};
/// The `rocket_db_pools` version whose `Connection<SigraDb>` shares Sigra's pool.
pub use rocket_db_pools;
pub use secret_field::SecretField;
pub use sigra_core;
/// An account's membership of an organization: what the organization guards deref to,
/// and what [`Membership::of`] answers for an organization named in the host's own
/// route. Scope host queries with [`Membership::scope`] or [`Membership::org_id`].
pub use sigra_core::features::organizations::{Membership, Role};
/// The sea-query version of [`Membership::scope`]'s `Condition`.
pub use sigra_core::sea_query;
pub use state::SigraState;
/// The Tera version Sigra renders its pages with (for hosts that register its layout).
pub use tera;
