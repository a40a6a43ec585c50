//! Request guards: [`AuthenticatedUser`], [`OptionalUser`], [`SudoUser`], the CSRF guards,
//! and [`ClientMeta`].
//!
//! A guard that cannot authenticate fails with a status (401 or 403), never a Forward;
//! Sigra's catchers turn that into a 303 to the log-in (or sudo) page for HTML requests
//! and a JSON body for JSON requests. The session is looked up at most once per request.
//!
//! Every proof keeps its fields private, so host code cannot make one up; it gets one
//! only from Rocket running the guard. Reading one is fine:
//!
//! ```
//! fn read(sudo: sigra_rocket::SudoUser, maybe: sigra_rocket::OptionalUser) -> Option<String> {
//!     let _user: sigra_rocket::AuthenticatedUser = sudo.into_inner();
//!     maybe.user().map(|u| u.email().to_owned())
//! }
//! ```
//!
//! Making one is not:
//!
//! ```compile_fail
//! fn forge(user: sigra_rocket::AuthenticatedUser) -> sigra_rocket::SudoUser {
//!     sigra_rocket::SudoUser(user)
//! }
//! ```
//!
//! ```compile_fail
//! fn forge() -> sigra_rocket::OptionalUser {
//!     sigra_rocket::OptionalUser(None)
//! }
//! ```
//!
//! ```compile_fail
//! fn forge<T>(form: T) -> sigra_rocket::CsrfForm<T> {
//!     sigra_rocket::CsrfForm(form)
//! }
//! ```

mod csrf;

pub(crate) use csrf::csrf_token_for_cached;
pub use csrf::{CsrfForm, CsrfToken, NoFields};

use rocket::http::{Method, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::{Ignite, Request, Rocket, Sentinel};
use sigra_core::features::RequestMeta;
use sigra_core::features::sessions::{self, Authenticated};
use sigra_core::rate_limit::Decision;
use sigra_core::store::UserView;
use uuid::Uuid;

use crate::fairing::SigraState;

/// Why a Sigra guard failed; read by the catchers to choose the answer.
///
/// Each variant has one stable JSON [`reason`](Self::reason) (DESIGN §4a; the table is in
/// `docs/reasons.md`), one [`status`](Self::status) and one HTML answer
/// ([`html`](Self::html)). Wording of pages and messages may change; reasons never do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GuardFailure {
    /// No guard failed.
    None,
    /// No live session.
    NotAuthenticated,
    /// Logged in, but the sudo window is closed.
    SudoRequired,
    /// Logged in, but the email is not confirmed.
    Unconfirmed,
    /// Logged in to an account whose deletion is pending: only cancelling it or logging
    /// out is allowed.
    DeletionScheduled,
    /// The first factor was proven but the account's second factor is still owed.
    MfaRequired,
    /// The route needs a second factor and the account has none turned on.
    MfaNotEnabled,
    /// Too many requests from this client.
    RateLimited,
    /// The CSRF check failed.
    Csrf,
    /// The store failed.
    Unavailable,
}

/// What an HTML request gets when a guard fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HtmlAnswer {
    /// A 303 to this page under Sigra's base path (for example `log_in` or
    /// `settings/delete`).
    Redirect(&'static str),
    /// An error page with the failure's status.
    ErrorPage,
}

impl GuardFailure {
    /// Every variant, in declaration order (for the reason table and its test).
    pub const ALL: [GuardFailure; 10] = [
        GuardFailure::None,
        GuardFailure::NotAuthenticated,
        GuardFailure::SudoRequired,
        GuardFailure::Unconfirmed,
        GuardFailure::DeletionScheduled,
        GuardFailure::MfaRequired,
        GuardFailure::MfaNotEnabled,
        GuardFailure::RateLimited,
        GuardFailure::Csrf,
        GuardFailure::Unavailable,
    ];

