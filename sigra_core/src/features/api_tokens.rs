//! API tokens: a JSON log-in that answers a JWT access token and an opaque refresh token;
//! config section `sigra.api_tokens`.
//!
//! Algorithm. [`issue`] runs the HTML log-in itself ([`login::log_in`]: the same
//! enumeration-safe answers and timing, lockout, rehashing and audit), so the log-in
//! starts a session row: that session IS the refresh family, listed with the browser
//! sessions and revocable there. An account with a second factor gets a partial session
//! instead, living 5 minutes, whose token is the `mfa_token` the client sends back with
//! its code; the code is judged by [`mfa::verify`] (counted, locked after too many), which
//! rotates the session's token, so an `mfa_token` is good for one success. Then the
//! session's expiry becomes `refresh_ttl_secs` from now and the first refresh token is
//! stored in its family (hashed, `sigra_user_tokens` kind `api_refresh`). [`refresh`]
//! marks the presented token used (a conditional update: one winner) and stores the next
//! one; a spent token coming back means a copy exists, so the whole family and its
//! session end and `api_token.reuse_detected` is audited. Access tokens are Ed25519 JWTs
//! (see [`crate::crypto::jwt`]) verified without the database.
//!
//! Trade-off. An access token outlives the revocation of its session by up to
//! `access_ttl_secs` (15 minutes) unless `check_revocation` is on, which costs one cached
//! session lookup per request. A client that refreshes twice with the same token at once
//! ends its own family. A family has no idle timeout (the session row is marked
//! `refresh_family`): it ends `refresh_ttl_secs` after the log-in however often it is
//! refreshed, or when revoked.
//!
//! Failure mode. Any doubt about a token answers "invalid" (401), never a partial grant;
//! a refresh racing a replay on another instance may miss the token being written; the
//! next replay catches it.

use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::login::{self, LoginInput, LoginOutcome};
use super::{Auth, FlowError, RequestMeta, Revocation, audit, mfa};
use crate::crypto::jwt::Claims;
use crate::crypto::{Token, TokenHash, TokenKind, random_bytes};
use crate::secret::SecretString;
use crate::store::{Executor, new_id, sessions, tokens, users};

/// How long the `mfa_token` of a log-in that owes a second factor lives.
const MFA_TOKEN_SECS: i64 = 5 * 60;

/// What a client sent to `POST /users/api/token`.
#[derive(Debug, Clone)]
pub struct IssueInput {
    /// Email as typed.
    pub email: String,
    /// Password as typed (ignored on the second step).
    pub password: SecretString,
    /// The second-factor code (second step).
    pub code: Option<String>,
    /// The `mfa_token` of the first step (second step).
    pub mfa_token: Option<SecretString>,
    /// A name for the device, recorded in the audit event.
    pub device_name: Option<String>,
}

/// Fresh credentials for an API client.
#[derive(Debug)]
#[non_exhaustive]
pub struct Tokens {
    /// The JWT access token.
    pub access_token: SecretString,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The opaque refresh token (single use).
    pub refresh_token: Token,
    /// The session (refresh family) they belong to.
    pub session_id: Uuid,
}

/// How a token request ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum IssueOutcome {
    /// Logged in.
    Issued(Box<Tokens>),
    /// The password was right; send it again as `mfa_token` with the second-factor `code`.
    MfaRequired {
        /// Proof of the password, good for 5 minutes.
        mfa_token: Token,
    },
    /// Wrong email or password (indistinguishable on purpose).
    InvalidCredentials,
    /// `require_confirmation` is on and the email is unconfirmed.
    Unconfirmed,
    /// The account's deletion is pending: only the browser can cancel it.
    DeletionScheduled,
    /// The `mfa_token` is unknown, used or expired.
    InvalidMfaToken,
    /// The second-factor code is wrong or used.
    InvalidMfaCode,
    /// Too many wrong codes.
    MfaLocked {
        /// When codes are accepted again.
        until: OffsetDateTime,
    },
}

