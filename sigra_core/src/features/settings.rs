//! Settings: what the account's settings overview shows, gathered in one place so the
//! page (and any other view of it) reads the same facts: the address and a pending
//! change of it, whether a password is set, the live sessions and the state of the
//! second factor. It changes nothing and carries no secret.

use super::sessions::{Authenticated, SessionView};
use super::{Auth, FlowError, backup_codes, change_email, sessions};

/// The settings overview of the signed-in account.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct Overview {
    /// The account's address.
    pub email: String,
    /// The address a change is waiting to be confirmed from, if any (shown alike whether
    /// or not that address belongs to another account).
    pub pending_email: Option<String>,
    /// Whether the account has a password (one made by a magic link may not).
    pub has_password: bool,
    /// The live sessions, newest first, the current one marked.
    pub sessions: Vec<SessionView>,
    /// Whether the second factor is on.
    pub mfa_enabled: bool,
    /// Unused backup codes, when the second factor is on.
    pub backup_codes_left: Option<i64>,
}

/// Gathers the settings overview of the signed-in account.
pub async fn overview(auth: &Auth, current: &Authenticated) -> Result<Overview, FlowError> {
    let user = &current.user;
    let sessions = sessions::list(auth, current).await?;
    let pending_email = change_email::pending(auth, user.id).await?;
    let mfa_enabled = user.mfa_enabled_at.is_some();
    let backup_codes_left = if mfa_enabled {
        Some(backup_codes::remaining(auth, user.id).await?)
    } else {
        None
    };
    Ok(Overview {
        email: user.email.clone(),
        pending_email,
        has_password: user.has_password(),
        sessions,
        mfa_enabled,
        backup_codes_left,
    })
}
