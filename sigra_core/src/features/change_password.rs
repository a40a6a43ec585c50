//! Change password from the settings page: the current password is required; the new
//! one replaces the hash, every other session and every outstanding emailed token of
//! the account ends in the same transaction, the current session gets a fresh token,
//! and a notice is mailed.

use serde_json::json;

use super::sessions::Authenticated;
use super::{Auth, FlowError, RequestMeta, audit, password_policy};
use crate::crypto::{Token, TokenKind};
use crate::secret::SecretString;
use crate::store::{sessions, tokens, users};

/// What the change-password form sent.
#[derive(Debug, Clone)]
pub struct ChangePasswordInput {
    /// The password in use now.
    pub current_password: SecretString,
    /// The new password.
    pub password: SecretString,
    /// The new password again.
    pub password_confirmation: SecretString,
}

/// Problems with the form, by field.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChangePasswordErrors {
    /// Problems with the current password.
    pub current_password: Vec<String>,
    /// Problems with the new password.
    pub password: Vec<String>,
    /// Problems with the confirmation.
    pub password_confirmation: Vec<String>,
}

impl ChangePasswordErrors {
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.current_password.is_empty()
            && self.password.is_empty()
            && self.password_confirmation.is_empty()
    }
}

/// Changes the current user's password. On success answers the current session's new
/// cookie value (the session itself is kept).
///
/// ```no_run
/// # async fn demo(auth: &sigra_core::features::Auth, me: &sigra_core::features::sessions::Authenticated) {
/// use sigra_core::features::change_password::{ChangePasswordInput, change_password};
/// use sigra_core::features::RequestMeta;
/// let input = ChangePasswordInput {
///     current_password: "old passphrase here".into(),
///     password: "a new long passphrase".into(),
///     password_confirmation: "a new long passphrase".into(),
/// };
/// match change_password(auth, me, &input, &RequestMeta::default()).await {
///     Ok(Ok(new_cookie)) => { /* set the session cookie to new_cookie.as_str() */ }
///     Ok(Err(errors)) => { /* show errors.current_password, errors.password … */ }
///     Err(e) => eprintln!("{e}"),
/// }
/// # }
/// ```
pub async fn change_password(
    auth: &Auth,
    current: &Authenticated,
    input: &ChangePasswordInput,
    meta: &RequestMeta,
) -> Result<Result<Token, ChangePasswordErrors>, FlowError> {
    let user = &current.user;
    let mut errors = ChangePasswordErrors {
        password: password_policy::check(
            &auth.config.password,
            input.password.expose(),
            Some(&user.email),
        ),
        ..ChangePasswordErrors::default()
    };
    if input.password.expose() != input.password_confirmation.expose() {
        errors
            .password_confirmation
            .push("The passwords do not match.".into());
    }
    let verification = auth
        .hasher
        .verify(&input.current_password, user.hashed_password())
        .await?;
    if !verification.is_valid() {
        errors
            .current_password
            .push("That is not your current password.".into());
        let tx = auth.db.begin().await?;
        auth.audit(
            &tx,
            audit::CHANGE_PASSWORD_FAILURE,
            Some(user.id),
            Some(user.id),
            json!({}),
            meta,
        )
        .await?;
        tx.commit().await?;
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let hashed = auth.hasher.hash(&input.password).await?;
    let now = auth.clock.now();
    let fresh = Token::generate()?;
    let tx = auth.db.begin().await?;
    users::set_password_hash(&tx, user.id, Some(hashed), now).await?;
    sessions::delete_for_user(&tx, user.id, Some(current.session.id)).await?;
    // Emailed tokens die with the old password; this device's remember-me cookie stays.
    let emailed: Vec<TokenKind> = TokenKind::ALL
        .into_iter()
        .filter(|kind| *kind != TokenKind::RememberMe)
        .collect();
    tokens::delete_for_user(&tx, user.id, &emailed).await?;
    let keep = format!("session:{}", current.session.id);
    tokens::delete_by_recipient(&tx, user.id, TokenKind::RememberMe, &keep, false).await?;
    sessions::rotate(&tx, current.session.id, &fresh.hash(), Some(now)).await?;
    auth.queue_mail(&tx, "password_changed", &user.email, json!({}))
        .await?;
    auth.audit(
        &tx,
        audit::CHANGE_PASSWORD,
        Some(user.id),
        Some(user.id),
        json!({}),
        meta,
    )
    .await?;
    tx.commit().await?;
    auth.sessions_revoked().await;
    auth.wake_worker();
    Ok(Ok(fresh))
}
