//! Change email: a link goes to the new address; the address changes only when that
//! link is confirmed (a button POST). Then every session of the account ends and the
//! old address gets a notice. A pending change can be cancelled.
//!
//! Requesting needs the current password, unless the session is in its sudo window.
//! A new address that belongs to another account gets no mail, but the answer and the
//! pending state the settings page shows are the same, so the form cannot probe which
//! addresses have accounts.

use serde_json::json;

use crate::form::FieldError;

use super::sessions::Authenticated;
use super::{Auth, FlowError, RequestMeta, Revocation, audit};
use crate::crypto::TokenKind;
use crate::secret::SecretString;
use crate::store::{StoreError, normalize_email, sessions, tokens, users};

/// Problems with the form, by field.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChangeEmailErrors {
    /// Problems with the new address.
    pub email: Vec<FieldError>,
    /// Problems with the current password.
    pub current_password: Vec<FieldError>,
}

/// Asks to move the account to `new_email`: mails a confirmation link there.
///
/// ```no_run
/// # async fn demo(auth: &sigra_core::features::Auth, me: &sigra_core::features::sessions::Authenticated) {
/// use sigra_core::features::{RequestMeta, change_email};
/// let password = "current passphrase".into();
/// let _ = change_email::request(auth, me, "new@example.com", &password, &RequestMeta::default()).await;
/// # }
/// ```
pub async fn request(
    auth: &Auth,
    current: &Authenticated,
    new_email: &str,
    current_password: &SecretString,
    meta: &RequestMeta,
) -> Result<Result<String, ChangeEmailErrors>, FlowError> {
    let user = &current.user;
    let email = normalize_email(new_email);
    let mut errors = ChangeEmailErrors::default();
    if !super::registration::valid_email(&email) {
        errors.email.push(FieldError::new(
            "email_invalid",
            "Enter a valid email address, like name@example.com.",
        ));
    } else if email == user.email {
        errors.email.push(FieldError::new(
            "email_unchanged",
            "That is already your email address.",
        ));
    }
    if !current.sudo_active(auth) {
        let verification = auth
            .hasher
            .verify(current_password, user.hashed_password())
            .await?;
        // Counted toward lockout first, then judged, like a log-in (see `lockout`).
        let mut change = auth.change(meta).await?;
        let valid = verification.is_valid();
        let checked = super::lockout::check(auth, &mut change, user.id, valid).await?;
        change.commit(Revocation::None).await?;
        if !matches!(checked, super::lockout::Checked::Right(_)) {
            errors.current_password.push(FieldError::new(
                "current_password_wrong",
                "That is not your current password.",
            ));
        }
    }
    if !errors.email.is_empty() || !errors.current_password.is_empty() {
        return Ok(Err(errors));
    }
    let mut change = auth.change(meta).await?;
    // The pending change is stored either way, so the settings page shows the same
    // "waiting for confirmation" for a taken address as for a free one; a taken one gets
    // no link and can never be confirmed (the address is unique). At most one link goes
    // to an address per throttle window (the form must not become a way to flood any
    // inbox): a repeat within it keeps the link already sent.
    let now = auth.clock.now();
    let ex = change.tx();
    let kind = TokenKind::ChangeEmail;
    let already = tokens::latest_valid(ex, user.id, kind, now)
        .await?
        .and_then(|t| t.sent_to);
    let due = auth.mail_due(ex, "change_email", &email).await?;
    let free = users::find_by_email(ex, &email).await?.is_none();
    if already.as_deref() != Some(email.as_str()) || due {
        let ttl = auth.config.tokens.change_email_secs;
        let token = auth.emailed_token(ex, user.id, kind, &email, ttl).await?;
        if free && due {
            let path = format!("/settings/confirm-email/{}", token.as_str());
            change
                .mail_link("change_email", &email, ttl, &path, json!({}))
                .await?;
        }
    }
    let details = json!({ "new_email": email });
    change
        .audit(audit::CHANGE_EMAIL_REQUESTED, user.id, details)
        .await?;
    change.commit(Revocation::None).await?;
    Ok(Ok(email))
}

/// The address a change is pending to, if any.
pub async fn pending(auth: &Auth, user_id: uuid::Uuid) -> Result<Option<String>, FlowError> {
    let now = auth.clock.now();
    let token = tokens::latest_valid(&auth.db, user_id, TokenKind::ChangeEmail, now).await?;
    Ok(token.and_then(|t| t.sent_to))
}

/// How confirming an email change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfirmOutcome {
    /// The address changed; every session of the account ended.
    Changed,
    /// The link is unknown, used or expired.
    InvalidLink,
    /// Since the change was asked for, the new address came to belong to another
    /// account: nothing changed, and the link is used up.
    AddressTaken,
}

/// Confirms a change with its link: the email changes, every session of the account and
/// every outstanding token end, and the old address is told.
pub async fn confirm(
    auth: &Auth,
    token: &str,
    meta: &RequestMeta,
) -> Result<ConfirmOutcome, FlowError> {
    let now = auth.clock.now();
    let mut change = auth.change(meta).await?;
    let ex = change.tx();
    let Some(used) = change.use_link(TokenKind::ChangeEmail, token).await? else {
        return Ok(ConfirmOutcome::InvalidLink);
    };
    let (Some(user), Some(new_email)) = (users::find_by_id(ex, used.user_id).await?, used.sent_to)
    else {
        return Ok(ConfirmOutcome::InvalidLink);
    };
    if users::find_by_email(ex, &new_email).await?.is_some() {
        // Taken since the request: nothing changes but the used-up link.
        change.commit(Revocation::None).await?;
        return Ok(ConfirmOutcome::AddressTaken);
    }
    match users::set_email(ex, user.id, &new_email, now).await {
        Ok(_) => {}
        // Taken by a registration racing this one: nothing changes.
        Err(StoreError::Conflict) => return Ok(ConfirmOutcome::AddressTaken),
        Err(e) => return Err(e.into()),
    }
    sessions::delete_for_user(ex, user.id, None).await?;
    tokens::delete_for_user(ex, user.id, &[]).await?;
    users::confirm(ex, user.id, now).await?;
    #[cfg(feature = "admin")]
    super::admin::on_confirmed(auth, &change, user.id).await?;
    let data = json!({ "new_email": new_email });
    change.mail("email_changed", &user.email, data).await?;
    let details = json!({ "old_email": user.email, "new_email": new_email });
    change.audit(audit::CHANGE_EMAIL, user.id, details).await?;
    change.commit(Revocation::EndSessions).await?;
    Ok(ConfirmOutcome::Changed)
}

/// Cancels a pending change.
pub async fn cancel(
    auth: &Auth,
    current: &Authenticated,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    let user_id = current.user.id;
    let change = auth.change(meta).await?;
    tokens::delete_for_user(change.tx(), user_id, &[TokenKind::ChangeEmail]).await?;
    let action = audit::CHANGE_EMAIL_CANCELLED;
    change.audit(action, user_id, json!({})).await?;
    change.commit(Revocation::None).await
}
