//! Email confirmation: one mail carries a link and a 6-digit code; either confirms.
//!
//! The link opens a page whose button POSTs, so mail scanners that prefetch links
//! confirm nothing. The code is stored as a keyed hash of the user id and the code (six
//! digits alone would be a guessable hash) and is void after five wrong tries; an
//! account gets twenty tries a day across all its codes. Tries are counted before they
//! are judged (a conditional update decides), so concurrent guesses cannot add tries.

use serde_json::json;

use super::sessions::Authenticated;
use super::{Auth, Change, FlowError, RequestMeta, Revocation, audit};
use crate::crypto::{Purpose, Token, TokenHash, TokenKind};
use crate::store::{User, tokens, users};

/// Wrong codes before the code is void.
pub const MAX_CODE_ATTEMPTS: i32 = 5;

/// Codes an account may try per day, across every code resends bring (a resend makes a
/// new code with fresh tries every five minutes; this caps the total).
pub const MAX_CODE_ATTEMPTS_PER_DAY: i32 = 20;

fn code_hash(auth: &Auth, user_id: uuid::Uuid, code: &str) -> TokenHash {
    let message = format!("confirmation-code:{user_id}:{code}");
    TokenHash::from_bytes(auth.keys.sign(Purpose::Signing, message.as_bytes()))
}

/// Queues the confirmation mail (link and code) for `user` with `change`, replacing any
/// earlier link and code.
pub(crate) async fn send(
    auth: &Auth,
    change: &mut Change<'_>,
    user: &User,
) -> Result<(), FlowError> {
    let ttl = auth.config.tokens.confirmation_secs;
    let kind = TokenKind::Confirmation;
    let token = auth
        .emailed_token(change.tx(), user.id, kind, &user.email, ttl)
        .await?;
    let code = crate::crypto::token::numeric_code(6)?;
    let hash = code_hash(auth, user.id, code.expose());
    let kind = TokenKind::ConfirmationCode;
    auth.store_token(change.tx(), user.id, kind, &hash, &user.email, ttl)
        .await?;
    let path = format!("/confirm/{}", token.as_str());
    let data = json!({ "email": user.email, "code": code.expose() });
    change
        .mail_link("confirmation", &user.email, ttl, &path, data)
        .await
}

/// The owner proved they hold the account's address: a confirmation link or code, or a
/// magic link. The first such proof defeats account pre-hijacking, where someone
/// registered the address before its owner did and kept a session or a remember-me
/// cookie: every session and remember-me token of the account ends but `keep` (the
/// proving browser's own session, when it has one), and with `drop_password` the password
/// set before the proof goes too (the owner sets their own). Later proofs change nothing.
/// Answers whether this was the first proof: the caller then commits with
/// [`Revocation::EndSessions`].
pub(crate) async fn address_proven(
    auth: &Auth,
    change: &Change<'_>,
    user_id: uuid::Uuid,
    keep: Option<uuid::Uuid>,
    drop_password: bool,
) -> Result<bool, FlowError> {
    let now = auth.clock.now();
    let ex = change.tx();
    if users::confirm(ex, user_id, now).await? != 1 {
        return Ok(false);
    }
    #[cfg(feature = "admin")]
    super::admin::on_confirmed(auth, change, user_id).await?;
    super::sessions::end_others(ex, user_id, keep).await?;
    if drop_password {
        users::set_password_hash(ex, user_id, None, now).await?;
    }
    Ok(true)
}

/// A confirmed address.
#[derive(Debug)]
#[non_exhaustive]
pub struct Confirmed {
    /// When the request came from a session of the account: its new cookie value (the
    /// session gains rights, so its token is replaced).
    pub session_token: Option<Token>,
}

async fn mark_confirmed(
    auth: &Auth,
    change: &Change<'_>,
    user_id: uuid::Uuid,
    how: &str,
    current: Option<&Authenticated>,
) -> Result<Confirmed, FlowError> {
    let current = current.filter(|c| c.user.id == user_id);
    let keep = current.map(|c| c.session.id);
    let first = address_proven(auth, change, user_id, keep, false).await?;
    let ex = change.tx();
    let kinds = [TokenKind::Confirmation, TokenKind::ConfirmationCode];
    tokens::delete_for_user(ex, user_id, &kinds).await?;
    let details = json!({ "by": how, "first": first });
    change.audit(audit::CONFIRMATION, user_id, details).await?;
    let session_token = match current {
        Some(c) => Some(super::sessions::rotate_token(ex, &c.session, None, None).await?),
        None => None,
    };
    Ok(Confirmed { session_token })
}

