//! Set a password on an account that has none (one made by magic link or, later,
//! OAuth). The web layer asks for sudo first; other sessions end, as with a change.

use serde_json::json;

use super::sessions::Authenticated;
use super::{Auth, FlowError, RequestMeta, audit, password_policy};
use crate::crypto::Token;
use crate::secret::SecretString;
use crate::store::{sessions, users};

/// Problems with the form, by field.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SetPasswordErrors {
    /// Problems with the password.
    pub password: Vec<String>,
    /// Problems with the confirmation.
    pub password_confirmation: Vec<String>,
}

/// Sets the first password of the current user's account. Answers the current
/// session's new cookie value, or the form's problems (an account that already has a
/// password is told to use change password instead).
///
/// ```no_run
/// # async fn demo(auth: &sigra_core::features::Auth, me: &sigra_core::features::sessions::Authenticated) {
/// use sigra_core::features::{RequestMeta, set_password::set_password};
/// let new = "a long first passphrase".into();
/// let again = "a long first passphrase".into();
/// let _ = set_password(auth, me, &new, &again, &RequestMeta::default()).await;
/// # }
/// ```
pub async fn set_password(
    auth: &Auth,
    current: &Authenticated,
    password: &SecretString,
    confirmation: &SecretString,
    meta: &RequestMeta,
) -> Result<Result<Token, SetPasswordErrors>, FlowError> {
    let user = &current.user;
    let mut errors = SetPasswordErrors {
        password: password_policy::check(
            &auth.config.password,
            password.expose(),
            Some(&user.email),
        ),
        ..SetPasswordErrors::default()
    };
    if user.has_password() {
        errors.password.insert(
            0,
            "Your account already has a password; use change password.".into(),
        );
    }
    if password.expose() != confirmation.expose() {
        errors
            .password_confirmation
            .push("The passwords do not match.".into());
    }
    if !errors.password.is_empty() || !errors.password_confirmation.is_empty() {
        return Ok(Err(errors));
    }
    let hashed = auth.hasher.hash(password).await?;
    let now = auth.clock.now();
    let fresh = Token::generate()?;
    let tx = auth.db.begin().await?;
    users::set_password_hash(&tx, user.id, Some(hashed), now).await?;
    sessions::delete_for_user(&tx, user.id, Some(current.session.id)).await?;
    sessions::rotate(&tx, current.session.id, &fresh.hash(), Some(now)).await?;
    auth.queue_mail(&tx, "password_changed", &user.email, json!({}))
        .await?;
    auth.audit(
        &tx,
        audit::SET_PASSWORD,
        Some(user.id),
        Some(user.id),
        json!({}),
        meta,
    )
    .await?;
    tx.commit().await?;
    auth.wake_worker();
    auth.sessions_revoked().await;
    Ok(Ok(fresh))
}
