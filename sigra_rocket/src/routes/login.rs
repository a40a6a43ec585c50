//! `GET/POST <base>/log_in`.

use rocket::http::{CookieJar, Status};
use rocket::{FromForm, Route, State, get, post, routes};
use sigra_core::features::login::{self, LoginInput, LoginOutcome};
use sigra_core::features::sessions::IssuedSession;
use tera::Context;

use crate::SecretField;
use crate::guards::{CsrfToken, LiveSession, OptionalUser, SigraForm};
use crate::respond::{
    INVALID_CREDENTIALS, Reply, UNCONFIRMED_LOGIN, clean_return_to, safe_return_to,
};
use crate::state::SigraState;

/// The log-in form.
#[derive(Debug, FromForm)]
pub struct LoginForm {
    #[field(default = String::new())]
    email: String,
    password: SecretField,
    #[field(default = false)]
    remember_me: bool,
    return_to: Option<String>,
}

fn notice_text(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "confirmed" => Some("Your email is confirmed. You can log in."),
        "password_reset" => Some("Your password was changed. Log in with the new one."),
        "unlocked" => Some("Your account is unlocked. You can log in."),
        "email_changed" => Some("Your email address was changed. Log in with the new one."),
        _ => None,
    }
}

/// Sets the cookies of a new session.
pub(crate) fn set_login_cookies(state: &SigraState, jar: &CookieJar<'_>, issued: &IssuedSession) {
    state.cookies.set_session(jar, &issued.token);
    match &issued.remember_token {
        Some(token) => {
            let left = issued
                .remember_expires_at
                .map(|end| end - state.auth.clock.now());
            state.cookies.set_remember(jar, token, left);
        }
        None => state.cookies.clear_remember(jar),
    }
}

/// The answer to a log-in that proved the first factor (password or magic link): set
/// the new session's cookies and go on to `next`, or to the page that a restricted
/// session must see first. `None` for outcomes that set no session.
pub(crate) fn logged_in(
    state: &SigraState,
    jar: &CookieJar<'_>,
    outcome: &LoginOutcome,
    next: String,
) -> Option<Reply> {
    let base = &state.auth.config.base_path;
    match outcome {
        LoginOutcome::Success(issued) => {
            set_login_cookies(state, jar, issued);
            Some(Reply::see_other(next))
        }
        LoginOutcome::DeletionScheduled { issued, .. } => {
            set_login_cookies(state, jar, issued);
            Some(
                Reply::see_other(format!("{base}/settings/delete"))
                    .with("deletion_scheduled", true),
            )
        }
        LoginOutcome::MfaRequired(issued) => {
            set_login_cookies(state, jar, issued);
            let to = crate::respond::with_return_to(base, "mfa", Some(&next));
            Some(Reply::see_other(to).with("mfa_required", true))
        }
        _ => None,
    }
}

/// The log-in page telling an unconfirmed account to confirm first.
pub(crate) fn unconfirmed_page(email: &str) -> Reply {
    let mut context = Context::new();
    context.insert(
        "form",
        &serde_json::json!({ "email": email, "remember_me": false }),
    );
    context.insert("unconfirmed_email", email);
    Reply::refused(UNCONFIRMED_LOGIN, "login", context)
}

/// The log-in page after a failed attempt: the form as sent, and why.
fn refused_page(email: &str, remember_me: bool, return_to: Option<String>) -> Reply {
    let mut context = Context::new();
    context.insert(
        "form",
        &serde_json::json!({ "email": email, "remember_me": remember_me }),
    );
    context.insert("error", INVALID_CREDENTIALS.message);
    context.insert("return_to", &clean_return_to(return_to));
    Reply::refused(INVALID_CREDENTIALS, "login", context)
}

#[get("/log_in?<return_to>&<notice>")]
fn page(
    state: &State<SigraState>,
    user: OptionalUser,
    _csrf: CsrfToken,
    return_to: Option<String>,
    notice: Option<String>,
) -> Reply {
    if user.0.is_some() {
        let fallback = &state.auth.config.after_login_path;
        return Reply::see_other(safe_return_to(return_to.as_deref(), fallback));
    }
    let mut context = Context::new();
    context.insert(
        "form",
        &serde_json::json!({ "email": "", "remember_me": false }),
    );
    context.insert("return_to", &clean_return_to(return_to));
    context.insert("notice", &notice_text(notice.as_deref()));
    Reply::page(Status::Ok, "login", context)
}

#[post("/log_in", data = "<form>")]
async fn log_in(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    session: LiveSession,
    form: SigraForm<LoginForm>,
) -> Reply {
    let (form, meta) = form.into_parts();
    let input = LoginInput {
        email: form.email.clone(),
        password: form.password.into(),
        remember_me: form.remember_me,
        trusted_browser: state.cookies.trusted_browser(jar).map(Into::into),
    };
    let outcome = match login::log_in(&state.auth, &input, session.0.as_ref(), &meta).await {
        Ok(outcome) => outcome,
        Err(e) => return Reply::failed(e),
    };
    let next = safe_return_to(
        form.return_to.as_deref(),
        &state.auth.config.after_login_path,
    );
    if let Some(reply) = logged_in(state, jar, &outcome, next) {
        return reply;
    }
    match outcome {
        LoginOutcome::Unconfirmed { email } => unconfirmed_page(&email),
        _ => refused_page(form.email.trim(), form.remember_me, form.return_to),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![page, log_in]
}
