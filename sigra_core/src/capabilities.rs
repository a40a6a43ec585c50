//! Which of Sigra's capabilities this build has: one Cargo feature each (`passkeys`,
//! `oauth`, `organizations`, `admin`, `api`), all on by default.
//!
//! A capability that is off compiles none of its modules and none of its dependencies,
//! and the web layer mounts none of its routes and shows none of its links. Its
//! configuration section is still read, so one configuration file serves every build,
//! but has no effect; [`ignored_settings`] names the settings that ask for it, for a
//! warning at launch. The schema is the same in every build: a capability's tables are
//! there, only nothing uses them.
//!
//! ```
//! let built = sigra_core::capabilities::BUILT;
//! assert_eq!(built.passkeys, cfg!(feature = "passkeys"));
//! ```

use serde::Serialize;

use crate::config::SigraConfig;

/// Whether each capability is built in (its Cargo feature is on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// `passkeys`: WebAuthn sign-in, second factor and sudo.
    pub passkeys: bool,
    /// `oauth`: social log-in (OAuth 2 and OpenID Connect providers).
    pub oauth: bool,
    /// `organizations`: organizations, memberships and invitations.
    pub organizations: bool,
    /// `admin`: the admin console, impersonation and the audit explorer.
    pub admin: bool,
    /// `api`: personal API keys and JWT access tokens.
    pub api: bool,
}

/// The capabilities of this build.
pub const BUILT: Capabilities = Capabilities {
    passkeys: cfg!(feature = "passkeys"),
    oauth: cfg!(feature = "oauth"),
    organizations: cfg!(feature = "organizations"),
    admin: cfg!(feature = "admin"),
    api: cfg!(feature = "api"),
};

/// The settings of `config` that ask for a capability this build left out, each with the
/// capability's name: they have no effect.
///
/// ```
/// let config = sigra_core::SigraConfig::default();
/// assert!(sigra_core::capabilities::ignored_settings(&config).is_empty());
/// ```
pub fn ignored_settings(config: &SigraConfig) -> Vec<(&'static str, &'static str)> {
    let asked = [
        (
            "sigra.organizations.enabled",
            "organizations",
            BUILT.organizations,
            config.organizations.enabled,
        ),
        (
            "sigra.admin.enabled",
            "admin",
            BUILT.admin,
            config.admin.enabled,
        ),
        (
            "sigra.admin.org_impersonation",
            "admin",
            BUILT.admin,
            config.admin.org_impersonation,
        ),
        (
            "sigra.admin.emails",
            "admin",
            BUILT.admin,
            !config.admin.emails.is_empty(),
        ),
        (
            "sigra.oauth.providers",
            "oauth",
            BUILT.oauth,
            !config.oauth.providers.is_empty(),
        ),
        (
            "sigra.api_keys.scopes",
            "api",
            BUILT.api,
            !config.api_keys.scopes.is_empty(),
        ),
    ];
    asked
        .into_iter()
        .filter(|(_, _, built, set)| *set && !*built)
        .map(|(key, capability, _, _)| (key, capability))
        .collect()
}
