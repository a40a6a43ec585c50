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
use sigra_core::features::FlowError;
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
    let token = csrf_token_for_cached(request, state).unwrap_or_default();
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
