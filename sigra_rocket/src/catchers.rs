//! Catchers: guard failures become a 303 to the log-in or sudo page for HTML requests
//! and a JSON error for JSON requests; other errors under Sigra's base path get a page.

use rocket::http::{
    ContentType, Status,
    uri::fmt::{Query, UriDisplay},
};
use rocket::response::{Redirect, Responder};
use rocket::serde::json::{Json, json};
use rocket::{Catcher, Request, catch, catchers};
use sigra_core::features::is_local_path;

use crate::guards::{GuardFailure, failure, state};
use crate::routes::{base_context, render};

/// Whether the client wants JSON rather than a page.
pub(crate) fn wants_json(request: &Request<'_>) -> bool {
    let accepts_json = request.accept().is_some_and(|a| a.preferred().is_json());
    let sends_json = request.content_type().is_some_and(|ct| ct.is_json());
    accepts_json || sends_json
}

/// Marks a response as made by one of Sigra's catchers.
struct AnsweredBySigra(bool);

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

fn json_error(
    status: Status,
    reason: &str,
    message: &str,
) -> (Status, Json<rocket::serde::json::Value>) {
    (status, Json(json!({ "error": reason, "message": message })))
}

enum Answer {
    Redirect(Redirect),
    Json((Status, Json<rocket::serde::json::Value>)),
    Page((Status, (ContentType, String))),
}

impl<'r> Responder<'r, 'static> for Answer {
    fn respond_to(self, request: &'r Request<'_>) -> rocket::response::Result<'static> {
        request.local_cache(|| AnsweredBySigra(true));
        match self {
            Answer::Redirect(r) => r.respond_to(request),
            Answer::Json(j) => j.respond_to(request),
            Answer::Page(p) => p.respond_to(request),
        }
    }
}

fn error_page(status: Status, title: &str, message: &str, request: &Request<'_>) -> Answer {
    if wants_json(request) {
        let reason = title.to_lowercase().replace(' ', "_");
        return Answer::Json(json_error(status, &reason, message));
    }
    let mut context = base_context(request);
    context.insert("status", &status.code);
    context.insert("title", title);
    context.insert("message", message);
    match render(request, "error", &context) {
        Some(page) => Answer::Page((status, page)),
        None => Answer::Page((
            status,
            (
                ContentType::Plain,
                format!("{} {title}: {message}", status.code),
            ),
        )),
    }
}

#[catch(401)]
fn unauthorized(request: &Request<'_>) -> Answer {
    if let (GuardFailure::MfaRequired, Some(state)) = (failure(request), state(request)) {
        if wants_json(request) {
            return Answer::Json(json_error(
                Status::Unauthorized,
                "mfa_required",
                "Enter the code from your authenticator app to continue.",
            ));
        }
        let base = &state.auth.config.base_path;
        let to = with_return_to(base, "mfa", current_return_to(request).as_deref());
        return Answer::Redirect(Redirect::to(to));
    }
    if wants_json(request) {
        return Answer::Json(json_error(
            Status::Unauthorized,
            "not_authenticated",
            "Log in to continue.",
        ));
    }
    let Some(state) = state(request) else {
        return error_page(
            Status::Unauthorized,
            "Unauthorized",
            "Log in to continue.",
            request,
        );
    };
    let base = &state.auth.config.base_path;
    let to = with_return_to(base, "log_in", current_return_to(request).as_deref());
    Answer::Redirect(Redirect::to(to))
}

