//! Password reset by emailed link.
//!
//! Requests answer the same for every address. Setting the new password uses the link
//! up, ends every session and outstanding token of the account, does not log anyone
//! in, and mails a "your password was changed" notice.

use serde_json::json;

use super::{Auth, EmailedLink, FlowError, RequestMeta, audit};
use crate::crypto::{TokenHash, TokenKind};
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
        valid_for: "60 minutes",
        action: audit::RESET_PASSWORD_REQUESTED,
    };
    auth.mail_link_if_known(email, &link, meta).await
}

/// The account a reset link is for, if the link is still good (uses nothing up).
pub async fn find(auth: &Auth, token: &str) -> Result<Option<User>, FlowError> {
    let Ok(hash) = TokenHash::of_encoded(token) else {
        return Ok(None);
    };
    let Some(found) =
        tokens::find_valid(&auth.db, &hash, TokenKind::ResetPassword, auth.clock.now()).await?
    else {
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
    let Ok(hash) = TokenHash::of_encoded(token) else {
        return Ok(ResetOutcome::InvalidToken);
    };
    let now = auth.clock.now();
    let tx = auth.db.begin().await?;
    let Some(used) = tokens::consume(&tx, &hash, TokenKind::ResetPassword, now).await? else {
        return Ok(ResetOutcome::InvalidToken);
    };
    users::set_password_hash(&tx, used.user_id, Some(hashed), now).await?;
    users::unlock(&tx, used.user_id, false).await?;
    sessions::delete_for_user(&tx, used.user_id, None).await?;
    tokens::delete_for_user(&tx, used.user_id, &[]).await?;
    auth.queue_mail(&tx, "password_changed", &user.email, json!({}))
        .await?;
    auth.audit(
        &tx,
        audit::RESET_PASSWORD,
        Some(used.user_id),
        Some(used.user_id),
        json!({}),
        meta,
    )
    .await?;
    tx.commit().await?;
    auth.sessions_revoked().await;
    auth.wake_worker();
    Ok(ResetOutcome::Done)
}
