//! Request guards: [`AuthenticatedUser`], [`OptionalUser`], [`SudoUser`], the CSRF guards,
//! and [`ClientMeta`].
//!
//! A guard that cannot authenticate fails with a status (401 or 403), never a Forward;
//! Sigra's catchers turn that into a 303 to the log-in (or sudo) page for HTML requests
//! and a JSON body for JSON requests. The session is looked up at most once per request.

mod csrf;

pub(crate) use csrf::csrf_token_for_cached;
pub use csrf::{CsrfForm, CsrfToken, NoFields};

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome};
use rocket::{Ignite, Request, Rocket, Sentinel};
use sigra_core::features::RequestMeta;
use sigra_core::features::sessions::{self, Authenticated};
use sigra_core::store::User;
use uuid::Uuid;

use crate::fairing::SigraState;

/// Why a Sigra guard failed; read by the catchers to choose the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardFailure {
    /// No guard failed.
    None,
    /// No live session.
    NotAuthenticated,
    /// Logged in, but the sudo window is closed.
    SudoRequired,
    /// Logged in, but the email is not confirmed.
    Unconfirmed,
    /// The CSRF check failed.
    Csrf,
    /// The store failed.
    Unavailable,
}

pub(crate) fn record_failure(request: &Request<'_>, failure: GuardFailure) {
    let cell = request.local_cache(|| std::sync::Mutex::new(GuardFailure::None));
    if let Ok(mut f) = cell.lock() {
        *f = failure;
    }
}

pub(crate) fn failure(request: &Request<'_>) -> GuardFailure {
    let cell = request.local_cache(|| std::sync::Mutex::new(GuardFailure::None));
    cell.lock().map(|f| *f).unwrap_or(GuardFailure::None)
}

pub(crate) fn state<'r>(request: &'r Request<'_>) -> Option<&'r SigraState> {
    request.rocket().state::<SigraState>()
}

/// The client's IP (from the socket unless Rocket's `ip_header` is configured) and user agent.
#[derive(Debug, Clone)]
pub struct ClientMeta(pub RequestMeta);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientMeta {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(ClientMeta(meta(request)))
    }
}

pub(crate) fn meta(request: &Request<'_>) -> RequestMeta {
    RequestMeta {
        ip: request.remote().map(|addr| addr.ip().to_string()),
        user_agent: request.headers().get_one("User-Agent").map(str::to_owned),
    }
}

type Lookup = Result<Option<Authenticated>, ()>;