/// Who an access token speaks for. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessCaller {
    /// The user.
    pub user_id: Uuid,
    /// The session (refresh family) of the token.
    pub session_id: Uuid,
    /// The token's scopes (empty: the user's full rights).
    pub scopes: Vec<String>,
}

fn recipient(session_id: Uuid) -> String {
    format!("session:{session_id}")
}

fn issuer(auth: &Auth) -> &str {
    let config = &auth.config;
    config
        .api_tokens
        .issuer
        .as_deref()
        .unwrap_or(&config.public_url)
}

fn audience(auth: &Auth) -> &str {
    let config = &auth.config;
    config
        .api_tokens
        .audience
        .as_deref()
        .unwrap_or(&config.public_url)
}

/// Logs in for tokens: email and password first; when the account has a second factor,
/// the answer is [`IssueOutcome::MfaRequired`] and the client sends `mfa_token` and `code`.
pub async fn issue(
    auth: &Auth,
    input: &IssueInput,
    meta: &RequestMeta,
) -> Result<IssueOutcome, FlowError> {
    if let Some(mfa_token) = &input.mfa_token {
        let code = input.code.as_deref().unwrap_or_default();
        return second_factor(auth, mfa_token.expose(), code, input, meta).await;
    }
    let login = LoginInput {
        email: input.email.clone(),
        password: input.password.clone(),
        remember_me: false,
        trusted_browser: None,
    };
    match login::log_in(auth, &login, None, meta).await? {
        LoginOutcome::Success(issued) => {
            let session = &issued.session;
            finish(auth, session.user_id, session.id, input, meta).await
        }
        LoginOutcome::MfaRequired(issued) => {
            let now = auth.clock.now();
            let until = now + Duration::seconds(MFA_TOKEN_SECS);
            sessions::set_expiry(&auth.db, issued.session.id, until, now).await?;
            Ok(IssueOutcome::MfaRequired {
                mfa_token: issued.token,
            })
        }
        LoginOutcome::DeletionScheduled { issued, .. } => {
            let session = &issued.session;
            sessions::delete(&auth.db, session.user_id, session.id).await?;
            Ok(IssueOutcome::DeletionScheduled)
        }
        LoginOutcome::Unconfirmed { .. } => Ok(IssueOutcome::Unconfirmed),
        LoginOutcome::InvalidCredentials => Ok(IssueOutcome::InvalidCredentials),
    }
}

async fn second_factor(
    auth: &Auth,
    mfa_token: &str,
    code: &str,
    input: &IssueInput,
    meta: &RequestMeta,
) -> Result<IssueOutcome, FlowError> {
    // Only a partial session is a password proof; a full session's token mints nothing.
    let partial = super::sessions::authenticate(auth, mfa_token)
        .await?
        .filter(|found| found.mfa_pending());
    let Some(partial) = partial else {
        return Ok(IssueOutcome::InvalidMfaToken);
    };
    match mfa::verify(auth, &partial, code, false, meta).await? {
        mfa::ChallengeOutcome::Verified(_) => {
            let session = &partial.session;
            finish(auth, session.user_id, session.id, input, meta).await
        }
        mfa::ChallengeOutcome::Locked { until } => Ok(IssueOutcome::MfaLocked { until }),
        mfa::ChallengeOutcome::Invalid => Ok(IssueOutcome::InvalidMfaCode),
        _ => Ok(IssueOutcome::InvalidMfaToken),
    }
}

/// Turns a logged-in session into a refresh family: its expiry becomes the family's, its
/// first refresh token is stored, and an access token is signed.
async fn finish(
    auth: &Auth,
    user_id: Uuid,
    session_id: Uuid,
    input: &IssueInput,
    meta: &RequestMeta,
) -> Result<IssueOutcome, FlowError> {
    let now = auth.clock.now();
    let expires_at = now + Duration::seconds(auth.config.api_tokens.refresh_ttl_secs);
    // A name the client chose: bounded, so a body cannot fill the session or audit rows.
    let device_name: Option<String> = input
        .device_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| n.chars().take(64).collect());
    let change = auth.change(meta).await?;
    let tx = change.tx();
    sessions::make_refresh_family(tx, session_id, expires_at, now, device_name.as_deref()).await?;
    let refresh_token = store_refresh(auth, tx, user_id, session_id, expires_at, now).await?;
    let details = json!({ "session_id": session_id, "device_name": device_name });
    change
        .audit(audit::API_TOKEN_ISSUED, user_id, details)
        .await?;
    change.commit(Revocation::None).await?;
    let tokens = tokens_for(auth, user_id, session_id, refresh_token, now)?;
    Ok(IssueOutcome::Issued(Box::new(tokens)))
}

