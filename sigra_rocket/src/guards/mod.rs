//! Request guards: [`AuthenticatedUser`], [`OptionalUser`], [`SudoUser`], `ApiCaller` and
//! `Scoped` (the `api` feature), `ActiveOrganization`, `OrgAdmin` and `OrgOwner` (the
//! `organizations` feature), `Admin`, `SudoAdmin` and `Impersonation` (the `admin`
//! feature), the CSRF guards, [`ClientMeta`] and [`LayoutContext`]; and the data guard of every Sigra route
//! that changes state (rate limit, CSRF, the form or JSON body, who is asking).
//!
//! A guard that cannot authenticate fails with a status (401 or 403), never a Forward;
//! Sigra's catchers turn that into a 303 to the log-in (or sudo) page for HTML requests
//! and a JSON body for JSON requests. The session is looked up at most once per request.
//!
//! Every proof keeps its fields private, so host code cannot make one up; it gets one
//! only from Rocket running the guard. Reading one is fine:
//!
//! ```
//! fn read(sudo: sigra_rocket::SudoUser, maybe: sigra_rocket::OptionalUser) -> Option<String> {
//!     let _user: sigra_rocket::AuthenticatedUser = sudo.into_inner();
//!     maybe.user().map(|u| u.email().to_owned())
//! }
//! ```
//!
//! Making one is not:
//!
//! ```compile_fail
//! fn forge(user: sigra_rocket::AuthenticatedUser) -> sigra_rocket::SudoUser {
//!     sigra_rocket::SudoUser(user)
//! }
//! ```
//!
//! ```compile_fail
//! fn forge() -> sigra_rocket::OptionalUser {
//!     sigra_rocket::OptionalUser(None)
//! }
//! ```
//!
//! ```compile_fail
//! fn forge(m: sigra_rocket::Membership) -> sigra_rocket::ActiveOrganization {
//!     sigra_rocket::ActiveOrganization(m)
//! }
//! ```
//!
//! ```compile_fail
//! fn forge(m: sigra_rocket::Membership) -> sigra_rocket::OrgOwner {
//!     sigra_rocket::OrgOwner(m)
//! }
//! ```
//!
//! ```compile_fail
//! fn forge(user: sigra_rocket::AuthenticatedUser) -> sigra_rocket::Admin {
//!     sigra_rocket::Admin(user)
//! }
//! ```
//!
//! ```compile_fail
//! fn forge(user: sigra_rocket::AuthenticatedUser) -> sigra_rocket::SudoAdmin {
//!     sigra_rocket::SudoAdmin(user)
//! }
//! ```
//!
//! ```compile_fail
//! fn forge<T>(form: T) -> sigra_rocket::CsrfForm<T> {
//!     sigra_rocket::CsrfForm(form)
//! }
//! ```

#[cfg(feature = "admin")]
mod admin;
#[cfg(feature = "api")]
mod api;
mod client;
mod csrf;
mod failure;
mod impersonating;
mod layout;
#[cfg(feature = "organizations")]
mod organization;
mod session;
mod user;

#[cfg(feature = "admin")]
pub use admin::{Admin, Impersonation, SudoAdmin};
#[cfg(feature = "api")]
pub(crate) use api::ApiBody;
#[cfg(feature = "api")]
pub use api::{ApiCaller, Scope, Scoped, Via};
pub use client::ClientMeta;
pub(crate) use client::RetryAfter;
#[cfg(feature = "oauth")]
pub(crate) use csrf::CrossSiteForm;
pub use csrf::{CsrfForm, CsrfToken, NoFields};
pub(crate) use csrf::{FormProblems, HEADER as CSRF_HEADER, SigraForm};
pub(crate) use failure::failure;
pub use failure::{GuardFailure, HtmlAnswer};
pub use impersonating::FORBIDDEN_WHILE_IMPERSONATING;
pub(crate) use impersonating::impersonation_refusal;
pub use layout::LayoutContext;
#[cfg(feature = "organizations")]
pub use organization::{ActiveOrganization, OrgAdmin, OrgOwner};
pub(crate) use session::{LiveSession, RestoredCookies, SecondFactorPassed, current_session};
pub use user::{AuthenticatedUser, ConfirmedUser, MfaUser, OptionalUser, SudoUser};
