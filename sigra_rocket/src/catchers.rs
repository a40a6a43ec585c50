//! Catchers: guard failures become a 303 to the log-in or sudo page for HTML requests
//! and a JSON error for JSON requests; other errors under Sigra's base path get a page.

use rocket::http::{ContentType, Status};
use rocket::response::{Redirect, Responder};
use rocket::serde::json::Json;
use rocket::{Catcher, Request, catch, catchers};
use sigra_core::net::is_local_path;

use crate::guards::{GuardFailure, HtmlAnswer, failure};
use crate::respond::{
    base_context, current_return_to, mark_answered_by_sigra, render, wants_json, with_return_to,
};
use crate::state::state;

fn json_error(
    status: Status,
    reason: &str,
    message: &str,
) -> (Status, Json<rocket::serde::json::Value>) {
    (
        status,
        Json(crate::respond::json_error(reason, message, None)),
    )
}

/// A catcher's answer: the stable JSON reason (DESIGN §4a), and the status, title and
/// message of the page an HTML request gets. Titles and messages may change; reasons not.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Problem {
    pub(crate) reason: &'static str,
    pub(crate) status: Status,
    title: &'static str,
    message: &'static str,
}

impl Problem {
    /// The answer to a guard failure: its reason, status and message, under `title`.
    const fn of(failure: GuardFailure, title: &'static str) -> Problem {
        Problem {
            reason: failure.reason(),
            status: failure.status(),
            title,
            message: failure.message(),
        }
    }
}

/// A 401 with no Sigra state to send the user to the log-in page (HTML only: JSON
/// answers `not_authenticated`).
const UNAUTHORIZED: Problem = Problem::of(GuardFailure::NotAuthenticated, "Unauthorized");
/// A 403 no guard explained.
const FORBIDDEN: Problem = Problem::of(GuardFailure::None, "Forbidden");
const FORM_EXPIRED: Problem = Problem::of(GuardFailure::Csrf, "Form expired");
const TOO_MANY_ATTEMPTS: Problem = Problem::of(GuardFailure::RateLimited, "Too many attempts");
const BUSY: Problem = Problem::of(GuardFailure::Unavailable, "Busy");
const NOT_FOUND: Problem = Problem {
    reason: "not_found",
    status: Status::NotFound,
    title: "Not found",
    message: "There is no page here.",
};
const INVALID_FORM: Problem = Problem {
    reason: "invalid_form",
    status: Status::UnprocessableEntity,
    title: "Invalid form",
    message: "The form could not be read. Go back and try again.",
};
const OTHER_MESSAGE: &str = "Something went wrong. Try again later.";
const BAD_REQUEST: Problem = Problem {
    reason: "bad_request",
    status: Status::BadRequest,
    title: "Bad Request",
    message: OTHER_MESSAGE,
};
const PAYLOAD_TOO_LARGE: Problem = Problem {
    reason: "payload_too_large",
    status: Status::PayloadTooLarge,
    title: "Payload Too Large",
    message: OTHER_MESSAGE,
};
const INTERNAL_SERVER_ERROR: Problem = Problem {
    reason: "internal_server_error",
    status: Status::InternalServerError,
    title: "Internal Server Error",
    message: OTHER_MESSAGE,
};
/// Reason of any other status that reaches the default catcher.
pub(crate) const OTHER_REASON: &str = "error";

/// Every answer the catchers give with a fixed status (the default catcher answers
/// [`OTHER_REASON`] for any status not listed here).
pub(crate) const PROBLEMS: [Problem; 10] = [
    UNAUTHORIZED,
    FORBIDDEN,
    FORM_EXPIRED,
    TOO_MANY_ATTEMPTS,
    BUSY,
    NOT_FOUND,
    INVALID_FORM,
    BAD_REQUEST,
    PAYLOAD_TOO_LARGE,
    INTERNAL_SERVER_ERROR,
];

enum Answer {
    Redirect(Redirect),
    Json((Status, Json<rocket::serde::json::Value>)),
    Page((Status, (ContentType, String))),
    /// JSON with a `WWW-Authenticate` challenge (RFC 6750).
    Challenge(&'static str, (Status, Json<rocket::serde::json::Value>)),
}

impl<'r> Responder<'r, 'static> for Answer {
    fn respond_to(self, request: &'r Request<'_>) -> rocket::response::Result<'static> {
        mark_answered_by_sigra(request);
        match self {
            Answer::Redirect(r) => r.respond_to(request),
            Answer::Json(j) => j.respond_to(request),
            Answer::Page(p) => p.respond_to(request),
            Answer::Challenge(challenge, j) => {
                let mut response = j.respond_to(request)?;
                response.set_header(rocket::http::Header::new("WWW-Authenticate", challenge));
                Ok(response)
            }
        }
    }
}

