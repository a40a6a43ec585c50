//! Sudo mode: re-entering the password opens a short window for sensitive actions.
//!
//! A password log-in opens the window too; a session restored from remember-me does
//! not. Success rotates the session token. The password check counts toward lockout
//! like a log-in (see [`super::lockout`]): a wrong one is a failed password, and while
//! the account is locked even the right one is refused.

use serde_json::json;

use super::lockout::{self, Checked};
use super::sessions::Authenticated;
use super::{Auth, FlowError, RequestMeta, audit};
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
    let tx = auth.db.begin().await?;
    let checked = lockout::check(auth, &tx, user_id, verification.is_valid(), meta).await?;
    let outcome = match (verification, checked) {
        (Verification::Valid { rehash }, Checked::Right(_)) => {
            if let Some(new_hash) = rehash {
                users::set_password_hash(&tx, user_id, Some(new_hash), now).await?;
            }
            let token = Token::generate()?;
            sessions::rotate(&tx, current.session.id, &token.hash(), Some(now), None).await?;
            auth.audit(
                &tx,
                audit::SUDO,
                Some(user_id),
                Some(user_id),
                json!({}),
                meta,
            )
            .await?;
            SudoOutcome::Confirmed(token)
        }
        _ => {
            auth.audit(
                &tx,
                audit::SUDO_FAILURE,
                Some(user_id),
                Some(user_id),
                json!({}),
                meta,
            )
            .await?;
            SudoOutcome::InvalidPassword
        }
    };
    tx.commit().await?;
    auth.wake_worker();
    if matches!(outcome, SudoOutcome::Confirmed(_)) {
        // The old session token is dead.
        auth.sessions_revoked().await;
    }
    Ok(outcome)
}
