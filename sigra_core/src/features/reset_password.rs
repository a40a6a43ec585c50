//! Password reset by emailed link.
//!
//! Requests answer the same for every address. Setting the new password uses the link
//! up, ends every session and outstanding token of the account, does not log anyone
//! in, and mails a "your password was changed" notice.

use serde_json::json;

use super::{Auth, EmailedLink, FlowError, RequestMeta, Revocation, audit};
use crate::crypto::TokenKind;
use crate::password_policy::{self, NewPasswordErrors};
use crate::secret::SecretString;
use crate::store::{User, sessions, tokens, users};

/// Mails a reset link to `email` if it has an account (at most once per throttle
/// window). Answers nothing: the response is the same for every address.
pub async fn request(auth: &Auth, email: &str, meta: &RequestMeta) -> Result<(), FlowError> {
    let link = EmailedLink {
        kind: TokenKind::ResetPassword,
        ttl_secs: auth.config.tokens.reset_password_secs,
        path: "/reset-password/",
        mail: "reset_password",
        action: audit::RESET_PASSWORD_REQUESTED,
    };
    auth.mail_link_if_known(email, &link, meta).await
}

/// The account a reset link is for, if the link is still good (uses nothing up).
pub async fn find(auth: &Auth, token: &str) -> Result<Option<User>, FlowError> {
    let Some(found) = auth.valid_link(TokenKind::ResetPassword, token).await? else {
        return Ok(None);
    };
    Ok(users::find_by_id(&auth.db, found.user_id).await?)
}

/// Problems with the new password, by field.
pub type ResetErrors = NewPasswordErrors;

/// How a reset ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResetOutcome {
    /// The password was changed; every session and token of the account is gone.
    Done,
    /// The link is expired, used, or not a reset link.
    InvalidToken,
    /// The new password was not accepted; the link is still good.
    Invalid(ResetErrors),
}

/// Sets a new password with a reset link.
pub async fn reset(
    auth: &Auth,
    token: &str,
    password: &SecretString,
    confirmation: &SecretString,
    meta: &RequestMeta,
) -> Result<ResetOutcome, FlowError> {
    let Some(user) = find(auth, token).await? else {
        return Ok(ResetOutcome::InvalidToken);
    };
    let errors = password_policy::check_new(
        &auth.config.password,
        password.expose(),
        confirmation.expose(),
        Some(&user.email),
    );
    if !errors.is_empty() {
        return Ok(ResetOutcome::Invalid(errors));
    }
    let hashed = auth.hasher.hash(password).await?;
    let now = auth.clock.now();
    let mut change = auth.change(meta).await?;
    let ex = change.tx();
    let Some(used) = change.use_link(TokenKind::ResetPassword, token).await? else {
        return Ok(ResetOutcome::InvalidToken);
    };
    users::set_password_hash(ex, used.user_id, Some(hashed), now).await?;
    users::unlock(ex, used.user_id, false).await?;
    sessions::delete_for_user(ex, used.user_id, None).await?;
    tokens::delete_for_user(ex, used.user_id, &[]).await?;
    change
        .mail("password_changed", &user.email, json!({}))
        .await?;
    change
        .audit(audit::RESET_PASSWORD, used.user_id, json!({}))
        .await?;
    change.commit(Revocation::EndSessions).await?;
    Ok(ResetOutcome::Done)
}
