//! Why a Sigra guard failed: one stable reason, status and HTML answer per failure,
//! recorded on the request for the catchers.

use rocket::Request;
use rocket::http::Status;

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
    /// `ApiCaller`: a Bearer credential that is malformed, unknown, expired or forged.
    InvalidToken,
    /// `ApiCaller`: neither a Bearer credential nor a session.
    BearerRequired,
    /// `Scoped`: the credential lacks the route's scope.
    InsufficientScope,
    /// `ActiveOrganization`: the session acts in no organization (the account belongs to
    /// none), or in one it no longer belongs to.
    NoOrganization,
    /// `OrgAdmin` / `OrgOwner`: the caller's role in the active organization is too weak.
    OrganizationRoleRequired,
    /// `Admin`: the account is not a platform admin.
    AdminRequired,
    /// The request comes from an admin's impersonation session and asks for what an
    /// impersonation may not do (credentials, email, second factor, passkeys, API keys,
    /// deletion, sudo, the admin area).
    ImpersonationForbidden,
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
    pub const ALL: [GuardFailure; 17] = [
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
        GuardFailure::InvalidToken,
        GuardFailure::BearerRequired,
        GuardFailure::InsufficientScope,
        GuardFailure::NoOrganization,
        GuardFailure::OrganizationRoleRequired,
        GuardFailure::AdminRequired,
        GuardFailure::ImpersonationForbidden,
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
            GuardFailure::InvalidToken => "invalid_token",
            GuardFailure::BearerRequired => "not_authenticated",
            GuardFailure::InsufficientScope => "insufficient_scope",
            GuardFailure::NoOrganization => "no_active_organization",
            GuardFailure::OrganizationRoleRequired => "organization_role_required",
            GuardFailure::AdminRequired => "admin_required",
            GuardFailure::ImpersonationForbidden => "impersonation_forbidden",
        }
    }

    /// The status the failure answers with: 401 until the user is fully logged in, 403
    /// when logged in but not allowed, 429 rate limited, 503 store down.
    pub const fn status(self) -> Status {
        match self {
            GuardFailure::NotAuthenticated
            | GuardFailure::MfaRequired
            | GuardFailure::InvalidToken
            | GuardFailure::BearerRequired => Status::Unauthorized,
            GuardFailure::None
            | GuardFailure::InsufficientScope
            | GuardFailure::SudoRequired
            | GuardFailure::Unconfirmed
            | GuardFailure::DeletionScheduled
            | GuardFailure::MfaNotEnabled
            | GuardFailure::Csrf
            | GuardFailure::NoOrganization
            | GuardFailure::OrganizationRoleRequired
            | GuardFailure::AdminRequired
            | GuardFailure::ImpersonationForbidden => Status::Forbidden,
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
            | GuardFailure::Unavailable
            | GuardFailure::InvalidToken
            | GuardFailure::BearerRequired
            | GuardFailure::InsufficientScope
            | GuardFailure::NoOrganization
            | GuardFailure::OrganizationRoleRequired
            | GuardFailure::AdminRequired
            | GuardFailure::ImpersonationForbidden => HtmlAnswer::ErrorPage,
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
            GuardFailure::InvalidToken => {
                "The access token or API key is invalid, revoked or expired."
            }
            GuardFailure::BearerRequired => {
                "Send an access token in the Authorization header, or log in."
            }
            GuardFailure::InsufficientScope => "This credential does not allow that.",
            GuardFailure::NoOrganization => {
                "Choose an organization you belong to (on the organizations page) to continue."
            }
            GuardFailure::OrganizationRoleRequired => {
                "Your role in this organization does not allow that."
            }
            GuardFailure::AdminRequired => "This page is for administrators.",
            GuardFailure::ImpersonationForbidden => {
                "Not while acting as another account. Stop impersonating to do this."
            }
        }
    }

    /// The `WWW-Authenticate` challenge of a failure of `ApiCaller` or `Scoped` (RFC 6750
    /// §3; the `api` feature); those answer JSON to every request.
    pub const fn challenge(self) -> Option<&'static str> {
        match self {
            GuardFailure::InvalidToken => Some(r#"Bearer error="invalid_token""#),
            GuardFailure::BearerRequired => Some("Bearer"),
            GuardFailure::InsufficientScope => Some(r#"Bearer error="insufficient_scope""#),
            _ => None,
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
