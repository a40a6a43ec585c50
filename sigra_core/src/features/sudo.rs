//! Sudo mode: re-entering the password opens a short window for sensitive actions.
//!
//! A password log-in opens the window too; a session restored from remember-me does
//! not. Success rotates the session token. The password check counts toward lockout
//! like a log-in (see [`super::lockout`]): a wrong one is a failed password, and while
//! the account is locked even the right one is refused.

use serde_json::json;

use super::lockout::{self, Checked};
use super::sessions::Authenticated;
use super::{Auth, FlowError, RequestMeta, Revocation, audit};
use crate::crypto::{Token, Verification};
use crate::secret::SecretString;
use crate::store::{sessions, users};

/// How a sudo attempt ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum SudoOutcome {
    /// Confirmed: the session's new cookie value.
    Confirmed(Token),
    /// Wrong password (or the account has none).
    InvalidPassword,
}

/// Checks the password of the current user and, if right, opens the sudo window.
pub async fn confirm(
    auth: &Auth,
    current: &Authenticated,
    password: &SecretString,
    meta: &RequestMeta,
) -> Result<SudoOutcome, FlowError> {
    let user_id = current.user.id;
    let verification = auth
        .hasher
        .verify(password, current.user.hashed_password())
        .await?;
    let now = auth.clock.now();
    let mut change = auth.change(meta).await?;
    let checked = lockout::check(auth, &mut change, user_id, verification.is_valid()).await?;
    match (verification, checked) {
        (Verification::Valid { rehash }, Checked::Right(_)) => {
            let tx = change.tx();
            if let Some(new_hash) = rehash {
                users::set_password_hash(tx, user_id, Some(new_hash), now).await?;
            }
            let token = Token::generate()?;
            sessions::rotate(tx, current.session.id, &token.hash(), Some(now), None).await?;
            change.audit(audit::SUDO, user_id, json!({})).await?;
            // The old session token is dead.
            change.commit(Revocation::EndSessions).await?;
            Ok(SudoOutcome::Confirmed(token))
        }
        _ => {
            change
                .audit(audit::SUDO_FAILURE, user_id, json!({}))
                .await?;
            change.commit(Revocation::None).await?;
            Ok(SudoOutcome::InvalidPassword)
        }
    }
}
