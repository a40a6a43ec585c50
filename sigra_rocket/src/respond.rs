//! How Sigra answers: its pages (rendered with the common context), redirects, the
//! [`Reply`] of every route, the JSON-or-HTML choice, and the checked `return_to`.
//! A leaf: it reaches the request's state, session and CSRF token through
//! [`crate::state`] only.

use rocket::Request;
use rocket::http::{
    ContentType, Status,
    uri::fmt::{Query, UriDisplay},
};
use rocket::response::{Redirect, Responder};
#[cfg(feature = "admin")]
use sigra_core::features::admin::AdminError;
#[cfg(feature = "admin")]
use sigra_core::features::impersonation::ImpersonationError;
#[cfg(feature = "oauth")]
use sigra_core::features::oauth::OauthError;
#[cfg(feature = "organizations")]
use sigra_core::features::organizations::OrganizationError;
#[cfg(feature = "passkeys")]
use sigra_core::features::passkeys::PasskeyError;
use sigra_core::features::{FlowError, valid_for};
use sigra_core::net::is_local_path;
use tera::Context;

use crate::state::{cached_session, csrf_token_for_cached, state};

/// The context every page gets, under `sigra`. Built when the response is made, after
/// the guards ran: the session lookup is cached and a new pre-session cookie is pending.
pub(crate) fn base_context(request: &Request<'_>) -> Context {
    let mut context = Context::new();
    let Some(state) = state(request) else {
        return context;
    };
    let config = &state.auth.config;
    let tokens = &config.tokens;
    let token = csrf_token_for_cached(request, state).unwrap_or_default();
    let found = cached_session(request);
    let user = found
        .as_ref()
        .map(|a| serde_json::json!({ "email": a.user.email }));
    #[cfg(feature = "admin")]
    let acting = found
        .as_ref()
        .and_then(sigra_core::features::impersonation::acting)
        .map(|a| {
            serde_json::json!({
                "email": a.email,
                "reason": a.reason,
                "expires_at": sigra_core::features::human_time(a.expires_at),
            })
        });
    #[cfg(not(feature = "admin"))]
    let acting: Option<serde_json::Value> = None;
    let admin_link = cfg!(feature = "admin")
        && config.admin.enabled
        && found
            .as_ref()
            .is_some_and(|a| a.user.is_admin && a.session.impersonator_id.is_none());
    #[cfg(feature = "passkeys")]
    let passkeys = state.auth.webauthn.is_some();
    #[cfg(not(feature = "passkeys"))]
    let passkeys = false;
    #[cfg(feature = "oauth")]
    let oauth_providers = state.auth.oauth.list();
    #[cfg(not(feature = "oauth"))]
    let oauth_providers: Vec<serde_json::Value> = Vec::new();
    context.insert(
        "sigra",
        &serde_json::json!({
            "app_name": config.app_name,
            "base_path": config.base_path,
            "csrf_token": token,
            "current_user": user,
            // The impersonation the request comes from, for the banner.
            "impersonation": acting,
            "dev_mailbox": state.dev_mailbox.is_some(),
            // What the page may offer: built in (`capabilities`, the Cargo features) and
            // turned on (`features`).
            "capabilities": sigra_core::capabilities::BUILT,
            "features": {
                "reset_password": true,
                "magic_link": true,
                "passkeys": passkeys,
                "oauth": !oauth_providers.is_empty(),
                "organizations": cfg!(feature = "organizations") && config.organizations.enabled,
                "admin": admin_link,
            },
            // The social log-in providers, for the buttons.
            "oauth_providers": oauth_providers,
            // How long each emailed link lasts, in the words the mails use.
            "valid_for": {
                "confirmation": valid_for(tokens.confirmation_secs),
                "magic_link": valid_for(tokens.magic_link_secs),
                "reset_password": valid_for(tokens.reset_password_secs),
                "change_email": valid_for(tokens.change_email_secs),
            },
        }),
    );
    context
}

/// Renders one of Sigra's pages.
pub(crate) fn render(
    request: &Request<'_>,
    page: &str,
    context: &Context,
) -> Option<(ContentType, String)> {
    let state = state(request)?;
    match state.pages.render(page, context) {
        Ok(page) => Some(page),
        Err(e) => {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                message.push_str(": ");
                message.push_str(&s.to_string());
                source = s.source();
            }
            log::error!("rendering sigra/{page}.html failed: {message}");
            None
        }
    }
}

