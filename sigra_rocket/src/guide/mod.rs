//! # Guides
//!
//! Task-oriented guides to Sigra, one module per topic. Each is a Markdown file under
//! `sigra_rocket/docs/guide/` (inside the crate, so a packaged crate carries them),
//! included here so that every Rust example in it is compiled as a doctest of
//! `sigra_rocket`: an example that stops compiling fails the build.
//!
//! The examples of [`testing`](crate::guide::testing) use `sigra_rocket::testing`, which
//! needs the Cargo feature `testing`: `cargo test -p sigra_rocket --doc --features testing`
//! compiles them, and so does `cargo test --workspace` (example_app's dev-dependency turns
//! the feature on for the whole test build); `cargo test -p sigra_rocket --doc` without the
//! feature skips them. The documentation shows that guide either way.
//!
//! Start with [`installation`](crate::guide::installation) and
//! [`getting_started`](crate::guide::getting_started) (from `cargo new` to a protected
//! page, then the whole account story in the browser).
//!
//! | guide | what it covers |
//! |---|---|
//! | [`installation`](crate::guide::installation) | dependency, Cargo features, database, `Rocket.toml` |
//! | [`getting_started`](crate::guide::getting_started) | a first app, step by step, and the account story end to end |
//! | [`registration`](crate::guide::registration) | sign-up, the confirmation mail, enumeration safety |
//! | [`custom_user_fields`](crate::guide::custom_user_fields) | your own registration fields, stored in your table in the account's transaction |
//! | [`login_and_logout`](crate::guide::login_and_logout) | log-in, remember-me, magic links, log-out, the guards, JSON mode |
//! | [`reset_password`](crate::guide::reset_password) | forgot password, the reset link, what a reset ends |
//! | [`account_lifecycle`](crate::guide::account_lifecycle) | confirmation, change email and password, lockout, deletion, data export, sessions |
//! | [`mfa`](crate::guide::mfa) | authenticator apps (TOTP), backup codes, trusted browsers |
//! | [`passkeys`](crate::guide::passkeys) | WebAuthn passkeys for sign-in, second factor and sudo |
//! | [`social_login`](crate::guide::social_login) | Google, GitHub, Apple and any OpenID Connect provider |
//! | [`api_keys_and_tokens`](crate::guide::api_keys_and_tokens) | personal API keys, JWT access and refresh tokens, scopes |
//! | [`organizations`](crate::guide::organizations) | multi-tenancy: organizations, roles, invitations, scoping your tables |
//! | [`admin_and_impersonation`](crate::guide::admin_and_impersonation) | the admin console and acting as a user |
//! | [`audit_logging`](crate::guide::audit_logging) | the tamper-evident audit log, its explorer and exports |
//! | [`deployment`](crate::guide::deployment) | TLS and proxies, secrets, SMTP, PostgreSQL/MySQL, several instances, health checks |
//! | [`subdomains`](crate::guide::subdomains) | one log-in across subdomains (`cookie_domain`), cross-subdomain forms (`trusted_origins`), the trade-offs |
//! | [`testing`](crate::guide::testing) | testing your app with `sigra_rocket::testing`: test app, clock, mailbox, accounts, forms |
//! | [`upgrading`](crate::guide::upgrading) | moving to a newer Sigra, importing bcrypt hashes, rotating secrets |

#[doc = include_str!("../../docs/guide/installation.md")]
pub mod installation {}

#[doc = include_str!("../../docs/guide/getting_started.md")]
pub mod getting_started {}

#[doc = include_str!("../../docs/guide/registration.md")]
pub mod registration {}

#[doc = include_str!("../../docs/guide/custom_user_fields.md")]
pub mod custom_user_fields {}

#[doc = include_str!("../../docs/guide/login_and_logout.md")]
pub mod login_and_logout {}

#[doc = include_str!("../../docs/guide/reset_password.md")]
pub mod reset_password {}

#[doc = include_str!("../../docs/guide/account_lifecycle.md")]
pub mod account_lifecycle {}

#[doc = include_str!("../../docs/guide/mfa.md")]
pub mod mfa {}

#[doc = include_str!("../../docs/guide/passkeys.md")]
pub mod passkeys {}

#[doc = include_str!("../../docs/guide/social_login.md")]
pub mod social_login {}

#[doc = include_str!("../../docs/guide/api_keys_and_tokens.md")]
pub mod api_keys_and_tokens {}

#[doc = include_str!("../../docs/guide/organizations.md")]
pub mod organizations {}

#[doc = include_str!("../../docs/guide/admin_and_impersonation.md")]
pub mod admin_and_impersonation {}

#[doc = include_str!("../../docs/guide/audit_logging.md")]
pub mod audit_logging {}

#[doc = include_str!("../../docs/guide/deployment.md")]
pub mod deployment {}

#[doc = include_str!("../../docs/guide/subdomains.md")]
pub mod subdomains {}

// Its examples need the `testing` feature. Without it, rustdoc's doctest collection
// (`cfg(doctest)`) gets a one-line summary instead of the guide, so the examples are
// skipped rather than failing; the documentation always shows the guide.
#[cfg_attr(
    any(feature = "testing", not(doctest)),
    doc = include_str!("../../docs/guide/testing.md")
)]
#[cfg_attr(
    all(doctest, not(feature = "testing")),
    doc = "Testing your app (its examples are compiled with the `testing` feature)."
)]
pub mod testing {}

#[doc = include_str!("../../docs/guide/upgrading.md")]
pub mod upgrading {}
