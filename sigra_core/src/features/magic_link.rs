//! Magic-link log-in: a 15-minute, single-use link mailed on request.
//!
//! Requests answer the same for every address. The link opens a page whose button
//! POSTs; the log-in then finishes through [`login::complete`](super::login), like a
//! password log-in, so a later second factor applies to it too.

use super::login::{self, LoginOutcome};
use super::sessions::Authenticated;
use super::{Auth, EmailedLink, FlowError, RequestMeta, Revocation, audit, confirmation};
use crate::crypto::TokenKind;
use crate::store::users;

/// Mails a sign-in link to `email` if it has an account (at most once per throttle
/// window). Answers nothing: the response is the same for every address.
pub async fn request(auth: &Auth, email: &str, meta: &RequestMeta) -> Result<(), FlowError> {
    let link = EmailedLink {
        kind: TokenKind::MagicLink,
        ttl_secs: auth.config.tokens.magic_link_secs,
        path: "/magic-link/",
        mail: "magic_link",
        action: audit::MAGIC_LINK_REQUESTED,
    };
    auth.mail_link_if_known(email, &link, meta).await
}

/// Logs in with a magic link, using it up. Following the link proves the address, so
/// it also confirms the email.
pub async fn log_in(
    auth: &Auth,
    token: &str,
    remember_me: bool,
    previous: Option<&Authenticated>,
    trusted_browser: Option<&str>,
    meta: &RequestMeta,
) -> Result<LoginOutcome, FlowError> {
    let change = auth.change(meta).await?;
    let Some(used) = change.use_link(TokenKind::MagicLink, token).await? else {
        return Ok(LoginOutcome::InvalidCredentials);
    };
    // The link proves the address. On an account that never proved it, whoever set the
    // password and holds the sessions may not be its owner: all of them go.
    let first_proof = confirmation::address_proven(auth, &change, used.user_id, None, true).await?;
    let Some(user) = users::find_by_id(change.tx(), used.user_id).await? else {
        return Ok(LoginOutcome::InvalidCredentials);
    };
    let browser = login::Browser {
        remember_me,
        previous,
        trusted_browser,
    };
    let revocation = if first_proof {
        Revocation::EndSessions
    } else {
        Revocation::None
    };
    let action = audit::LOGIN_MAGIC_LINK;
    let proof = login::Proof::default();
    login::complete(auth, change, &user, browser, action, revocation, proof).await
}