/// Why a route refused a request whose guards passed: a stable reason for JSON clients
/// (DESIGN §4a; listed in `docs/reasons.md` and [`REFUSALS`]), the status, and the
/// sentence a person reads. Pages show the sentence; rewording it never changes a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// Stable snake_case identifier.
    pub(crate) reason: &'static str,
    /// The status of the page and of the JSON answer.
    pub(crate) status: Status,
    /// What a person reads.
    pub(crate) message: &'static str,
}

impl Refusal {
    const fn new(reason: &'static str, status: Status, message: &'static str) -> Refusal {
        Refusal {
            reason,
            status,
            message,
        }
    }
}

/// A log-in whose email and password do not match an account.
pub(crate) const INVALID_CREDENTIALS: Refusal = Refusal::new(
    "invalid_credentials",
    Status::Unauthorized,
    "Invalid email or password.",
);
/// A log-in to an account whose email is not confirmed yet.
pub(crate) const UNCONFIRMED_LOGIN: Refusal = Refusal::new(
    "unconfirmed",
    Status::Forbidden,
    "Confirm your email address before logging in. We sent you a link and a code.",
);
/// A form whose fields did not pass validation (see `fields`).
pub(crate) const INVALID_FIELDS: Refusal = Refusal::new(
    "invalid_fields",
    Status::UnprocessableEntity,
    "Some fields need another look.",
);
/// An emailed link that is unknown, used or expired.
pub(crate) const INVALID_LINK: Refusal = Refusal::new(
    "invalid_link",
    Status::NotFound,
    "This link is invalid or has expired.",
);
/// A wrong password where the current one is asked for (sudo).
pub(crate) const INVALID_PASSWORD: Refusal = Refusal::new(
    "invalid_password",
    Status::Unauthorized,
    "That password is not right.",
);
/// A wrong or used one-time code (confirmation, second factor).
pub(crate) const INVALID_CODE: Refusal = Refusal::new(
    "invalid_code",
    Status::UnprocessableEntity,
    "That code is not right.",
);
/// A wrong or used code at the second-factor challenge.
pub(crate) const INVALID_MFA_CODE: Refusal = Refusal::new(
    "invalid_mfa_code",
    Status::Unauthorized,
    "That code is not right.",
);
/// Too many wrong second-factor codes: the codes are locked for a while.
pub(crate) const MFA_LOCKED: Refusal = Refusal::new(
    "mfa_locked",
    Status::TooManyRequests,
    "Too many wrong codes. Wait, then try again.",
);
/// An email change to an address that another account took meanwhile.
pub(crate) const EMAIL_TAKEN: Refusal = Refusal::new(
    "email_taken",
    Status::Conflict,
    "That address now belongs to another account.",
);

/// An API log-in's `mfa_token` that is unknown, used or expired.
#[cfg(feature = "api")]
pub(crate) const INVALID_MFA_TOKEN: Refusal = Refusal::new(
    "invalid_mfa_token",
    Status::Unauthorized,
    "This sign-in has expired. Send the email and password again.",
);
/// A refresh token that is unknown, spent, expired or whose session ended.
#[cfg(feature = "api")]
pub(crate) const INVALID_REFRESH_TOKEN: Refusal = Refusal::new(
    "invalid_refresh_token",
    Status::Unauthorized,
    "This refresh token is invalid or has expired. Log in again.",
);

/// A passkey flow's refusal, with the sentence the core gives it.
#[cfg(feature = "passkeys")]
pub(crate) const fn passkey_refusal(error: PasskeyError) -> Refusal {
    let status = match error {
        PasskeyError::Invalid | PasskeyError::CounterRegression => Status::Unauthorized,
        PasskeyError::CeremonyExpired => Status::BadRequest,
        PasskeyError::Duplicate | PasskeyError::LastMethod => Status::Conflict,
        PasskeyError::NotFound => Status::NotFound,
        PasskeyError::NameInvalid => Status::UnprocessableEntity,
        _ => Status::BadRequest,
    };
    Refusal::new(error.reason(), status, error.message())
}

/// A provider sign-in whose email belongs to an account it may not link by itself: the
/// owner signs in to that account first (any way), then links the provider account.
#[cfg(feature = "oauth")]
pub(crate) const OAUTH_ACCOUNT_EXISTS: Refusal = Refusal::new(
    "oauth_account_exists",
    Status::Conflict,
    "An account with this email address exists. Log in to it to link the provider account.",
);