/// An answer with `Retry-After` (429 and 503).
#[derive(rocket::Responder)]
struct RetryLater {
    answer: Answer,
    retry_after: rocket::http::Header<'static>,
}

impl RetryLater {
    fn after(secs: u64, answer: Answer) -> Self {
        RetryLater {
            answer,
            retry_after: crate::respond::retry_after_header(secs),
        }
    }
}

/// `problem` as JSON or as an error page, with `message` in place of its own.
fn error_page(problem: Problem, message: &str, request: &Request<'_>) -> Answer {
    let Problem {
        reason,
        status,
        title,
        ..
    } = problem;
    if wants_json(request) {
        return Answer::Json(json_error(status, reason, message));
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

fn problem_page(problem: Problem, request: &Request<'_>) -> Answer {
    error_page(problem, problem.message, request)
}

/// The answer to a guard failure: its JSON reason, or for HTML its page (a 303 to one
/// of Sigra's pages, or an error page).
fn guard_answer(failure: GuardFailure, request: &Request<'_>) -> Answer {
    if let Some(challenge) = failure.challenge() {
        let body = json_error(failure.status(), failure.reason(), failure.message());
        return Answer::Challenge(challenge, body);
    }
    if wants_json(request) {
        return Answer::Json(json_error(
            failure.status(),
            failure.reason(),
            failure.message(),
        ));
    }
    let fallback = match failure {
        GuardFailure::Csrf => FORM_EXPIRED,
        GuardFailure::RateLimited => TOO_MANY_ATTEMPTS,
        GuardFailure::Unavailable => BUSY,
        f if f.status() == Status::Unauthorized => UNAUTHORIZED,
        _ => FORBIDDEN,
    };
    let (HtmlAnswer::Redirect(page), Some(state)) = (failure.html(), state(request)) else {
        return problem_page(fallback, request);
    };
    let base = &state.auth.config.base_path;
    let back = match failure {
        GuardFailure::NotAuthenticated | GuardFailure::MfaRequired => current_return_to(request),
        // A form POST cannot be replayed after sudo; send the user back to the page
        // they came from instead (when it is ours), else to the target.
        GuardFailure::SudoRequired if request.method() == rocket::http::Method::Get => {
            current_return_to(request)
        }
        GuardFailure::SudoRequired => request
            .headers()
            .get_one("Referer")
            .and_then(|r| r.find("://").map(|i| &r[i + 3..]))
            .and_then(|r| r.find('/').map(|i| r[i..].to_owned()))
            .filter(|p| is_local_path(p)),
        _ => return Answer::Redirect(Redirect::to(format!("{base}/{page}"))),
    };
    Answer::Redirect(Redirect::to(with_return_to(base, page, back.as_deref())))
}

#[catch(401)]
fn unauthorized(request: &Request<'_>) -> Answer {
    let failure = match failure(request) {
        f if f.status() == Status::Unauthorized => f,
        _ => GuardFailure::NotAuthenticated,
    };
    guard_answer(failure, request)
}

#[catch(403)]
fn forbidden(request: &Request<'_>) -> Answer {
    let failure = match failure(request) {
        f if f.status() == Status::Forbidden => f,
        _ => GuardFailure::None,
    };
    guard_answer(failure, request)
}

#[catch(429)]
fn too_many(request: &Request<'_>) -> RetryLater {
    let secs = request.local_cache(|| crate::guards::RetryAfter(60)).0;
    let message =
        format!("Too many attempts from your network. Wait {secs} seconds, then try again.");
    RetryLater::after(secs, error_page(TOO_MANY_ATTEMPTS, &message, request))
}

#[catch(404)]
async fn not_found(request: &Request<'_>) -> Answer {
    // The header shows who is logged in: look the session up as a guard would.
    let _ = crate::guards::current_session(request).await;
    problem_page(NOT_FOUND, request)
}

#[catch(422)]
async fn unprocessable(request: &Request<'_>) -> Answer {
    if wants_json(request) {
        // Which fields did not fit, and why (recorded by the data guard).
        let mut fields = serde_json::Map::new();
        let problems = request.local_cache(crate::guards::FormProblems::default);
        for (name, error) in &problems.0 {
            let entry = fields
                .entry(name.clone())
                .or_insert_with(|| serde_json::Value::Array(Vec::new()));
            if let (serde_json::Value::Array(list), Ok(e)) = (entry, serde_json::to_value(error)) {
                list.push(e);
            }
        }
        let body =
            crate::respond::json_error(INVALID_FORM.reason, INVALID_FORM.message, Some(fields));
        return Answer::Json((INVALID_FORM.status, Json(body)));
    }
    // The header shows who is logged in: look the session up as a guard would.
    let _ = crate::guards::current_session(request).await;
    problem_page(INVALID_FORM, request)
}

#[catch(503)]
fn unavailable(request: &Request<'_>) -> RetryLater {
    RetryLater::after(5, problem_page(BUSY, request))
}

#[catch(default)]
async fn other(status: Status, request: &Request<'_>) -> Answer {
    let _ = crate::guards::current_session(request).await;
    let problem = PROBLEMS
        .into_iter()
        .find(|p| p.status == status)
        .unwrap_or(Problem {
            reason: OTHER_REASON,
            status,
            title: status.reason().unwrap_or("Error"),
            message: OTHER_MESSAGE,
        });
    problem_page(problem, request)
}

/// Catchers for guard failures anywhere in the app (401, 403).
pub fn guard_catchers() -> Vec<Catcher> {
    catchers![unauthorized, forbidden]
}

/// The guard catchers, plus 503 with `Retry-After`, for the host's own routes at `/`: a
/// guard that cannot reach the database answers there too.
pub fn root_catchers() -> Vec<Catcher> {
    let mut all = guard_catchers();
    all.extend(catchers![unavailable]);
    all
}

/// Catchers for Sigra's own pages.
pub fn page_catchers() -> Vec<Catcher> {
    catchers![not_found, unprocessable, too_many, unavailable, other]
}

// The reason table lists the reasons of every capability: the tests need them all.
#[cfg(all(
    test,
    feature = "passkeys",
    feature = "oauth",
    feature = "organizations",
    feature = "admin",
    feature = "api"
))]
mod tests {
    use super::*;

