//! Sigra's routes, one module per feature (the same names as `sigra_core::features`).

pub mod admin;
pub mod api_keys;
pub mod api_tokens;
pub mod assets;
pub mod audit;
pub mod backup_codes;
pub mod change_email;
pub mod change_password;
pub mod confirmation;
pub mod data_export;
pub mod deletion;
pub mod dev_mailbox;
pub mod impersonation;
pub mod invitations;
pub mod json;
pub mod lockout;
pub mod login;
pub mod logout;
pub mod magic_link;
pub mod memberships;
pub mod mfa;
pub mod mfa_totp;
pub mod oauth;
pub mod organizations;
pub mod passkeys;
pub mod registration;
pub mod reset_password;
pub mod sessions;
pub mod set_password;
pub mod settings;
pub mod sudo;

use rocket::Route;

/// Every route Sigra mounts under its base path.
pub fn routes() -> Vec<Route> {
    let mut all = Vec::new();
    all.extend(assets::routes());
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
    all.extend(api_keys::routes());
    all.extend(passkeys::routes());
    all.extend(oauth::routes());
    all.extend(json::routes());
    all.extend(api_tokens::routes());
    all
}

/// Sigra's routes mounted at [`organizations::MOUNT`] when `sigra.organizations.enabled`
/// is on.
pub fn organization_routes() -> Vec<Route> {
    let mut all = organizations::routes();
    all.extend(memberships::routes());
    all.extend(invitations::routes());
    all.extend(impersonation::organization_routes());
    all.extend(audit::organization_routes());
    all
}

/// Sigra's routes under [`admin::MOUNT`] (full paths, mounted at `/`): the admin console when
/// `sigra.admin.enabled` is on (`console`), and impersonation (also when only
/// `sigra.admin.org_impersonation` is).
pub fn admin_routes(console: bool) -> Vec<Route> {
    let mut all = impersonation::admin_routes();
    if console {
        all.extend(admin::routes());
        all.extend(audit::admin_routes());
    }
    all
}

/// Sigra's routes mounted at `/` (well-known documents).
pub fn root_routes() -> Vec<Route> {
    api_tokens::root_routes()
}

pub(crate) use sigra_core::features::human_time;