/// A social log-in flow's refusal, with the sentence the core gives it.
#[cfg(feature = "oauth")]
pub(crate) const fn oauth_refusal(error: OauthError) -> Refusal {
    let status = match error {
        OauthError::UnknownProvider | OauthError::NotFound => Status::NotFound,
        OauthError::Denied
        | OauthError::ExchangeFailed
        | OauthError::TokenInvalid
        | OauthError::IdentityMismatch => Status::Unauthorized,
        OauthError::IdentityTaken | OauthError::LastMethod => Status::Conflict,
        OauthError::EmailMissing => Status::UnprocessableEntity,
        OauthError::ProviderUnavailable => Status::ServiceUnavailable,
        _ => Status::BadRequest,
    };
    Refusal::new(error.reason(), status, error.message())
}

/// An organization flow's refusal, with the sentence the core gives it.
#[cfg(feature = "organizations")]
pub(crate) const fn organization_refusal(error: OrganizationError) -> Refusal {
    let status = match error {
        OrganizationError::NotFound
        | OrganizationError::MemberNotFound
        | OrganizationError::InvitationNotFound
        | OrganizationError::InvitationInvalid => Status::NotFound,
        OrganizationError::Forbidden | OrganizationError::WrongAccount => Status::Forbidden,
        OrganizationError::InvitationLimit => Status::TooManyRequests,
        _ => Status::Conflict,
    };
    Refusal::new(error.reason(), status, error.message())
}

/// The refusal of an admin action.
#[cfg(feature = "admin")]
pub(crate) const fn admin_refusal(error: AdminError) -> Refusal {
    let status = match error {
        AdminError::NotFound => Status::NotFound,
        _ => Status::Conflict,
    };
    Refusal::new(error.reason(), status, error.message())
}

/// The refusal of an impersonation.
#[cfg(feature = "admin")]
pub(crate) const fn impersonation_refusal(error: ImpersonationError) -> Refusal {
    let status = match error {
        ImpersonationError::NotFound => Status::NotFound,
        ImpersonationError::ReasonRequired => Status::UnprocessableEntity,
        ImpersonationError::Nested | ImpersonationError::NotYourMember => Status::Forbidden,
        _ => Status::Conflict,
    };
    Refusal::new(error.reason(), status, error.message())
}

/// Every refusal a route can answer, for the reason table and its test (which needs every
/// capability).
#[cfg(all(
    test,
    feature = "passkeys",
    feature = "oauth",
    feature = "organizations",
    feature = "admin",
    feature = "api"
))]
pub(crate) const REFUSALS: [Refusal; 49] = [
    INVALID_CREDENTIALS,
    UNCONFIRMED_LOGIN,
    INVALID_FIELDS,
    INVALID_LINK,
    INVALID_PASSWORD,
    INVALID_CODE,
    INVALID_MFA_CODE,
    MFA_LOCKED,
    EMAIL_TAKEN,
    INVALID_MFA_TOKEN,
    INVALID_REFRESH_TOKEN,
    passkey_refusal(PasskeyError::Invalid),
    passkey_refusal(PasskeyError::CeremonyExpired),
    passkey_refusal(PasskeyError::CounterRegression),
    passkey_refusal(PasskeyError::Duplicate),
    passkey_refusal(PasskeyError::LastMethod),
    passkey_refusal(PasskeyError::NotFound),
    OAUTH_ACCOUNT_EXISTS,
    oauth_refusal(OauthError::Denied),
    oauth_refusal(OauthError::ProviderError),
    oauth_refusal(OauthError::StateInvalid),
    oauth_refusal(OauthError::FlowExpired),
    oauth_refusal(OauthError::ExchangeFailed),
    oauth_refusal(OauthError::TokenInvalid),
    oauth_refusal(OauthError::EmailMissing),
    oauth_refusal(OauthError::IdentityTaken),
    oauth_refusal(OauthError::IdentityMismatch),
    oauth_refusal(OauthError::LastMethod),
    oauth_refusal(OauthError::NotFound),
    oauth_refusal(OauthError::ProviderUnavailable),
    organization_refusal(OrganizationError::NotFound),
    organization_refusal(OrganizationError::Forbidden),
    organization_refusal(OrganizationError::LastOwner),
    organization_refusal(OrganizationError::MemberNotFound),
    organization_refusal(OrganizationError::InvitationNotFound),
    organization_refusal(OrganizationError::InvitationInvalid),
    organization_refusal(OrganizationError::WrongAccount),
    organization_refusal(OrganizationError::AccountExists),
    organization_refusal(OrganizationError::InvitationLimit),
    organization_refusal(OrganizationError::Personal),
    admin_refusal(AdminError::NotFound),
    admin_refusal(AdminError::SelfAction),
    admin_refusal(AdminError::TargetIsAdmin),
    impersonation_refusal(ImpersonationError::ReasonRequired),
    impersonation_refusal(ImpersonationError::NotFound),
    impersonation_refusal(ImpersonationError::SelfTarget),
    impersonation_refusal(ImpersonationError::TargetIsAdmin),
    impersonation_refusal(ImpersonationError::Nested),
    impersonation_refusal(ImpersonationError::NotYourMember),
];

