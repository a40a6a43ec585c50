//! The request's session: looked up once (falling back to the remember-me cookie, whose
//! restored cookies survive a catcher's answer), and the guards for the sessions that do
//! not count as a full log-in.

use rocket::Request;
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome};
use sigra_core::features::sessions::{self, Authenticated};

use super::client::{Impersonator, meta};
use super::failure::{GuardFailure, record_failure};
use crate::state::{Lookup, state};

/// The request's session, looked up once and cached for the rest of the request. A
/// missing or dead session cookie falls back to the remember-me cookie, which restores
/// a session and is rotated.
pub(crate) async fn current_session(request: &Request<'_>) -> Lookup {
    let found = lookup(request).await;
    if let Ok(Some(found)) = &found
        && let Some(admin) = found.session.impersonator_id
    {
        request.local_cache(Impersonator::default).set(admin);
    }
    found
}

async fn lookup(request: &Request<'_>) -> Lookup {
    // The common case without building (or moving) the database path's large future: a
    // session the cache holds. Both paths fill the same request-local value, so every
    // guard of the request sees one answer.
    if let Some(state) = state(request)
        && let Some(cookie) = request.cookies().get(&state.cookies.session)
        && let Some(found) = sessions::authenticate_cached(&state.auth, cookie.value())
    {
        return request.local_cache(|| Ok(Some(found))).clone();
    }
    Box::pin(lookup_from_store(request)).await
}

/// [`lookup`] through the store: the session cookie, else the remember-me cookie.
async fn lookup_from_store(request: &Request<'_>) -> Lookup {
    request
        .local_cache_async(async {
            let Some(state) = state(request) else {
                return Err(());
            };
            let jar = request.cookies();
            let auth = &state.auth;
            if let Some(cookie) = jar.get(&state.cookies.session) {
                match sessions::authenticate(auth, cookie.value()).await {
                    Ok(Some(found)) => return Ok(Some(found)),
                    Ok(None) => state.cookies.clear_session(jar),
                    Err(e) => {
                        log::error!("session lookup failed: {e}");
                        return Err(());
                    }
                }
                // An impersonation that ran out: the admin's own session comes back.
                #[cfg(feature = "admin")]
                if let Some(own) = state.cookies.take_impersonator(jar) {
                    return resume_admin(request, state, &own).await;
                }
            }
            let Some(remember) = jar
                .get(&state.cookies.remember)
                .map(|c| c.value().to_owned())
            else {
                return Ok(None);
            };
            let trusted = state.cookies.trusted_browser(jar);
            match sessions::restore(auth, &remember, trusted.as_deref(), &meta(request)).await {
                Ok(Some(issued)) => {
                    let mut cookies = vec![state.cookies.session_cookie(&issued.token)];
                    if let Some(token) = &issued.remember_token {
                        let left = issued.remember_expires_at.map(|end| end - auth.clock.now());
                        cookies.push(state.cookies.remember_cookie(token, left));
                    }
                    for cookie in &cookies {
                        jar.add(cookie.clone());
                    }
                    keep_restored_cookies(request, cookies);
                    match sessions::authenticate(auth, issued.token.as_str()).await {
                        Ok(found) => Ok(found),
                        Err(e) => {
                            log::error!("session lookup failed: {e}");
                            Err(())
                        }
                    }
                }
                Ok(None) => {
                    state.cookies.clear_auth(jar);
                    Ok(None)
                }
                Err(e) => {
                    log::error!("remember-me restore failed: {e}");
                    Err(())
                }
            }
        })
        .await
        .clone()
}

/// The admin's own session after their impersonation expired: `own` (the kept cookie)
/// gets a new token, set as the session cookie (and kept for a catcher's answer).
#[cfg(feature = "admin")]
async fn resume_admin(
    request: &Request<'_>,
    state: &crate::state::SigraState,
    own: &str,
) -> Lookup {
    let auth = &state.auth;
    let token = match sigra_core::features::impersonation::resume(auth, own, &meta(request)).await {
        Ok(Some(token)) => token,
        Ok(None) => return Ok(None),
        Err(e) => {
            log::error!("session lookup failed: {e}");
            return Err(());
        }
    };
    let cookie = state.cookies.session_cookie(&token);
    request.cookies().add(cookie.clone());
    keep_restored_cookies(request, vec![cookie]);
    match sessions::authenticate(auth, token.as_str()).await {
        Ok(found) => Ok(found),
        Err(e) => {
            log::error!("session lookup failed: {e}");
            Err(())
        }
    }
}

/// The cookies a remember-me restore issued during this request. Rocket drops the
/// cookie jar's changes when a catcher answers (a guard failure, a 404), but the old
/// remember-me token is already spent: Sigra's response fairing sets these again on
/// every response that lacks them, or the browser would be logged out and an orphan
/// session left behind.
#[derive(Debug, Default)]
pub(crate) struct RestoredCookies(std::sync::Mutex<Vec<rocket::http::Cookie<'static>>>);

impl RestoredCookies {
    /// The cookies, taken out (each is set once).
    pub(crate) fn take(&self) -> Vec<rocket::http::Cookie<'static>> {
        self.0
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default()
    }
}

fn keep_restored_cookies(request: &Request<'_>, cookies: Vec<rocket::http::Cookie<'static>>) {
    let kept = request.local_cache(RestoredCookies::default);
    if let Ok(mut kept) = kept.0.lock() {
        kept.extend(cookies);
    }
}

/// Any live session, full or restricted (a pending deletion): for the few routes such a
/// session may use (log out, cancel the deletion) and for ending the previous session at
/// log-in. Never fails (a store failure answers 503).
#[derive(Debug, Clone)]
pub(crate) struct LiveSession(pub Option<Authenticated>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for LiveSession {
    type Error = GuardFailure;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match current_session(request).await {
            Ok(found) => {
                if let Some(refused) = found
                    .as_ref()
                    .and_then(|f| super::impersonation_refusal(request, f))
                {
                    record_failure(request, refused);
                    return Outcome::Error((refused.status(), refused));
                }
                Outcome::Success(LiveSession(found))
            }
            Err(()) => {
                record_failure(request, GuardFailure::Unavailable);
                Outcome::Error((Status::ServiceUnavailable, GuardFailure::Unavailable))
            }
        }
    }
}

/// A live session that owes no second factor: full, or restricted by a pending deletion.
/// For the pages such a restricted session may use (the deletion page and its cancel
/// button); a session that still owes the second factor fails with 401 and is sent to
/// the challenge first, no session with 401 to the log-in page.
#[derive(Debug, Clone)]
pub(crate) struct SecondFactorPassed(Authenticated);

impl SecondFactorPassed {
    /// The session and its user.
    pub(crate) fn authenticated(&self) -> &Authenticated {
        &self.0
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SecondFactorPassed {
    type Error = GuardFailure;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let failure = match current_session(request).await {
            Ok(Some(found)) if !found.mfa_pending() => {
                if let Some(refused) = super::impersonation_refusal(request, &found) {
                    record_failure(request, refused);
                    return Outcome::Error((refused.status(), refused));
                }
                return Outcome::Success(SecondFactorPassed(found));
            }
            Ok(Some(_)) => GuardFailure::MfaRequired,
            Ok(None) => GuardFailure::NotAuthenticated,
            Err(()) => {
                record_failure(request, GuardFailure::Unavailable);
                return Outcome::Error((Status::ServiceUnavailable, GuardFailure::Unavailable));
            }
        };
        record_failure(request, failure);
        Outcome::Error((Status::Unauthorized, failure))
    }
}