async fn store_refresh(
    auth: &Auth,
    ex: &impl Executor,
    user_id: Uuid,
    session_id: Uuid,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<Token, FlowError> {
    let token = Token::generate()?;
    let to = recipient(session_id);
    let new = tokens::NewToken {
        id: new_id(auth.clock.as_ref()),
        user_id,
        hash: &token.hash(),
        kind: TokenKind::ApiRefresh,
        sent_to: Some(&to),
        expires_at,
        created_at: now,
    };
    tokens::insert_remember(ex, &new, session_id).await?;
    Ok(token)
}

fn tokens_for(
    auth: &Auth,
    user_id: Uuid,
    session_id: Uuid,
    refresh_token: Token,
    now: OffsetDateTime,
) -> Result<Tokens, FlowError> {
    let ttl = auth.config.api_tokens.access_ttl_secs;
    let jti: [u8; 16] = random_bytes()?;
    let iat = now.unix_timestamp();
    let claims = Claims {
        iss: issuer(auth).to_owned(),
        aud: audience(auth).to_owned(),
        exp: iat + ttl,
        iat,
        nbf: iat,
        sub: user_id,
        jti: crate::crypto::to_hex(&jti),
        sid: session_id,
        scope: String::new(),
    };
    Ok(Tokens {
        access_token: SecretString::new(auth.jwt.sign(&claims)),
        expires_in: ttl,
        refresh_token,
        session_id,
    })
}

/// How a refresh ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum RefreshOutcome {
    /// A new access token and the next refresh token.
    Refreshed(Box<Tokens>),
    /// Unknown, expired, spent (the family then ended) or its session was revoked.
    Invalid,
}

/// Trades a refresh token for a new access token and the next refresh token (the
/// presented one is spent). A spent one coming back ends its family and session.
pub async fn refresh(
    auth: &Auth,
    refresh_token: &str,
    meta: &RequestMeta,
) -> Result<RefreshOutcome, FlowError> {
    let Ok(hash) = TokenHash::of_encoded(refresh_token) else {
        return Ok(RefreshOutcome::Invalid);
    };
    let now = auth.clock.now();
    let change = auth.change(meta).await?;
    let ex = change.tx();
    let used = tokens::find_in_family(ex, &hash, TokenKind::ApiRefresh).await?;
    let Some(used) = used.filter(|u| now < u.expires_at) else {
        change.rollback().await?;
        return Ok(RefreshOutcome::Invalid);
    };
    let family = used.family_id.unwrap_or(used.id);
    if used.used_at.is_some() || tokens::mark_remember_used(ex, used.id, now).await? != 1 {
        let ended = end_family(ex, used.user_id, family).await?;
        let details = json!({ "session_id": family, "sessions_ended": ended });
        change
            .audit_by(
                audit::API_TOKEN_REUSE_DETECTED,
                None,
                Some(used.user_id),
                details,
            )
            .await?;
        change.commit(Revocation::EndSessions).await?;
        log::warn!(
            "a spent refresh token of account {} was replayed; its family ended",
            used.user_id
        );
        return Ok(RefreshOutcome::Invalid);
    }
    let live = sessions::find_by_id(ex, family)
        .await?
        .filter(|(s, u)| s.user_id == used.user_id && now < s.expires_at && u.deleted_at.is_none());
    if live.is_none() {
        change.rollback().await?;
        return Ok(RefreshOutcome::Invalid);
    }
    sessions::touch(ex, family, now, Duration::ZERO).await?;
    let next = store_refresh(auth, ex, used.user_id, family, used.expires_at, now).await?;
    change.commit(Revocation::None).await?;
    let tokens = tokens_for(auth, used.user_id, family, next, now)?;
    Ok(RefreshOutcome::Refreshed(Box::new(tokens)))
}