    /// reason → status column of docs/reasons.md.
    fn table() -> Vec<(String, String)> {
        include_str!("../../docs/reasons.md")
            .lines()
            .filter(|l| l.starts_with("| `"))
            .filter_map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                Some((
                    cells.get(1)?.trim_matches('`').to_owned(),
                    (*cells.get(2)?).to_owned(),
                ))
            })
            .collect()
    }

    fn listed(reason: &str, status: &str) -> bool {
        table().iter().any(|(r, s)| r == reason && s == status)
    }

    #[test]
    fn guard_failure_all_lists_every_variant() {
        // Exhaustive: a new variant does not compile until it is placed in ALL.
        let position = |f: GuardFailure| match f {
            GuardFailure::None => 0,
            GuardFailure::NotAuthenticated => 1,
            GuardFailure::SudoRequired => 2,
            GuardFailure::Unconfirmed => 3,
            GuardFailure::DeletionScheduled => 4,
            GuardFailure::MfaRequired => 5,
            GuardFailure::MfaNotEnabled => 6,
            GuardFailure::RateLimited => 7,
            GuardFailure::Csrf => 8,
            GuardFailure::Unavailable => 9,
            GuardFailure::InvalidToken => 10,
            GuardFailure::BearerRequired => 11,
            GuardFailure::InsufficientScope => 12,
            GuardFailure::NoOrganization => 13,
            GuardFailure::OrganizationRoleRequired => 14,
            GuardFailure::AdminRequired => 15,
            GuardFailure::ImpersonationForbidden => 16,
        };
        for (i, f) in GuardFailure::ALL.into_iter().enumerate() {
            assert_eq!(position(f), i, "{f:?}");
        }
    }

    #[test]
    fn every_guard_failure_and_catcher_reason_is_in_the_reason_table() {
        for f in GuardFailure::ALL {
            assert!(
                listed(f.reason(), &f.status().code.to_string()),
                "{f:?}: {} {} missing from docs/reasons.md",
                f.reason(),
                f.status().code
            );
        }
        for p in PROBLEMS {
            assert!(
                listed(p.reason, &p.status.code.to_string()),
                "{p:?} missing from docs/reasons.md"
            );
        }
        for r in crate::respond::REFUSALS {
            assert!(
                listed(r.reason, &r.status.code.to_string()),
                "{r:?} missing from docs/reasons.md"
            );
        }
        assert!(listed(OTHER_REASON, "any other"));
        let known = table().len();
        let distinct: std::collections::BTreeSet<&str> = GuardFailure::ALL
            .iter()
            .map(|f| f.reason())
            .chain(PROBLEMS.iter().map(|p| p.reason))
            .chain(crate::respond::REFUSALS.iter().map(|r| r.reason))
            .chain([OTHER_REASON])
            .collect();
        assert_eq!(
            known,
            distinct.len(),
            "the table lists exactly these reasons"
        );
    }

    #[test]
    fn catcher_reasons_are_snake_case_with_one_status_each() {
        let mut seen = std::collections::BTreeMap::new();
        for p in PROBLEMS {
            assert!(
                p.reason.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{p:?}"
            );
            if let Some(status) = seen.insert(p.reason, p.status) {
                assert_eq!(status, p.status, "{} has one status", p.reason);
            }
        }
    }
}
