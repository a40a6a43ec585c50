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
//!
//! The Cargo features are sigra_core's, forwarded, all on by default: `sqlite`,
//! `postgres`, `mysql` (at least one) and the capabilities `passkeys`, `oauth`,
//! `organizations`, `admin` and `api`. A capability that is off mounts none of its routes,
//! and its guards and types are not there (see [`sigra_core::capabilities`]).

#![warn(missing_docs)]

mod catchers;
mod cookies;
mod fairing;
pub mod guards;
/// Task-oriented guides, one module per topic (`sigra_rocket/docs/guide/*.md`), doc-tested.
pub mod guide;
mod pool;
mod respond;
mod routes;
mod secret_field;
mod security_headers;
mod state;
pub mod templates;
#[cfg(feature = "testing")]
pub mod testing;

pub use fairing::Sigra;
#[cfg(feature = "organizations")]
pub use guards::{ActiveOrganization, OrgAdmin, OrgOwner};
#[cfg(feature = "admin")]
pub use guards::{Admin, Impersonation, SudoAdmin};
#[cfg(feature = "api")]
pub use guards::{ApiCaller, Scope, Scoped};
pub use guards::{
    AuthenticatedUser, ClientMeta, ConfirmedUser, CsrfForm, CsrfToken,
    FORBIDDEN_WHILE_IMPERSONATING, LayoutContext, MfaUser, OptionalUser, SudoUser,
};
pub use pool::{SigraDb, SigraPool};
/// The `rocket_db_pools` version whose `Connection<SigraDb>` shares Sigra's pool.
pub use rocket_db_pools;
pub use secret_field::SecretField;
pub use security_headers::SecurityHeaders;
pub use sigra_core;
/// An account's membership of an organization: what the organization guards deref to,
/// and what [`Membership::of`] answers for an organization named in the host's own
/// route. Scope host queries with [`Membership::scope`] or [`Membership::org_id`].
#[cfg(feature = "organizations")]
pub use sigra_core::features::organizations::{Membership, Role};
/// Custom registration fields: the host's [`UserFields`](user_fields::UserFields),
/// registered with [`Sigra::user_fields`].
pub use sigra_core::features::user_fields;
/// The sea-query version of `Membership::scope`'s `Condition` and of the store's queries.
pub use sigra_core::sea_query;
pub use state::SigraState;
/// The Tera version Sigra renders its pages with (for hosts that register its layout).
pub use tera;
