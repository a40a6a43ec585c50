//! Sigra's routes, one module per feature (the same names as `sigra_core::features`).

pub mod assets;
pub mod backup_codes;
pub mod change_email;
pub mod change_password;
pub mod confirmation;
pub mod data_export;
pub mod deletion;
pub mod dev_mailbox;
pub mod lockout;
pub mod login;
pub mod logout;
pub mod magic_link;
pub mod mfa_totp;
pub mod registration;
pub mod reset_password;
pub mod sessions;
pub mod set_password;
pub mod sudo;

use rocket::http::{ContentType, Status};
use rocket::response::{Redirect, Responder};
use rocket::{Request, Route};
use sigra_core::features::FlowError;
use sigra_core::features::sessions::Authenticated;
use sigra_core::net::is_local_path;
use tera::Context;

use crate::guards::state;

/// Every route Sigra mounts under its base path.
pub fn routes() -> Vec<Route> {
    let mut all = Vec::new();
    all.extend(assets::routes());
    all.extend(registration::routes());
    all.extend(confirmation::routes());
    all.extend(magic_link::routes());
    all.extend(reset_password::routes());
    all.extend(lockout::routes());
    all.extend(change_password::routes());
    all.extend(change_email::routes());
    all.extend(set_password::routes());
    all.extend(data_export::routes());
    all.extend(deletion::routes());
    all.extend(mfa_totp::routes());
    all.extend(backup_codes::routes());
    all.extend(login::routes());
    all.extend(logout::routes());
    all.extend(sudo::routes());
    all.extend(sessions::routes());
    all
}

/// The session cached for this request, without a lookup (catchers run after guards).
pub(crate) fn cached_session(request: &Request<'_>) -> Option<Authenticated> {
    request
        .local_cache(|| -> Result<Option<Authenticated>, ()> { Ok(None) })
        .clone()
        .ok()
        .flatten()
}

/// The context every page gets, under `sigra`. Built when the response is made, after
/// the guards ran: the session lookup is cached and a new pre-session cookie is pending.
pub(crate) fn base_context(request: &Request<'_>) -> Context {
    let mut context = Context::new();
    let Some(state) = state(request) else {
        return context;
    };
    let config = &state.auth.config;
    let token = crate::guards::csrf_token_for_cached(request, state).unwrap_or_default();
    let user = cached_session(request).map(|a| serde_json::json!({ "email": a.user.email }));
    context.insert(
        "sigra",
        &serde_json::json!({
            "app_name": config.app_name,
            "base_path": config.base_path,
            "csrf_token": token,
            "current_user": user,
            "dev_mailbox": state.dev_mailbox.is_some(),
            "features": { "reset_password": true, "magic_link": true },
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

/// What a Sigra route answers.
#[derive(Debug)]
pub enum Reply {
    /// A page with a status, rendered with the route's context plus the common one.
    Page(Status, &'static str, Box<Context>),
    /// A 303 redirect.
    Redirect(Box<Redirect>),
    /// A failure: its status (503 adds `Retry-After`).
    Error(Status),
}

impl Reply {
    /// Renders `page` with `context`, answering `status`.
    pub(crate) fn page(status: Status, page: &'static str, context: Context) -> Reply {
        Reply::Page(status, page, Box::new(context))
    }

    /// A 303 to a local path.
    pub(crate) fn see_other(path: impl Into<String>) -> Reply {
        Reply::Redirect(Box::new(Redirect::to(path.into())))
    }

    /// Maps a flow failure: 503 when hashing is saturated, 500 otherwise (logged).
    pub(crate) fn failed(error: FlowError) -> Reply {
        if error.is_busy() {
            log::warn!("password hashing is saturated; answering 503");
            Reply::Error(Status::ServiceUnavailable)
        } else {
            log::error!("sigra flow failed ({}): {error}", error.reason());
            Reply::Error(Status::InternalServerError)
        }
    }
}

impl<'r> Responder<'r, 'static> for Reply {
    fn respond_to(self, request: &'r Request<'_>) -> rocket::response::Result<'static> {
        match self {
            Reply::Page(status, page, context) => {
                let mut full = base_context(request);
                full.extend(*context);
                let html = render(request, page, &full).ok_or(Status::InternalServerError)?;
                let mut response = html.respond_to(request)?;
                response.set_status(status);
                Ok(response)
            }
            Reply::Redirect(redirect) => redirect.respond_to(request),
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
    let status = if valid { Status::Ok } else { Status::NotFound };
    Reply::page(status, page, context)
}

pub(crate) use sigra_core::features::human_time;

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