/// A page, and what a JSON client gets in its place.
#[derive(Debug)]
pub(crate) struct Page {
    status: Status,
    template: &'static str,
    context: Context,
    /// Success: merged into `{"ok": true}`.
    data: serde_json::Map<String, serde_json::Value>,
    /// Failure: the JSON error and the status.
    refusal: Option<Refusal>,
    /// Failure: what is wrong with each field.
    fields: serde_json::Map<String, serde_json::Value>,
    /// Seconds until trying again makes sense (`Retry-After`).
    retry_after: Option<u64>,
}

/// What a Sigra route answers: to a page request a page or a 303; to a JSON request
/// (DESIGN §4a) `{"ok": true, …}`, `{"ok": true, "next": "<path>"}` in place of the
/// redirect, or `{"error", "message", "fields"}` with the refusal's status.
#[derive(Debug)]
pub enum Reply {
    /// A page (with its JSON counterpart).
    Page(Box<Page>),
    /// A 303 to a local path (JSON: `next`, plus what [`with`](Self::with) adds).
    Redirect(String, serde_json::Map<String, serde_json::Value>),
    /// `{"ok": true}` plus what [`with`](Self::with) adds, as JSON to every request: an
    /// answer only a script asks for (WebAuthn options).
    #[cfg_attr(not(feature = "passkeys"), allow(dead_code))]
    Data(serde_json::Map<String, serde_json::Value>),
    /// A failure the catchers answer (503 adds `Retry-After`).
    Error(Status),
}

impl Reply {
    /// Renders `template` with `context`, answering `status`; JSON gets `{"ok": true}`
    /// plus what [`with`](Self::with) adds.
    pub(crate) fn page(status: Status, template: &'static str, context: Context) -> Reply {
        Reply::Page(Box::new(Page {
            status,
            template,
            context,
            data: serde_json::Map::new(),
            refusal: None,
            fields: serde_json::Map::new(),
            retry_after: None,
        }))
    }

    /// Renders `template` with `context` and the refusal's status; JSON gets the
    /// refusal.
    pub(crate) fn refused(refusal: Refusal, template: &'static str, context: Context) -> Reply {
        Reply::Page(Box::new(Page {
            status: refusal.status,
            template,
            context,
            data: serde_json::Map::new(),
            refusal: Some(refusal),
            fields: serde_json::Map::new(),
            retry_after: None,
        }))
    }

    /// [`INVALID_FIELDS`] with the problems of each field (`errors`, as the page shows
    /// them, a map of field name to [`FieldError`](sigra_core::form::FieldError)s).
    pub(crate) fn invalid(
        template: &'static str,
        context: Context,
        errors: &impl serde::Serialize,
    ) -> Reply {
        Reply::refused(INVALID_FIELDS, template, context).invalid_fields(errors)
    }

