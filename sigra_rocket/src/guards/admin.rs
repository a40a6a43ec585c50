//! The admin console's proofs: [`Admin`] (a platform admin's full session that is not
//! an impersonation), [`SudoAdmin`] (the same within the sudo window, for every admin
//! POST), and [`Impersonation`] (the request comes from an admin acting as the user).
//!
//! While impersonating, the session is refused by [`Admin`] and, through
//! [`impersonation_refusal`](super::impersonation_refusal), by every Sigra route that
//! changes a credential, the email, the second factor, passkeys, API keys, linked accounts
//! or the deletion, and by sudo: each answers 403 `impersonation_forbidden`.

use rocket::request::{FromRequest, Outcome};
use rocket::{Ignite, Request, Rocket, Sentinel};
use sigra_core::features::impersonation::{self, Acting};

use super::failure::{GuardFailure, record_failure};
use super::session::current_session;
use super::user::AuthenticatedUser;
use crate::state::{sentinel_abort, state};

fn fail<T>(request: &Request<'_>, failure: GuardFailure) -> Outcome<T, GuardFailure> {
    record_failure(request, failure);
    Outcome::Error((failure.status(), failure))
}

async fn admin(request: &Request<'_>, sudo: bool) -> Outcome<AuthenticatedUser, GuardFailure> {
    let user = match AuthenticatedUser::from_request(request).await {
        Outcome::Success(user) => user,
        Outcome::Error(e) => return Outcome::Error(e),
        Outcome::Forward(s) => return Outcome::Forward(s),
    };
    let Some(state) = state(request) else {
        return fail(request, GuardFailure::Unavailable);
    };
    let found = user.authenticated();
    if found.session.impersonator_id.is_some() {
        return fail(request, GuardFailure::ImpersonationForbidden);
    }
    if !found.user.is_admin {
        return fail(request, GuardFailure::AdminRequired);
    }
    if sudo && !found.sudo_active(&state.auth) {
        return fail(request, GuardFailure::SudoRequired);
    }
    Outcome::Success(user)
}

/// A platform admin (`sigra_users.is_admin`) with a full session that is not an
/// impersonation. Fails like [`AuthenticatedUser`] when not logged in, with 403
/// `admin_required` for other accounts and 403 `impersonation_forbidden` while
/// impersonating.
///
/// ```no_run
/// # #[macro_use] extern crate rocket;
/// use sigra_rocket::Admin;
///
/// #[get("/ops")]
/// fn ops(admin: Admin) -> String {
///     format!("hello admin {}", admin.email())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Admin(AuthenticatedUser);

/// [`Admin`] within the sudo window (403 `sudo_required` otherwise): what every admin
/// POST takes.
#[derive(Debug, Clone)]
pub struct SudoAdmin(AuthenticatedUser);

macro_rules! admin_guard {
    ($name:ident, $sudo:expr) => {
        impl $name {
            /// The admin's account and session.
            pub fn into_inner(self) -> AuthenticatedUser {
                self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = AuthenticatedUser;

            fn deref(&self) -> &AuthenticatedUser {
                &self.0
            }
        }

        #[rocket::async_trait]
        impl<'r> FromRequest<'r> for $name {
            type Error = GuardFailure;

            async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
                admin(request, $sudo).await.map($name)
            }
        }

        impl Sentinel for $name {
            fn abort(rocket: &Rocket<Ignite>) -> bool {
                sentinel_abort(rocket, stringify!($name))
            }
        }
    };
}

admin_guard!(Admin, false);
admin_guard!(SudoAdmin, true);

/// The request comes from an impersonation: an admin acting as the logged-in user.
/// Take `Option<Impersonation>` to show a banner; the guard forwards when the request is
/// not an impersonation.
///
/// ```no_run
/// # #[macro_use] extern crate rocket;
/// use sigra_rocket::{AuthenticatedUser, Impersonation};
///
/// #[get("/dashboard")]
/// fn dashboard(user: AuthenticatedUser, acting: Option<Impersonation>) -> String {
///     match acting {
///         Some(a) => format!("support is acting as {} ({})", user.email(), a.reason()),
///         None => format!("hello {}", user.email()),
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Impersonation(Acting);

impl Impersonation {
    /// The admin acting.
    pub fn impersonator_id(&self) -> uuid::Uuid {
        self.0.impersonator_id
    }

    /// The reason the admin gave.
    pub fn reason(&self) -> &str {
        &self.0.reason
    }

    /// When the impersonation ends at the latest.
    pub fn expires_at(&self) -> time::OffsetDateTime {
        self.0.expires_at
    }

    /// Everything known about it.
    pub fn acting(&self) -> &Acting {
        &self.0
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Impersonation {
    type Error = GuardFailure;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match current_session(request).await {
            Ok(Some(found)) => match impersonation::acting(&found) {
                Some(acting) => Outcome::Success(Impersonation(acting)),
                None => Outcome::Forward(rocket::http::Status::Forbidden),
            },
            Ok(None) => Outcome::Forward(rocket::http::Status::Unauthorized),
            Err(()) => fail(request, GuardFailure::Unavailable),
        }
    }
}

impl Sentinel for Impersonation {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        sentinel_abort(rocket, "Impersonation")
    }
}
