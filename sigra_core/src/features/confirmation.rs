//! Email confirmation: one mail carries a link and a 6-digit code; either confirms.
//!
//! The link opens a page whose button POSTs, so mail scanners that prefetch links
//! confirm nothing. The code is stored as a keyed hash of the user id and the code (six
//! digits alone would be a guessable hash) and is void after five wrong tries; an
//! account gets twenty tries a day across all its codes. Tries are counted before they
//! are judged (a conditional update decides), so concurrent guesses cannot add tries.

use serde_json::json;

use super::sessions::Authenticated;
use super::{Auth, FlowError, RequestMeta, audit};
use crate::crypto::{Purpose, Token, TokenHash, TokenKind};
use crate::store::{Executor, User, tokens, users};

/// Wrong codes before the code is void.
pub const MAX_CODE_ATTEMPTS: i32 = 5;

/// Codes an account may try per day, across every code resends bring (a resend makes a
/// new code with fresh tries every five minutes; this caps the total).
pub const MAX_CODE_ATTEMPTS_PER_DAY: i32 = 20;

fn code_hash(auth: &Auth, user_id: uuid::Uuid, code: &str) -> TokenHash {
    let message = format!("confirmation-code:{user_id}:{code}");
    TokenHash::from_bytes(auth.keys.sign(Purpose::Signing, message.as_bytes()))
}

/// Queues the confirmation mail (link and code) for `user` in `ex`'s transaction,
/// replacing any earlier link and code.
pub(crate) async fn send(auth: &Auth, ex: &impl Executor, user: &User) -> Result<(), FlowError> {
    let ttl = auth.config.tokens.confirmation_secs;
    let token = auth
        .emailed_token(ex, user.id, TokenKind::Confirmation, &user.email, ttl)
        .await?;
    let code = crate::crypto::token::numeric_code(6)?;
    let hash = code_hash(auth, user.id, code.expose());
    auth.store_token(
        ex,
        user.id,
        TokenKind::ConfirmationCode,
        &hash,
        &user.email,
        ttl,
    )
    .await?;
    let context = json!({
        "email": user.email,
        "url": auth.route_url(&format!("/confirm/{}", token.as_str())),
        "code": code.expose(),
        "valid_for": "24 hours",
    });
    auth.queue_mail(ex, "confirmation", &user.email, context)
        .await?;
    Ok(())
}

/// Whether a confirmation link is still good (for its landing page; uses nothing up).
pub async fn link_valid(auth: &Auth, token: &str) -> Result<bool, FlowError> {
    let Ok(hash) = TokenHash::of_encoded(token) else {
        return Ok(false);
    };
    let now = auth.clock.now();
    Ok(
        tokens::find_valid(&auth.db, &hash, TokenKind::Confirmation, now)
            .await?
            .is_some(),
    )
}

/// The owner proved they hold the account's address: a confirmation link or code, or a
/// magic link. The first such proof defeats account pre-hijacking, where someone
/// registered the address before its owner did and kept a session or a remember-me
/// cookie: every session and remember-me token of the account ends but `keep` (the
/// proving browser's own session, when it has one), and with `drop_password` the password
/// set before the proof goes too (the owner sets their own). Later proofs change nothing.
/// Answers whether this was the first proof. The caller calls
/// [`Auth::sessions_revoked`] after committing when it was.
pub(crate) async fn address_proven(
    auth: &Auth,
    ex: &impl Executor,
    user_id: uuid::Uuid,
    keep: Option<uuid::Uuid>,
    drop_password: bool,
) -> Result<bool, FlowError> {
    let now = auth.clock.now();
    if users::confirm(ex, user_id, now).await? != 1 {
        return Ok(false);
    }
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
    ex: &impl Executor,
    user_id: uuid::Uuid,
    how: &str,
    current: Option<&Authenticated>,
    meta: &RequestMeta,
) -> Result<Confirmed, FlowError> {
    let current = current.filter(|c| c.user.id == user_id);
    let keep = current.map(|c| c.session.id);
    let first = address_proven(auth, ex, user_id, keep, false).await?;
    tokens::delete_for_user(
        ex,
        user_id,
        &[TokenKind::Confirmation, TokenKind::ConfirmationCode],
    )
    .await?;
    auth.audit(
        ex,
        audit::CONFIRMATION,
        Some(user_id),
        Some(user_id),
        json!({ "by": how, "first": first }),
        meta,
    )
    .await?;
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
    let Ok(hash) = TokenHash::of_encoded(token) else {
        return Ok(None);
    };
    let tx = auth.db.begin().await?;
    let Some(used) = tokens::consume(&tx, &hash, TokenKind::Confirmation, auth.clock.now()).await?
    else {
        return Ok(None);
    };
    let confirmed = mark_confirmed(auth, &tx, used.user_id, "link", current, meta).await?;
    tx.commit().await?;
    auth.sessions_revoked().await;
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
    let confirmed = auth
        .retrying(|| confirm_by_code_once(auth, email, code, current, meta))
        .await?;
    if confirmed.is_some() {
        auth.sessions_revoked().await;
    }
    Ok(confirmed)
}

async fn confirm_by_code_once(
    auth: &Auth,
    email: &str,
    code: &str,
    current: Option<&Authenticated>,
    meta: &RequestMeta,
) -> Result<Option<Confirmed>, FlowError> {
    let code = code.trim();
    let now = auth.clock.now();
    let tx = auth.db.begin().await?;
    let user = users::find_by_email(&tx, email).await?;
    let user_id = user.as_ref().map_or(uuid::Uuid::nil(), |u| u.id);
    let kind = TokenKind::ConfirmationCode;
    let per_code = tokens::count_attempt(&tx, user_id, kind, MAX_CODE_ATTEMPTS, now).await?;
    let per_day = users::count_code_attempt(&tx, user_id, MAX_CODE_ATTEMPTS_PER_DAY, now).await?;
    let counted = per_code && per_day;
    let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
    let hash = code_hash(auth, user_id, code);
    let used = if counted && well_formed {
        tokens::consume(&tx, &hash, kind, now).await?
    } else {
        None
    };
    let confirmed = if used.is_some() {
        Some(mark_confirmed(auth, &tx, user_id, "code", current, meta).await?)
    } else {
        tokens::void_spent(&tx, user_id, kind, MAX_CODE_ATTEMPTS).await?;
        let target = user.map(|u| u.id);
        // `judged`: the try was counted and compared (not refused as out of tries).
        auth.audit(
            &tx,
            audit::CONFIRMATION_FAILURE,
            None,
            target,
            json!({ "judged": counted }),
            meta,
        )
        .await?;
        None
    };
    tx.commit().await?;
    Ok(confirmed)
}

/// Sends a new link and code to an unconfirmed account, at most once per throttle window.
/// Answers nothing: the caller's response is the same for every address.
pub async fn resend(auth: &Auth, email: &str, meta: &RequestMeta) -> Result<(), FlowError> {
    let tx = auth.db.begin().await?;
    let user = users::find_by_email(&tx, email).await?;
    let due = match &user {
        Some(u) if u.confirmed_at.is_none() => {
            !auth.throttled(&tx, u.id, TokenKind::Confirmation).await?
        }
        _ => false,
    };
    match user {
        Some(user) if due => {
            send(auth, &tx, &user).await?;
            auth.audit(
                &tx,
                audit::CONFIRMATION_RESENT,
                Some(user.id),
                Some(user.id),
                json!({}),
                meta,
            )
            .await?;
            tx.commit().await?;
            auth.wake_worker();
        }
        _ => {
            tx.rollback().await?;
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
