//! What an impersonation session may not do, in every build: without the `admin` feature
//! no impersonation begins, but one begun before (a session row with `impersonator_id`)
//! is still refused the same routes until it ends.

use rocket::Request;
use rocket::http::Method;
use sigra_core::features::sessions::Authenticated;

use super::failure::GuardFailure;
use crate::state::state;

/// The routes under Sigra's base path an impersonation may not send anything but GET to
/// (each a prefix of the route's path).
///
/// Confirming an email change by its link is not here: the link proves the new
/// mailbox, which the admin does not have, and needs no session.
pub const FORBIDDEN_WHILE_IMPERSONATING: [&str; 9] = [
    "/settings/password",
    "/settings/set-password",
    "/settings/email",
    "/settings/mfa",
    "/settings/passkeys",
    "/settings/api-keys",
    "/settings/connections",
    "/settings/delete",
    "/sudo",
];

/// `impersonation_forbidden` when `found` is an impersonation session and the request's
/// route is one it may not use.
pub(crate) fn impersonation_refusal(
    request: &Request<'_>,
    found: &Authenticated,
) -> Option<GuardFailure> {
    found.session.impersonator_id?;
    if matches!(request.method(), Method::Get | Method::Head) {
        return None;
    }
    let base = state(request).map(|s| s.auth.config.base_path.as_str())?;
    let path = request.route().map(|r| r.uri.path().to_string())?;
    let rest = path.strip_prefix(base)?;
    FORBIDDEN_WHILE_IMPERSONATING
        .iter()
        .any(|p| rest == *p || rest.starts_with(&format!("{p}/")))
        .then_some(GuardFailure::ImpersonationForbidden)
}
