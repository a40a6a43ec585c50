//! The caller of an API route: [`ApiCaller`] (a Bearer access token, a Bearer API key, or
//! the session cookie) and [`Scoped`] (the caller holds scope `S`).
//!
//! Bearer requests never read or write a cookie and need no CSRF token (a cross-site page
//! cannot set `Authorization`). A request without one falls back to the session cookie,
//! and then an unsafe method needs the `X-CSRF-Token` header like every JSON request of
//! a browser (DESIGN §4a). Missing or bad credentials answer 401 with
//! `WWW-Authenticate: Bearer` (RFC 6750) as JSON, never a redirect, even to a page
//! request.

use std::marker::PhantomData;

use rocket::http::Method;
use rocket::request::{FromRequest, Outcome};
use rocket::{Ignite, Request, Rocket, Sentinel};
use sigra_core::features::{api_keys, api_tokens};
use uuid::Uuid;

use super::csrf::{HEADER, verify};
use super::failure::{GuardFailure, record_failure};
use super::session::current_session;
use super::user::restriction;
use crate::state::{sentinel_abort, state};

/// The prefix of a personal API key.
const API_KEY_PREFIX: &str = "sigra_sk_";

/// How an [`ApiCaller`] authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Via {
    /// The session cookie of a browser (CSRF checked for unsafe methods).
    Session,
    /// A personal API key.
    ApiKey {
        /// The key's id.
        id: Uuid,
        /// The key's scopes.
        scopes: Vec<String>,
    },
    /// A JWT access token.
    AccessToken {
        /// The session (refresh family) the token belongs to.
        session_id: Uuid,
    },
}

impl Via {
    /// `"session"`, `"api_key"` or `"access_token"` (as `GET /users/api/me` says it).
    pub fn name(&self) -> &'static str {
        match self {
            Via::Session => "session",
            Via::ApiKey { .. } => "api_key",
            Via::AccessToken { .. } => "access_token",
        }
    }
}

/// Who calls an API route. Holds no secret; host code cannot construct one.
///
/// ```no_run
/// # #[macro_use] extern crate rocket;
/// use sigra_rocket::guards::ApiCaller;
///
/// #[get("/api/whoami")]
/// fn whoami(caller: ApiCaller) -> String {
///     format!("{} via {}", caller.user_id(), caller.via().name())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct ApiCaller {
    user_id: Uuid,
    email: Option<String>,
    via: Via,
    scopes: Vec<String>,
    organization_id: Option<Uuid>,
}

impl ApiCaller {
    /// The user's id.
    pub fn user_id(&self) -> Uuid {
        self.user_id
    }

    /// The user's email when the credential carried it (a session); access tokens are
    /// verified without the database and do not.
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }

    /// How the caller authenticated.
    pub fn via(&self) -> &Via {
        &self.via
    }

    /// The credential's scopes; empty for a session or a token with the user's full
    /// rights.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The organization an organization-owned API key acts in; `None` for any other
    /// credential.
    pub fn organization_id(&self) -> Option<Uuid> {
        self.organization_id
    }

    /// Whether the caller may act with `scope`: a session and an access token without
    /// scopes hold the user's full rights; otherwise the scope must be listed.
    pub fn has_scope(&self, scope: &str) -> bool {
        match &self.via {
            Via::Session => true,
            Via::AccessToken { .. } if self.scopes.is_empty() => true,
            _ => self.scopes.iter().any(|s| s == scope),
        }
    }
}

fn fail<T>(request: &Request<'_>, failure: GuardFailure) -> Outcome<T, GuardFailure> {
    record_failure(request, failure);
    Outcome::Error((failure.status(), failure))
}