    /// This page as [`INVALID_FIELDS`] with `errors` (a map of field name to
    /// [`FieldError`](sigra_core::form::FieldError)s; empty lists are left out).
    pub(crate) fn invalid_fields(mut self, errors: &impl serde::Serialize) -> Reply {
        if let Reply::Page(page) = &mut self {
            page.status = INVALID_FIELDS.status;
            page.refusal = Some(INVALID_FIELDS);
            if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(errors) {
                page.fields = fields
                    .into_iter()
                    .filter(|(_, v)| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
                    .map(|(k, v)| match v {
                        serde_json::Value::Array(_) => (k, v),
                        one => (k, serde_json::Value::Array(vec![one])),
                    })
                    .collect();
            }
        }
        self
    }

    /// This page as `refusal` (its status; JSON gets the refusal).
    #[cfg_attr(
        not(any(feature = "organizations", feature = "admin")),
        allow(dead_code)
    )]
    pub(crate) fn refusing(mut self, refusal: Refusal) -> Reply {
        if let Reply::Page(page) = &mut self {
            page.status = refusal.status;
            page.refusal = Some(refusal);
        }
        self
    }

    /// Adds `Retry-After: secs` to a page.
    pub(crate) fn retry_after(mut self, secs: u64) -> Reply {
        if let Reply::Page(page) = &mut self {
            page.retry_after = Some(secs);
        }
        self
    }

    /// Adds `key: value` to a JSON client's success answer.
    pub(crate) fn with(mut self, key: &str, value: impl serde::Serialize) -> Reply {
        let value = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        match &mut self {
            Reply::Page(page) => {
                page.data.insert(key.to_owned(), value);
            }
            Reply::Redirect(_, data) | Reply::Data(data) => {
                data.insert(key.to_owned(), value);
            }
            Reply::Error(_) => {}
        }
        self
    }

    /// Adds every field of `value` (a struct or map) to a JSON client's success answer.
    pub(crate) fn with_fields_of(self, value: &impl serde::Serialize) -> Reply {
        match serde_json::to_value(value) {
            Ok(serde_json::Value::Object(fields)) => fields
                .into_iter()
                .fold(self, |reply, (key, value)| reply.with(&key, value)),
            _ => self,
        }
    }

    /// `{"ok": true}` as JSON whatever the request asked for; add facts with
    /// [`with`](Self::with).
    #[cfg_attr(not(feature = "passkeys"), allow(dead_code))]
    pub(crate) fn data() -> Reply {
        Reply::Data(serde_json::Map::new())
    }

    /// A 303 to a local path.
    pub(crate) fn see_other(path: impl Into<String>) -> Reply {
        Reply::Redirect(path.into(), serde_json::Map::new())
    }

    /// Maps a flow failure: 503 (with `Retry-After`) when hashing is saturated or the
    /// database is out of reach for now, 500 otherwise (logged).
    pub(crate) fn failed(error: FlowError) -> Reply {
        if error.is_busy() {
            log::warn!("password hashing is saturated; answering 503");
            Reply::Error(Status::ServiceUnavailable)
        } else if error.is_unavailable() {
            log::warn!("sigra: the database is out of reach ({error}); answering 503");
            Reply::Error(Status::ServiceUnavailable)
        } else {
            log::error!("sigra flow failed ({}): {error}", error.reason());
            Reply::Error(Status::InternalServerError)
        }
    }
}

/// `Retry-After: secs`, on every 429 and 503 Sigra answers.
pub(crate) fn retry_after_header(secs: u64) -> rocket::http::Header<'static> {
    rocket::http::Header::new("Retry-After", secs.to_string())
}

/// The JSON error shape of DESIGN §4a.
pub(crate) fn json_error(
    reason: &str,
    message: &str,
    fields: Option<serde_json::Map<String, serde_json::Value>>,
) -> serde_json::Value {
    let mut body = serde_json::json!({ "error": reason, "message": message });
    if let Some(fields) = fields.filter(|f| !f.is_empty()) {
        body["fields"] = serde_json::Value::Object(fields);
    }
    body
}