/// Confirms the email a link was sent to. `current` is the requesting browser's session,
/// if any. Answers `None` when the link is not good.
pub async fn confirm_by_link(
    auth: &Auth,
    token: &str,
    current: Option<&Authenticated>,
    meta: &RequestMeta,
) -> Result<Option<Confirmed>, FlowError> {
    let change = auth.change(meta).await?;
    let Some(used) = change.use_link(TokenKind::Confirmation, token).await? else {
        return Ok(None);
    };
    let confirmed = mark_confirmed(auth, &change, used.user_id, "link", current).await?;
    change.commit(Revocation::EndSessions).await?;
    Ok(Some(confirmed))
}

/// Confirms `email` with the code mailed to it. Answers whether the code was right.
///
/// Every try is counted before it is judged, twice, by conditional updates: against the
/// code ([`MAX_CODE_ATTEMPTS`], then it is void) and against the account's daily
/// allowance ([`MAX_CODE_ATTEMPTS_PER_DAY`], across every code a resend brings). An
/// address without an account runs the same statements (they match no row) and commits
/// the same audit event, so it answers in the same time.
pub async fn confirm_by_code(
    auth: &Auth,
    email: &str,
    code: &str,
    current: Option<&Authenticated>,
    meta: &RequestMeta,
) -> Result<Option<Confirmed>, FlowError> {
    auth.retrying(|| async move {
        let code = code.trim();
        let now = auth.clock.now();
        let change = auth.change(meta).await?;
        let ex = change.tx();
        let user = users::find_by_email(ex, email).await?;
        let user_id = user.as_ref().map_or(uuid::Uuid::nil(), |u| u.id);
        let kind = TokenKind::ConfirmationCode;
        let per_code = tokens::count_attempt(ex, user_id, kind, MAX_CODE_ATTEMPTS, now).await?;
        let per_day =
            users::count_code_attempt(ex, user_id, MAX_CODE_ATTEMPTS_PER_DAY, now).await?;
        let counted = per_code && per_day;
        let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
        let hash = code_hash(auth, user_id, code);
        let used = if counted && well_formed {
            tokens::consume(ex, &hash, kind, now).await?
        } else {
            None
        };
        if used.is_some() {
            let confirmed = mark_confirmed(auth, &change, user_id, "code", current).await?;
            change.commit(Revocation::EndSessions).await?;
            return Ok(Some(confirmed));
        }
        tokens::void_spent(ex, user_id, kind, MAX_CODE_ATTEMPTS).await?;
        let target = user.map(|u| u.id);
        // `judged`: the try was counted and compared (not refused as out of tries).
        let details = json!({ "judged": counted });
        change
            .audit_by(audit::CONFIRMATION_FAILURE, None, target, details)
            .await?;
        change.commit(Revocation::None).await?;
        Ok(None)
    })
    .await
}

/// Sends a new link and code to an unconfirmed account, at most once per throttle window.
/// Answers nothing: the caller's response is the same for every address.
pub async fn resend(auth: &Auth, email: &str, meta: &RequestMeta) -> Result<(), FlowError> {
    let mut change = auth.change(meta).await?;
    let user = users::find_by_email(change.tx(), email).await?;
    let due = match &user {
        Some(u) if u.confirmed_at.is_none() => {
            !auth
                .throttled(change.tx(), u.id, TokenKind::Confirmation)
                .await?
        }
        _ => false,
    };
    match user {
        Some(user) if due => {
            send(auth, &mut change, &user).await?;
            let action = audit::CONFIRMATION_RESENT;
            change.audit(action, user.id, json!({})).await?;
            change.commit(Revocation::None).await?;
        }
        _ => {
            change.rollback().await?;
            auth.decoy_mail(
                "confirmation",
                email,
                json!({ "url": "", "code": "000000" }),
                audit::CONFIRMATION_RESENT,
                meta,
            )
            .await?;
        }
    }
    Ok(())
}
