//! Change password from the settings page: the current password is required; the new
//! one replaces the hash, every other session and every outstanding emailed token of
//! the account ends in the same transaction, the current session gets a fresh token,
//! and a notice is mailed. The current password counts toward lockout like a log-in's
//! (see [`super::lockout`]); while the account is locked it is refused like a wrong one.

use serde_json::json;

use crate::form::FieldError;

use super::sessions::Authenticated;
use super::{Auth, FlowError, RequestMeta, Revocation, audit, lockout};
use crate::crypto::{Token, TokenKind};
use crate::password_policy::{self, NewPasswordErrors};
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
    pub current_password: Vec<FieldError>,
    /// Problems with the new password and its confirmation.
    #[serde(flatten)]
    pub new: NewPasswordErrors,
}

impl ChangePasswordErrors {
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.current_password.is_empty() && self.new.is_empty()
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
        new: password_policy::check_new(
            &auth.config.password,
            input.password.expose(),
            input.password_confirmation.expose(),
            Some(&user.email),
        ),
        ..ChangePasswordErrors::default()
    };
    let verification = auth
        .hasher
        .verify(&input.current_password, user.hashed_password())
        .await?;
    // Counted toward lockout first, then judged, like a log-in.
    let mut change = auth.change(meta).await?;
    let valid = verification.is_valid();
    let checked = lockout::check(auth, &mut change, user.id, valid).await?;
    if !matches!(checked, lockout::Checked::Right(_)) {
        errors.current_password.push(FieldError::new(
            "current_password_wrong",
            "That is not your current password.",
        ));
        let action = audit::CHANGE_PASSWORD_FAILURE;
        change.audit(action, user.id, json!({})).await?;
    }
    change.commit(Revocation::None).await?;
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let hashed = auth.hasher.hash(&input.password).await?;
    let fresh = replace(auth, current, hashed, audit::CHANGE_PASSWORD, meta).await?;
    Ok(Ok(fresh))
}

/// Puts a new password hash in place for `current`'s account, as change password and
/// set password do: in one transaction every other session and
/// every other device's remember-me cookie ends, every emailed token dies, the current
/// session gets a fresh token (answered) and a notice is mailed; then the revocation is
/// made to hold on every instance.
pub(crate) async fn replace(
    auth: &Auth,
    current: &Authenticated,
    hashed: String,
    action: &str,
    meta: &RequestMeta,
) -> Result<Token, FlowError> {
    let user = &current.user;
    let now = auth.clock.now();
    let fresh = Token::generate()?;
    let mut change = auth.change(meta).await?;
    let tx = change.tx();
    users::set_password_hash(tx, user.id, Some(hashed), now).await?;
    sessions::delete_for_user(tx, user.id, Some(current.session.id)).await?;
    let emailed: Vec<TokenKind> = TokenKind::ALL
        .into_iter()
        .filter(|kind| *kind != TokenKind::RememberMe)
        .collect();
    tokens::delete_for_user(tx, user.id, &emailed).await?;
    let keep = format!("session:{}", current.session.id);
    tokens::delete_by_recipient(tx, user.id, TokenKind::RememberMe, &keep, false).await?;
    sessions::rotate(tx, current.session.id, &fresh.hash(), Some(now), None).await?;
    change
        .mail("password_changed", &user.email, json!({}))
        .await?;
    change.audit(action, user.id, json!({})).await?;
    change.commit(Revocation::EndSessions).await?;
    Ok(fresh)
}