impl<'r> Responder<'r, 'static> for Reply {
    fn respond_to(self, request: &'r Request<'_>) -> rocket::response::Result<'static> {
        let json = wants_json(request);
        match self {
            Reply::Page(page) if json => {
                let Page {
                    status,
                    data,
                    refusal,
                    fields,
                    retry_after,
                    ..
                } = *page;
                let body = match refusal {
                    Some(r) => json_error(r.reason, r.message, Some(fields)),
                    None => {
                        let mut body = serde_json::Map::new();
                        body.insert("ok".into(), true.into());
                        body.extend(data);
                        serde_json::Value::Object(body)
                    }
                };
                let mut response = (status, rocket::serde::json::Json(body)).respond_to(request)?;
                if let Some(secs) = retry_after {
                    response.set_header(retry_after_header(secs));
                }
                Ok(response)
            }
            Reply::Page(page) => {
                let Page {
                    status,
                    template,
                    context,
                    retry_after,
                    ..
                } = *page;
                let mut full = base_context(request);
                full.extend(context);
                let html = render(request, template, &full).ok_or(Status::InternalServerError)?;
                let mut response = html.respond_to(request)?;
                response.set_status(status);
                if let Some(secs) = retry_after {
                    response.set_header(retry_after_header(secs));
                }
                Ok(response)
            }
            Reply::Redirect(to, data) if json => {
                let mut body = serde_json::Map::new();
                body.insert("ok".into(), true.into());
                body.insert("next".into(), to.into());
                body.extend(data);
                rocket::serde::json::Json(serde_json::Value::Object(body)).respond_to(request)
            }
            Reply::Redirect(to, _) => Redirect::to(to).respond_to(request),
            Reply::Data(data) => {
                let mut body = serde_json::Map::new();
                body.insert("ok".into(), true.into());
                body.extend(data);
                rocket::serde::json::Json(serde_json::Value::Object(body)).respond_to(request)
            }
            // The catcher renders the page (and adds `Retry-After` to a 503).
            Reply::Error(status) => Err(status),
        }
    }
}

/// The page after an enumeration-sensitive request (forgot password, magic link,
/// resend): the same for every address.
pub(crate) fn email_sent(email: &str, purpose: &str) -> Reply {
    let mut context = Context::new();
    context.insert("email", email.trim());
    context.insert("purpose", purpose);
    Reply::page(Status::Ok, "email_sent", context)
}

/// A page reached from an emailed link: the token stays out of Referer headers, and a
/// dead link answers 404.
pub(crate) fn token_page(
    page: &'static str,
    token: &str,
    valid: bool,
    mut context: Context,
) -> Reply {
    context.insert("token", token);
    context.insert("valid", &valid);
    context.insert("referrer_policy", "no-referrer");
    if valid {
        Reply::page(Status::Ok, page, context).with("valid", true)
    } else {
        Reply::refused(INVALID_LINK, page, context)
    }
}

/// Whether `to` is a local path that a `Location` header can carry (checked before any
/// flow runs, so a bad value can never fail the answer after a session was issued).
fn redirectable(to: &str) -> bool {
    is_local_path(to) && rocket::http::uri::Origin::parse(to).is_ok()
}

/// The local path to go to after an action: `return_to` when it is safe, else `fallback`.
pub(crate) fn safe_return_to(return_to: Option<&str>, fallback: &str) -> String {
    match return_to {
        Some(to) if redirectable(to) => to.to_owned(),
        _ => fallback.to_owned(),
    }
}

/// Only safe `return_to` values are echoed into pages.
pub(crate) fn clean_return_to(return_to: Option<String>) -> Option<String> {
    return_to.filter(|to| redirectable(to))
}

/// Whether the client wants JSON rather than a page.
pub(crate) fn wants_json(request: &Request<'_>) -> bool {
    let accepts_json = request.accept().is_some_and(|a| a.preferred().is_json());
    let sends_json = request.content_type().is_some_and(|ct| ct.is_json());
    accepts_json || sends_json
}

/// Marks a response as made by one of Sigra's catchers.
struct AnsweredBySigra(bool);

/// Marks the response to this request as made by one of Sigra's catchers.
pub(crate) fn mark_answered_by_sigra(request: &Request<'_>) {
    request.local_cache(|| AnsweredBySigra(true));
}

/// Whether a response to this request came from one of Sigra's catchers (so it gets
/// Sigra's security headers).
pub(crate) fn answered_by_sigra(request: &Request<'_>) -> bool {
    request.local_cache(|| AnsweredBySigra(false)).0
}

/// `return_to` for the current request: its path and query, if that is a local path.
pub(crate) fn current_return_to(request: &Request<'_>) -> Option<String> {
    let uri = request.uri();
    let target = match uri.query() {
        Some(q) => format!("{}?{}", uri.path(), q),
        None => uri.path().to_string(),
    };
    is_local_path(&target).then_some(target)
}

fn encode(value: &str) -> String {
    format!("{}", &value as &dyn UriDisplay<Query>)
}

/// `<base>/<page>?return_to=…`
pub(crate) fn with_return_to(base: &str, page: &str, return_to: Option<&str>) -> String {
    match return_to {
        Some(to) => format!("{base}/{page}?return_to={}", encode(to)),
        None => format!("{base}/{page}"),
    }
}
