//! Sigra's routes, one module per feature (the same names as `sigra_core::features`). The
//! modules of a capability whose Cargo feature is off are not compiled, so none of their
//! routes is mounted.

#[cfg(feature = "admin")]
pub mod admin;
#[cfg(feature = "api")]
pub mod api_keys;
#[cfg(feature = "api")]
pub mod api_tokens;
pub mod assets;
#[cfg(any(feature = "admin", feature = "organizations"))]
pub mod audit;
pub mod backup_codes;
pub mod change_email;
pub mod change_password;
pub mod confirmation;
pub mod data_export;
pub mod deletion;
pub mod dev_mailbox;
#[cfg(feature = "admin")]
pub mod impersonation;
#[cfg(feature = "organizations")]
pub mod invitations;
pub mod json;
pub mod lockout;
pub mod login;
pub mod logout;
pub mod magic_link;
#[cfg(feature = "organizations")]
pub mod memberships;
pub mod mfa;
pub mod mfa_totp;
#[cfg(feature = "oauth")]
pub mod oauth;
#[cfg(feature = "organizations")]
pub mod organizations;
#[cfg(feature = "passkeys")]
pub mod passkeys;
pub mod registration;
pub mod reset_password;
pub mod sessions;
pub mod set_password;
pub mod settings;
pub mod sudo;
pub mod user_fields;

use rocket::Route;
use sigra_core::features::sessions::Authenticated;

use crate::state::SigraState;

/// Where the organization pages are mounted (the `organizations` feature), outside the
/// base path.
pub const ORGANIZATIONS_MOUNT: &str = "/organizations";

/// Where the admin console is mounted (the `admin` feature), outside the base path.
pub const ADMIN_MOUNT: &str = "/admin";

/// Every route Sigra mounts under its base path.
pub fn routes() -> Vec<Route> {
    let mut all = Vec::new();
    all.extend(assets::routes());
    #[cfg(feature = "passkeys")]
    all.extend(assets::passkey_routes());
    all.extend(registration::routes());
    all.extend(confirmation::routes());
    all.extend(magic_link::routes());
    all.extend(reset_password::routes());
    all.extend(lockout::routes());
    all.extend(change_password::routes());
    all.extend(change_email::routes());
    all.extend(set_password::routes());
    all.extend(data_export::routes());
    all.extend(deletion::routes());
    all.extend(mfa::routes());
    all.extend(mfa_totp::routes());
    all.extend(backup_codes::routes());
    all.extend(login::routes());
    all.extend(logout::routes());
    all.extend(sudo::routes());
    all.extend(settings::routes());
    all.extend(sessions::routes());
    #[cfg(feature = "api")]
    all.extend(api_keys::routes());
    #[cfg(feature = "passkeys")]
    all.extend(passkeys::routes());
    #[cfg(feature = "oauth")]
    all.extend(oauth::routes());
    all.extend(json::routes());
    #[cfg(feature = "api")]
    all.extend(api_tokens::routes());
    all
}

/// Sigra's routes mounted at `organizations::MOUNT` when `sigra.organizations.enabled`
/// is on (the `organizations` feature).
#[cfg(feature = "organizations")]
pub fn organization_routes() -> Vec<Route> {
    let mut all = organizations::routes();
    all.extend(memberships::routes());
    all.extend(invitations::routes());
    #[cfg(feature = "admin")]
    all.extend(impersonation::organization_routes());
    all.extend(audit::organization_routes());
    all
}

/// Sigra's routes under `admin::MOUNT` (full paths, mounted at `/`; the `admin` feature):
/// the admin console when `sigra.admin.enabled` is on (`console`), and impersonation (also
/// when only `sigra.admin.org_impersonation` is).
#[cfg(feature = "admin")]
pub fn admin_routes(console: bool) -> Vec<Route> {
    let mut all = impersonation::admin_routes();
    if console {
        all.extend(admin::routes());
        #[cfg(feature = "organizations")]
        all.extend(admin::organization_routes());
        all.extend(audit::admin_routes());
    }
    all
}

/// Sigra's routes mounted at `/` (well-known documents; the `api` feature's).
#[cfg(feature = "api")]
pub fn root_routes() -> Vec<Route> {
    api_tokens::root_routes()
}

/// Whether `current`'s account has a passkey to offer (never without the `passkeys`
/// feature).
#[cfg(not(feature = "passkeys"))]
async fn has_passkeys(_: &SigraState, _: &Authenticated) -> bool {
    false
}
#[cfg(feature = "passkeys")]
use passkeys::has_passkeys;

/// The providers `current`'s account is linked with, for sudo through a provider (none
/// without the `oauth` feature). A failed lookup offers none: the other ways stay.
#[cfg(feature = "oauth")]
async fn linked_providers(state: &SigraState, current: &Authenticated) -> Vec<String> {
    sigra_core::features::oauth::connections(&state.auth, current)
        .await
        .map(|list| list.into_iter().map(|c| c.provider).collect())
        .unwrap_or_default()
}
#[cfg(not(feature = "oauth"))]
async fn linked_providers(_: &SigraState, _: &Authenticated) -> Vec<String> {
    Vec::new()
}

/// Every route Sigra can mount in this build, wherever it mounts it (unmounted paths): the
/// routes of each capability built in, whatever the configuration turns on.
pub fn every_route() -> Vec<Route> {
    let mut all = routes();
    all.extend(dev_mailbox::routes());
    #[cfg(feature = "api")]
    all.extend(root_routes());
    #[cfg(feature = "organizations")]
    all.extend(organization_routes());
    #[cfg(feature = "admin")]
    all.extend(admin_routes(true));
    all
}

pub(crate) use sigra_core::features::human_time;