/// Ends a refresh family: its session and every token in it. Answers how many sessions
/// ended.
async fn end_family(ex: &impl Executor, user_id: Uuid, family: Uuid) -> Result<u64, FlowError> {
    let ended = sessions::delete(ex, user_id, family).await?;
    tokens::delete_family(ex, user_id, TokenKind::ApiRefresh, family).await?;
    Ok(ended)
}

/// Revokes the family of `refresh_token` (spent or not) and its session. Answers whether
/// there was one; an unknown token is not an error (RFC 7009).
pub async fn revoke(
    auth: &Auth,
    refresh_token: &str,
    meta: &RequestMeta,
) -> Result<bool, FlowError> {
    let Ok(hash) = TokenHash::of_encoded(refresh_token) else {
        return Ok(false);
    };
    let change = auth.change(meta).await?;
    let ex = change.tx();
    let Some(found) = tokens::find_in_family(ex, &hash, TokenKind::ApiRefresh).await? else {
        change.rollback().await?;
        return Ok(false);
    };
    let family = found.family_id.unwrap_or(found.id);
    let ended = end_family(ex, found.user_id, family).await?;
    let details = json!({ "session_id": family, "sessions_ended": ended });
    change
        .audit(audit::API_TOKEN_REVOKED, found.user_id, details)
        .await?;
    change.commit(Revocation::EndSessions).await?;
    Ok(true)
}

/// The caller an access token speaks for, if it verifies (see [`crate::crypto::jwt`]).
/// Reads nothing unless `sigra.api_tokens.check_revocation` is on; then its session must
/// still be live (one lookup, kept in the session cache).
pub async fn authenticate(auth: &Auth, jwt: &str) -> Result<Option<AccessCaller>, FlowError> {
    let now = auth.clock.now();
    let verified = auth
        .jwt
        .verify(jwt, issuer(auth), audience(auth), now.unix_timestamp());
    let claims = match verified {
        Ok(claims) => claims,
        Err(e) => {
            log::debug!("access token refused: {}", e.reason());
            return Ok(None);
        }
    };
    if auth.config.api_tokens.check_revocation && !session_live(auth, claims.sid, now).await? {
        return Ok(None);
    }
    Ok(Some(AccessCaller {
        user_id: claims.sub,
        session_id: claims.sid,
        scopes: claims.scope.split_whitespace().map(str::to_owned).collect(),
    }))
}

/// Whether the session `sid` exists and has not expired, through the session cache
/// (keyed by a digest of the id, apart from cookie token hashes).
async fn session_live(auth: &Auth, sid: Uuid, now: OffsetDateTime) -> Result<bool, FlowError> {
    let mut message = b"sigra/v1/api-session\0".to_vec();
    message.extend_from_slice(sid.as_bytes());
    let key = TokenHash::from_bytes(auth.keys.sign(crate::crypto::Purpose::Signing, &message));
    let cache = &auth.session_cache;
    if let Some(found) = cache.get(&key) {
        return Ok(now < found.session.expires_at && !found.user.barred());
    }
    let ticket = cache.ticket();
    let Some((session, user)) = sessions::find_by_id(&auth.db, sid).await? else {
        return Ok(false);
    };
    let live = now < session.expires_at && !user.barred();
    if live {
        let found = super::sessions::Authenticated { session, user };
        cache.insert(&key, &found, ticket);
    }
    Ok(live)
}

/// The email of the account `user_id`, if it still exists (for `GET /users/api/me`).
pub async fn email_of(auth: &Auth, user_id: Uuid) -> Result<Option<String>, FlowError> {
    let user = users::find_by_id(&auth.db, user_id).await?;
    Ok(user.filter(|u| u.deleted_at.is_none()).map(|u| u.email))
}