/// The request's session, looked up once and cached for the rest of the request. A
/// missing or dead session cookie falls back to the remember-me cookie, which restores
/// a session and is rotated.
pub(crate) async fn current_session(request: &Request<'_>) -> Lookup {
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
            }
            let Some(remember) = jar
                .get(&state.cookies.remember)
                .map(|c| c.value().to_owned())
            else {
                return Ok(None);
            };
            match sessions::restore(auth, &remember, &meta(request)).await {
                Ok(Some(issued)) => {
                    state.cookies.set_session(jar, &issued.token);
                    if let Some(token) = &issued.remember_token {
                        state.cookies.set_remember(jar, token);
                    }
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

fn sentinel_abort(rocket: &Rocket<Ignite>, guard: &str) -> bool {
    if rocket.state::<SigraState>().is_none() {
        log::error!(
            "`{guard}` is used, but the Sigra fairing is not attached: add `.attach(Sigra::fairing())`"
        );
        return true;
    }
    false
}

/// A request from a logged-in user. Fails with 401 otherwise.
///
/// ```no_run
/// # #[macro_use] extern crate rocket;
/// use sigra_rocket::AuthenticatedUser;
///
/// #[get("/dashboard")]
/// fn dashboard(user: AuthenticatedUser) -> String {
///     format!("hello {}", user.email())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct AuthenticatedUser(pub(crate) Authenticated);

impl AuthenticatedUser {
    /// The user's id.
    pub fn id(&self) -> Uuid {
        self.0.user.id
    }

    /// The user's (normalized) email.
    pub fn email(&self) -> &str {
        &self.0.user.email
    }

    /// The whole user record.
    pub fn user(&self) -> &User {
        &self.0.user
    }

    /// The current session's id.
    pub fn session_id(&self) -> Uuid {
        self.0.session.id
    }

    /// The session and its user.
    pub fn authenticated(&self) -> &Authenticated {
        &self.0
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AuthenticatedUser {
    type Error = GuardFailure;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match current_session(request).await {
            Ok(Some(found)) => Outcome::Success(AuthenticatedUser(found)),
            Ok(None) => {
                record_failure(request, GuardFailure::NotAuthenticated);
                Outcome::Error((Status::Unauthorized, GuardFailure::NotAuthenticated))
            }
            Err(()) => {
                record_failure(request, GuardFailure::Unavailable);
                Outcome::Error((Status::ServiceUnavailable, GuardFailure::Unavailable))
            }
        }
    }
}

impl Sentinel for AuthenticatedUser {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        sentinel_abort(rocket, "AuthenticatedUser")
    }
}

/// The logged-in user, if any. Never fails (a store failure answers 503).
#[derive(Debug, Clone)]
pub struct OptionalUser(pub Option<AuthenticatedUser>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for OptionalUser {
    type Error = GuardFailure;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match current_session(request).await {
            Ok(found) => Outcome::Success(OptionalUser(found.map(AuthenticatedUser))),
            Err(()) => {
                record_failure(request, GuardFailure::Unavailable);
                Outcome::Error((Status::ServiceUnavailable, GuardFailure::Unavailable))
            }
        }
    }
}

impl Sentinel for OptionalUser {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        sentinel_abort(rocket, "OptionalUser")
    }
}

/// A logged-in user who authenticated interactively within the sudo window (15 minutes
/// by default). Fails with 401 when not logged in, 403 (→ the sudo page) otherwise.
#[derive(Debug, Clone)]
pub struct SudoUser(pub AuthenticatedUser);

impl std::ops::Deref for SudoUser {
    type Target = AuthenticatedUser;

    fn deref(&self) -> &AuthenticatedUser {
        &self.0
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SudoUser {
    type Error = GuardFailure;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let user = match AuthenticatedUser::from_request(request).await {
            Outcome::Success(user) => user,
            Outcome::Error(e) => return Outcome::Error(e),
            Outcome::Forward(s) => return Outcome::Forward(s),
        };
        let Some(state) = state(request) else {
            return Outcome::Error((Status::ServiceUnavailable, GuardFailure::Unavailable));
        };
        if user.0.sudo_active(&state.auth) {
            Outcome::Success(SudoUser(user))
        } else {
            record_failure(request, GuardFailure::SudoRequired);
            Outcome::Error((Status::Forbidden, GuardFailure::SudoRequired))
        }
    }
}

impl Sentinel for SudoUser {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        sentinel_abort(rocket, "SudoUser")
    }
}

/// A logged-in user whose email is confirmed. Fails with 401 when not logged in, 403
/// (→ the confirmation page) when unconfirmed.
#[derive(Debug, Clone)]
pub struct ConfirmedUser(pub AuthenticatedUser);

impl std::ops::Deref for ConfirmedUser {
    type Target = AuthenticatedUser;

    fn deref(&self) -> &AuthenticatedUser {
        &self.0
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ConfirmedUser {
    type Error = GuardFailure;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let user = match AuthenticatedUser::from_request(request).await {
            Outcome::Success(user) => user,
            Outcome::Error(e) => return Outcome::Error(e),
            Outcome::Forward(s) => return Outcome::Forward(s),
        };
        if user.user().confirmed_at.is_some() {
            Outcome::Success(ConfirmedUser(user))
        } else {
            record_failure(request, GuardFailure::Unconfirmed);
            Outcome::Error((Status::Forbidden, GuardFailure::Unconfirmed))
        }
    }
}

impl Sentinel for ConfirmedUser {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        sentinel_abort(rocket, "ConfirmedUser")
    }
}