    /// The stable snake_case identifier a JSON client gets in `error`.
    /// [`GuardFailure::None`] answers `forbidden`: a 403 that no Sigra guard explained.
    pub const fn reason(self) -> &'static str {
        match self {
            GuardFailure::None => "forbidden",
            GuardFailure::NotAuthenticated => "not_authenticated",
            GuardFailure::SudoRequired => "sudo_required",
            GuardFailure::Unconfirmed => "unconfirmed",
            GuardFailure::DeletionScheduled => "deletion_scheduled",
            GuardFailure::MfaRequired => "mfa_required",
            GuardFailure::MfaNotEnabled => "mfa_not_enabled",
            GuardFailure::RateLimited => "too_many_attempts",
            GuardFailure::Csrf => "form_expired",
            GuardFailure::Unavailable => "busy",
        }
    }

    /// The status the failure answers with: 401 until the user is fully logged in, 403
    /// when logged in but not allowed, 429 rate limited, 503 store down.
    pub const fn status(self) -> Status {
        match self {
            GuardFailure::NotAuthenticated | GuardFailure::MfaRequired => Status::Unauthorized,
            GuardFailure::None
            | GuardFailure::SudoRequired
            | GuardFailure::Unconfirmed
            | GuardFailure::DeletionScheduled
            | GuardFailure::MfaNotEnabled
            | GuardFailure::Csrf => Status::Forbidden,
            GuardFailure::RateLimited => Status::TooManyRequests,
            GuardFailure::Unavailable => Status::ServiceUnavailable,
        }
    }

    /// Where an HTML request goes instead.
    pub const fn html(self) -> HtmlAnswer {
        match self {
            GuardFailure::NotAuthenticated => HtmlAnswer::Redirect("log_in"),
            GuardFailure::MfaRequired => HtmlAnswer::Redirect("mfa"),
            GuardFailure::SudoRequired => HtmlAnswer::Redirect("sudo"),
            GuardFailure::Unconfirmed => HtmlAnswer::Redirect("confirm"),
            GuardFailure::DeletionScheduled => HtmlAnswer::Redirect("settings/delete"),
            GuardFailure::MfaNotEnabled => HtmlAnswer::Redirect("settings/mfa"),
            GuardFailure::None
            | GuardFailure::RateLimited
            | GuardFailure::Csrf
            | GuardFailure::Unavailable => HtmlAnswer::ErrorPage,
        }
    }

    /// The English sentence a JSON client gets in `message` (wording may change).
    pub const fn message(self) -> &'static str {
        match self {
            GuardFailure::None => "You cannot do that.",
            GuardFailure::NotAuthenticated => "Log in to continue.",
            GuardFailure::SudoRequired => "Confirm your password to continue.",
            GuardFailure::Unconfirmed => "Confirm your email address to continue.",
            GuardFailure::DeletionScheduled => {
                "This account is scheduled for deletion. Cancel the deletion to continue."
            }
            GuardFailure::MfaRequired => "Enter the code from your authenticator app to continue.",
            GuardFailure::MfaNotEnabled => "Turn on two-step verification to continue.",
            GuardFailure::RateLimited => "Too many attempts. Wait, then try again.",
            GuardFailure::Csrf => {
                "This form has expired or came from another site. Go back, reload the page and try again."
            }
            GuardFailure::Unavailable => "We are busy right now. Try again in a few seconds.",
        }
    }
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
    type Error = GuardFailure;

    /// Also enforces the per-client-IP rate limit on every state-changing request
    /// (each Sigra POST takes this guard): over the limit, 429 with `Retry-After`.
    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let meta = meta(request);
        let Some(state) = state(request) else {
            return Outcome::Success(ClientMeta(meta));
        };
        let writes = !matches!(
            request.method(),
            Method::Get | Method::Head | Method::Options
        );
        if writes && state.auth.config.rate_limit.enabled {
            let endpoint = request
                .route()
                .map(|r| format!("{} {}", r.method, r.uri.path()))
                .unwrap_or_default();
            let client = client_key(client_ip(request));
            if let Decision::Limited { retry_after_secs } = state
                .rate_limiter
                .check(&format!("{client}|{endpoint}"))
                .await
            {
                request.local_cache(|| RetryAfter(retry_after_secs));
                record_failure(request, GuardFailure::RateLimited);
                return Outcome::Error((Status::TooManyRequests, GuardFailure::RateLimited));
            }
        }
        Outcome::Success(ClientMeta(meta))
    }
}

/// Seconds until a rate-limited client may try again (for the 429 catcher).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryAfter(pub u64);

/// The client IP: the socket peer, or — only when the peer is a configured trusted
/// proxy — the `X-Forwarded-For` client. Rocket's own `client_ip()` trusts `X-Real-IP`
/// from anyone, so Sigra does not use it.
pub(crate) fn client_ip(request: &Request<'_>) -> Option<std::net::IpAddr> {
    let socket = request.remote().map(|addr| addr.ip());
    let trusted = state(request)
        .map(|s| s.auth.config.rate_limit.trusted_proxies.as_slice())
        .unwrap_or(&[]);
    // A proxy may append its own header line instead of extending the client's: read
    // every line, in order, as one list (RFC 7230 §3.2.2), before walking it from the right.
    let forwarded = request
        .headers()
        .get("X-Forwarded-For")
        .collect::<Vec<_>>()
        .join(",");
    sigra_core::net::client_ip(
        socket,
        Some(forwarded.as_str()).filter(|f| !f.is_empty()),
        trusted,
    )
}

/// The limiter key of a client: its IPv4 address, or its IPv6 /64 (one subscriber's
/// prefix, which an attacker could otherwise rotate through).
fn client_key(ip: Option<std::net::IpAddr>) -> String {
    match ip {
        Some(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(v4) => v4.to_string(),
        None => "unknown".to_owned(),
    }
}

pub(crate) fn meta(request: &Request<'_>) -> RequestMeta {
    RequestMeta {
        ip: client_ip(request).map(|ip| ip.to_string()),
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

/// Why a live session does not count as a full log-in, if it does not: the second
/// factor is owed (checked first), or the account's deletion is pending.
fn restriction(found: &Authenticated) -> Option<GuardFailure> {
    if found.mfa_pending() {
        return Some(GuardFailure::MfaRequired);
    }
    sigra_core::features::deletion::is_pending(&found.user)
        .then_some(GuardFailure::DeletionScheduled)
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
            Ok(found) => Outcome::Success(LiveSession(found)),
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

fn sentinel_abort(rocket: &Rocket<Ignite>, guard: &str) -> bool {
    if rocket.state::<SigraState>().is_none() {
        log::error!(
            "`{guard}` is used, but the Sigra fairing is not attached: add `.attach(Sigra::fairing())`"
        );
        return true;
    }
    false
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
            Ok(Some(found)) => match restriction(&found) {
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
