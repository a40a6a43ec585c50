//! The proofs a host route takes: [`AuthenticatedUser`], [`OptionalUser`], and the
//! stronger [`SudoUser`], [`ConfirmedUser`] and [`MfaUser`]. Each is a `Sentinel`, so a
//! missing fairing fails at launch.

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome};
use rocket::{Ignite, Request, Rocket, Sentinel};
use sigra_core::features::sessions::Authenticated;
use sigra_core::store::UserView;
use uuid::Uuid;

use super::failure::{GuardFailure, record_failure};
use super::session::current_session;
use crate::state::{SigraState, sentinel_abort, state};

/// Why a live session does not count as a full log-in, if it does not: the second
/// factor is owed (checked first), or the account's deletion is pending.
pub(crate) fn restriction(found: &Authenticated) -> Option<GuardFailure> {
    if found.mfa_pending() {
        return Some(GuardFailure::MfaRequired);
    }
    sigra_core::features::deletion::is_pending(&found.user)
        .then_some(GuardFailure::DeletionScheduled)
}

/// A request from a fully logged-in user. Fails with 401 when there is no session or
/// the session still owes the account's second factor (the catcher sends HTML requests
/// to the log-in page or the `/users/mfa` challenge), and with 403 when the account's
/// deletion is pending (the catcher sends HTML requests to the page that can cancel it).
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

    /// The account, without its secrets.
    pub fn user(&self) -> UserView {
        self.0.user.view()
    }

    /// The current session's id.
    pub fn session_id(&self) -> Uuid {
        self.0.session.id
    }

    /// The session and its user row (for Sigra's own flows).
    pub(crate) fn authenticated(&self) -> &Authenticated {
        &self.0
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AuthenticatedUser {
    type Error = GuardFailure;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match current_session(request).await {
            Ok(Some(found)) => match super::impersonation_refusal(request, &found)
                .or_else(|| restriction(&found))
            {
                None => Outcome::Success(AuthenticatedUser(found)),
                Some(failure) => {
                    record_failure(request, failure);
                    // A partial log-in is not authenticated yet (401); a pending deletion
                    // is authenticated but not allowed (403).
                    let status = if failure == GuardFailure::MfaRequired {
                        Status::Unauthorized
                    } else {
                        Status::Forbidden
                    };
                    Outcome::Error((status, failure))
                }
            },
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

/// The logged-in user, if any (a restricted session counts as none). Never fails (a
/// store failure answers 503).
#[derive(Debug, Clone)]
pub struct OptionalUser(pub(crate) Option<AuthenticatedUser>);

impl OptionalUser {
    /// The logged-in user, if any.
    pub fn user(&self) -> Option<&AuthenticatedUser> {
        self.0.as_ref()
    }

    /// The logged-in user, if any, by value.
    pub fn into_inner(self) -> Option<AuthenticatedUser> {
        self.0
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for OptionalUser {
    type Error = GuardFailure;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match current_session(request).await {
            Ok(found) => Outcome::Success(OptionalUser(
                found
                    .filter(|f| restriction(f).is_none())
                    .map(AuthenticatedUser),
            )),
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

/// [`AuthenticatedUser`] plus a further check: a check that answers a reason fails the
/// request with 403 and records that reason for the catcher.
async fn authenticated_and(
    request: &Request<'_>,
    check: impl FnOnce(&AuthenticatedUser, &SigraState) -> Option<GuardFailure>,
) -> Outcome<AuthenticatedUser, GuardFailure> {
    let user = match AuthenticatedUser::from_request(request).await {
        Outcome::Success(user) => user,
        Outcome::Error(e) => return Outcome::Error(e),
        Outcome::Forward(s) => return Outcome::Forward(s),
    };
    let Some(state) = state(request) else {
        return Outcome::Error((Status::ServiceUnavailable, GuardFailure::Unavailable));
    };
    match check(&user, state) {
        None => Outcome::Success(user),
        Some(failure) => {
            record_failure(request, failure);
            Outcome::Error((Status::Forbidden, failure))
        }
    }
}

/// A logged-in user who authenticated interactively within the sudo window (15 minutes
/// by default). Fails with 401 when not logged in, 403 (→ the sudo page) otherwise.
#[derive(Debug, Clone)]
pub struct SudoUser(AuthenticatedUser);

impl SudoUser {
    /// The user this proof is about.
    pub fn into_inner(self) -> AuthenticatedUser {
        self.0
    }
}

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
        authenticated_and(request, |user, state| {
            (!user.0.sudo_active(&state.auth)).then_some(GuardFailure::SudoRequired)
        })
        .await
        .map(SudoUser)
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
pub struct ConfirmedUser(AuthenticatedUser);

impl ConfirmedUser {
    /// The user this proof is about.
    pub fn into_inner(self) -> AuthenticatedUser {
        self.0
    }
}

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
        authenticated_and(request, |user, _| {
            user.0
                .user
                .confirmed_at
                .is_none()
                .then_some(GuardFailure::Unconfirmed)
        })
        .await
        .map(ConfirmedUser)
    }
}

impl Sentinel for ConfirmedUser {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        sentinel_abort(rocket, "ConfirmedUser")
    }
}

/// A logged-in user whose session passed a second factor (an authenticator or backup
/// code, or a browser trusted after one). Fails with 401 like [`AuthenticatedUser`], and
/// with 403 when the account has no second factor turned on (the catcher sends HTML
/// requests to the page that turns it on).
///
/// ```no_run
/// # #[macro_use] extern crate rocket;
/// use sigra_rocket::MfaUser;
///
/// #[post("/payouts")]
/// fn payouts(user: MfaUser) -> String {
///     format!("payout settings for {}", user.email())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct MfaUser(AuthenticatedUser);

impl MfaUser {
    /// The user this proof is about.
    pub fn into_inner(self) -> AuthenticatedUser {
        self.0
    }
}

impl std::ops::Deref for MfaUser {
    type Target = AuthenticatedUser;

    fn deref(&self) -> &AuthenticatedUser {
        &self.0
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for MfaUser {
    type Error = GuardFailure;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        // AuthenticatedUser already refused sessions that owe the second factor, so a
        // session here passed it exactly when the account has one.
        authenticated_and(request, |user, _| {
            user.0
                .user
                .mfa_enabled_at
                .is_none()
                .then_some(GuardFailure::MfaNotEnabled)
        })
        .await
        .map(MfaUser)
    }
}

impl Sentinel for MfaUser {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        sentinel_abort(rocket, "MfaUser")
    }
}