/// The credential of an `Authorization: Bearer <credential>` header, `Err` for another
/// scheme; `None` when the header is absent.
pub(crate) fn bearer<'a>(request: &'a Request<'_>) -> Option<Result<&'a str, ()>> {
    let value = request.headers().get_one("Authorization")?;
    let (scheme, credential) = value.split_once(' ').unwrap_or((value, ""));
    let credential = credential.trim();
    if scheme.eq_ignore_ascii_case("Bearer") && !credential.is_empty() {
        Some(Ok(credential))
    } else {
        Some(Err(()))
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ApiCaller {
    type Error = GuardFailure;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let Some(state) = state(request) else {
            return fail(request, GuardFailure::Unavailable);
        };
        match bearer(request) {
            Some(Err(())) => fail(request, GuardFailure::InvalidToken),
            Some(Ok(key)) if key.starts_with(API_KEY_PREFIX) => {
                match api_keys::authenticate(&state.auth, key).await {
                    Ok(Some(caller)) => Outcome::Success(ApiCaller {
                        user_id: caller.user.id,
                        email: Some(caller.user.email),
                        via: Via::ApiKey {
                            id: caller.key_id,
                            scopes: caller.scopes.clone(),
                        },
                        scopes: caller.scopes,
                        organization_id: caller.organization_id,
                    }),
                    Ok(None) => fail(request, GuardFailure::InvalidToken),
                    Err(e) => {
                        log::error!("API key check failed ({}): {e}", e.reason());
                        fail(request, GuardFailure::Unavailable)
                    }
                }
            }
            Some(Ok(token)) => match api_tokens::authenticate(&state.auth, token).await {
                Ok(Some(caller)) => Outcome::Success(ApiCaller {
                    user_id: caller.user_id,
                    email: None,
                    via: Via::AccessToken {
                        session_id: caller.session_id,
                    },
                    scopes: caller.scopes,
                    organization_id: None,
                }),
                Ok(None) => fail(request, GuardFailure::InvalidToken),
                Err(e) => {
                    log::error!("access token check failed ({}): {e}", e.reason());
                    fail(request, GuardFailure::Unavailable)
                }
            },
            None => match current_session(request).await {
                Ok(Some(found)) => {
                    if let Some(failure) = restriction(&found) {
                        return fail(request, failure);
                    }
                    let safe = matches!(request.method(), Method::Get | Method::Head);
                    let submitted = request.headers().get_one(HEADER);
                    if !safe && verify(request, submitted).await != Ok(true) {
                        return fail(request, GuardFailure::Csrf);
                    }
                    Outcome::Success(ApiCaller {
                        user_id: found.user.id,
                        email: Some(found.user.email),
                        via: Via::Session,
                        scopes: Vec::new(),
                        organization_id: None,
                    })
                }
                Ok(None) => fail(request, GuardFailure::BearerRequired),
                Err(()) => fail(request, GuardFailure::Unavailable),
            },
        }
    }
}

impl Sentinel for ApiCaller {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        sentinel_abort(rocket, "ApiCaller")
    }
}

/// A scope a host declares for [`Scoped`].
///
/// ```
/// use sigra_rocket::guards::Scope;
///
/// /// May read invoices.
/// #[derive(Debug)]
/// struct ReadInvoices;
/// impl Scope for ReadInvoices {
///     const NAME: &'static str = "invoices:read";
/// }
/// ```
pub trait Scope: Send + Sync + 'static {
    /// The scope as credentials list it.
    const NAME: &'static str;
}

/// An [`ApiCaller`] holding scope `S`; fails with 403 `insufficient_scope` and
/// `WWW-Authenticate: Bearer error="insufficient_scope"` otherwise.
#[derive(Debug, Clone)]
pub struct Scoped<S: Scope> {
    caller: ApiCaller,
    scope: PhantomData<fn() -> S>,
}

impl<S: Scope> Scoped<S> {
    /// The caller.
    pub fn caller(&self) -> &ApiCaller {
        &self.caller
    }

    /// The caller, by value.
    pub fn into_inner(self) -> ApiCaller {
        self.caller
    }
}

#[rocket::async_trait]
impl<'r, S: Scope> FromRequest<'r> for Scoped<S> {
    type Error = GuardFailure;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let caller = match ApiCaller::from_request(request).await {
            Outcome::Success(caller) => caller,
            Outcome::Error(e) => return Outcome::Error(e),
            Outcome::Forward(s) => return Outcome::Forward(s),
        };
        if !caller.has_scope(S::NAME) {
            return fail(request, GuardFailure::InsufficientScope);
        }
        Outcome::Success(Scoped {
            caller,
            scope: PhantomData,
        })
    }
}

impl<S: Scope> Sentinel for Scoped<S> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        sentinel_abort(rocket, "Scoped")
    }
}

/// The body of an API token route: a JSON object read into `T`, after the per-client
/// rate limit (429 with `Retry-After`, before the body is read). No CSRF check: these
/// routes read no cookie, so a cross-site page gains nothing by calling them.
#[derive(Debug)]
pub(crate) struct ApiBody<T> {
    body: T,
    meta: sigra_core::features::RequestMeta,
}

impl<T> ApiBody<T> {
    /// The body and who sent it.
    pub(crate) fn into_parts(self) -> (T, sigra_core::features::RequestMeta) {
        (self.body, self.meta)
    }
}

#[rocket::async_trait]
impl<'r, T> rocket::data::FromData<'r> for ApiBody<T>
where
    T: serde::de::DeserializeOwned + Send + 'static,
{
    type Error = GuardFailure;

    async fn from_data(
        request: &'r Request<'_>,
        data: rocket::Data<'r>,
    ) -> rocket::data::Outcome<'r, Self> {
        use rocket::data::Outcome as DataOutcome;
        if super::client::rate_limited(request).await.is_some() {
            return DataOutcome::Error((
                rocket::http::Status::TooManyRequests,
                GuardFailure::RateLimited,
            ));
        }
        match rocket::serde::json::Json::<T>::from_data(request, data).await {
            DataOutcome::Success(json) => DataOutcome::Success(ApiBody {
                body: json.into_inner(),
                meta: super::client::meta(request),
            }),
            DataOutcome::Error((status, _)) => DataOutcome::Error((status, GuardFailure::None)),
            DataOutcome::Forward(f) => DataOutcome::Forward(f),
        }
    }
}

impl<T> Sentinel for ApiBody<T> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        sentinel_abort(rocket, "ApiBody")
    }
}
