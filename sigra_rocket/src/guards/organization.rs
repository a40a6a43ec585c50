//! The organization a request acts in: [`ActiveOrganization`], and the stronger
//! [`OrgAdmin`] and [`OrgOwner`]. Each reads the caller's membership from the database on
//! every request (see `sigra_core::features::organizations`), so a member removed
//! elsewhere is refused on their next request.
//!
//! A browser acts in its session's active organization (switched with
//! `POST /organizations/<slug>/switch`; by default the account's personal organization,
//! or else the first it joined). A Bearer API key owned by an organization acts in that
//! organization; other Bearer credentials act in the account's default one.

use rocket::request::{FromRequest, Outcome};
use rocket::{Ignite, Request, Rocket, Sentinel};
use sigra_core::features::FlowError;
use sigra_core::features::organizations::{self, Membership, Role};

#[cfg(feature = "api")]
use super::api::{ApiCaller, bearer};
use super::failure::{GuardFailure, record_failure};
use super::user::AuthenticatedUser;
use crate::state::{sentinel_abort, state};

fn fail<T>(request: &Request<'_>, failure: GuardFailure) -> Outcome<T, GuardFailure> {
    record_failure(request, failure);
    Outcome::Error((failure.status(), failure))
}

/// The active organization of the request with at least `min` as the caller's role.
async fn resolve(request: &Request<'_>, min: Role) -> Outcome<Membership, GuardFailure> {
    let Some(state) = state(request) else {
        return fail(request, GuardFailure::Unavailable);
    };
    let auth = &state.auth;
    // A Bearer credential (the `api` feature) acts in the organization it names.
    #[cfg(feature = "api")]
    if bearer(request).is_some() {
        let caller = match ApiCaller::from_request(request).await {
            Outcome::Success(caller) => caller,
            Outcome::Error(e) => return Outcome::Error(e),
            Outcome::Forward(s) => return Outcome::Forward(s),
        };
        let found =
            organizations::active_for(auth, caller.user_id(), caller.organization_id()).await;
        return with_role(request, found, min);
    }
    let user = match AuthenticatedUser::from_request(request).await {
        Outcome::Success(user) => user,
        Outcome::Error(e) => return Outcome::Error(e),
        Outcome::Forward(s) => return Outcome::Forward(s),
    };
    let found = organizations::active(auth, user.authenticated()).await;
    with_role(request, found, min)
}

/// The membership `found`, when the caller's role in it is at least `min`.
fn with_role(
    request: &Request<'_>,
    found: Result<Option<Membership>, FlowError>,
    min: Role,
) -> Outcome<Membership, GuardFailure> {
    match found {
        Ok(Some(membership)) if membership.role() >= min => Outcome::Success(membership),
        Ok(Some(_)) => fail(request, GuardFailure::OrganizationRoleRequired),
        Ok(None) => fail(request, GuardFailure::NoOrganization),
        Err(e) => {
            log::error!("organization check failed ({}): {e}", e.reason());
            fail(request, GuardFailure::Unavailable)
        }
    }
}

macro_rules! organization_guard {
    ($(#[$doc:meta])* $name:ident, $min:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(Membership);

        impl $name {
            /// The membership this proof is about.
            pub fn membership(&self) -> &Membership {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = Membership;

            fn deref(&self) -> &Membership {
                &self.0
            }
        }

        #[rocket::async_trait]
        impl<'r> FromRequest<'r> for $name {
            type Error = GuardFailure;

            async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
                resolve(request, $min).await.map($name)
            }
        }

        impl Sentinel for $name {
            fn abort(rocket: &Rocket<Ignite>) -> bool {
                sentinel_abort(rocket, stringify!($name))
            }
        }
    };
}

organization_guard!(
    /// A logged-in member acting in an organization: the session's active organization
    /// (or an organization API key's), with the caller's role. Fails like
    /// [`AuthenticatedUser`] when not logged in, and with 403 `no_active_organization`
    /// when the account belongs to no organization or no longer to the active one.
    ///
    /// ```no_run
    /// # #[macro_use] extern crate rocket;
    /// use sigra_rocket::ActiveOrganization;
    ///
    /// #[get("/dashboard")]
    /// fn dashboard(org: ActiveOrganization) -> String {
    ///     format!("{} ({})", org.name(), org.role().as_str())
    /// }
    /// ```
    ActiveOrganization,
    Role::Member
);

organization_guard!(
    /// [`ActiveOrganization`] where the caller is an admin or owner; 403
    /// `organization_role_required` otherwise.
    OrgAdmin,
    Role::Admin
);

organization_guard!(
    /// [`ActiveOrganization`] where the caller is an owner; 403
    /// `organization_role_required` otherwise.
    OrgOwner,
    Role::Owner
);