#[catch(403)]
fn forbidden(request: &Request<'_>) -> Answer {
    match (failure(request), state(request)) {
        (GuardFailure::SudoRequired, Some(state)) => {
            if wants_json(request) {
                return Answer::Json(json_error(
                    Status::Forbidden,
                    "sudo_required",
                    "Confirm your password to continue.",
                ));
            }
            let base = &state.auth.config.base_path;
            // A form POST cannot be replayed after sudo; send the user back to the page
            // they came from instead (when it is ours), else to the target.
            let back = if request.method() == rocket::http::Method::Get {
                current_return_to(request)
            } else {
                request
                    .headers()
                    .get_one("Referer")
                    .and_then(|r| r.find("://").map(|i| &r[i + 3..]))
                    .and_then(|r| r.find('/').map(|i| r[i..].to_owned()))
                    .filter(|p| is_local_path(p))
            };
            Answer::Redirect(Redirect::to(with_return_to(base, "sudo", back.as_deref())))
        }
        (GuardFailure::Unconfirmed, Some(state)) => {
            if wants_json(request) {
                return Answer::Json(json_error(
                    Status::Forbidden,
                    "unconfirmed",
                    "Confirm your email address to continue.",
                ));
            }
            let base = &state.auth.config.base_path;
            Answer::Redirect(Redirect::to(format!("{base}/confirm")))
        }
        (GuardFailure::DeletionScheduled, Some(state)) => {
            if wants_json(request) {
                return Answer::Json(json_error(
                    Status::Forbidden,
                    "deletion_scheduled",
                    "This account is scheduled for deletion. Cancel the deletion to continue.",
                ));
            }
            let base = &state.auth.config.base_path;
            Answer::Redirect(Redirect::to(format!("{base}/settings/delete")))
        }
        (GuardFailure::MfaNotEnabled, Some(state)) => {
            if wants_json(request) {
                return Answer::Json(json_error(
                    Status::Forbidden,
                    "mfa_not_enabled",
                    "Turn on two-step verification to continue.",
                ));
            }
            let base = &state.auth.config.base_path;
            Answer::Redirect(Redirect::to(format!("{base}/settings/mfa")))
        }
        (GuardFailure::Csrf, _) => error_page(
            Status::Forbidden,
            "Form expired",
            "This form has expired or came from another site. Go back, reload the page and try again.",
            request,
        ),
        _ => error_page(
            Status::Forbidden,
            "Forbidden",
            "You cannot do that.",
            request,
        ),
    }
}

#[derive(rocket::Responder)]
struct SlowDown {
    answer: Answer,
    retry_after: rocket::http::Header<'static>,
}

#[catch(429)]
fn too_many(request: &Request<'_>) -> SlowDown {
    let secs = request.local_cache(|| crate::guards::RetryAfter(60)).0;
    let message =
        format!("Too many attempts from your network. Wait {secs} seconds, then try again.");
    SlowDown {
        answer: error_page(
            Status::TooManyRequests,
            "Too many attempts",
            &message,
            request,
        ),
        retry_after: rocket::http::Header::new("Retry-After", secs.to_string()),
    }
}

#[catch(404)]
async fn not_found(request: &Request<'_>) -> Answer {
    // The header shows who is logged in: look the session up as a guard would.
    let _ = crate::guards::current_session(request).await;
    error_page(
        Status::NotFound,
        "Not found",
        "There is no page here.",
        request,
    )
}

#[catch(422)]
async fn unprocessable(request: &Request<'_>) -> Answer {
    // The header shows who is logged in: look the session up as a guard would.
    let _ = crate::guards::current_session(request).await;
    error_page(
        Status::UnprocessableEntity,
        "Invalid form",
        "The form could not be read. Go back and try again.",
        request,
    )
}

#[derive(rocket::Responder)]
struct RetryLater {
    answer: Answer,
    retry_after: rocket::http::Header<'static>,
}

#[catch(503)]
fn unavailable(request: &Request<'_>) -> RetryLater {
    RetryLater {
        answer: error_page(
            Status::ServiceUnavailable,
            "Busy",
            "We are busy right now. Try again in a few seconds.",
            request,
        ),
        retry_after: rocket::http::Header::new("Retry-After", "5"),
    }
}

#[catch(default)]
async fn other(status: Status, request: &Request<'_>) -> Answer {
    let _ = crate::guards::current_session(request).await;
    let title = status.reason().unwrap_or("Error");
    error_page(
        status,
        title,
        "Something went wrong. Try again later.",
        request,
    )
}

/// Catchers for guard failures anywhere in the app (401, 403).
pub fn guard_catchers() -> Vec<Catcher> {
    catchers![unauthorized, forbidden]
}

/// Catchers for Sigra's own pages.
pub fn page_catchers() -> Vec<Catcher> {
    catchers![not_found, unprocessable, too_many, unavailable, other]
}
