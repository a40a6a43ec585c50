//! `GET/POST <base>/mfa?return_to=`: the challenge after the first factor (`code`: an
//! authenticator or backup code; `trust_browser`). Enrollment lives in `super::mfa_totp`.

use rocket::http::{CookieJar, Status};
use rocket::{FromForm, Route, State, get, post, routes};
use sigra_core::features::mfa_totp::{self, ChallengeOutcome};
use sigra_core::features::sessions::Authenticated;
use sigra_core::features::{deletion, human_time};
use tera::Context;

use crate::guards::{ClientMeta, CsrfForm, CsrfToken, LiveSession};
use crate::respond::{Reply, clean_return_to, safe_return_to};
use crate::state::SigraState;

/// The challenge form.
#[derive(Debug, FromForm)]
pub struct ChallengeForm {
    #[field(default = String::new())]
    code: String,
    #[field(default = false)]
    trust_browser: bool,
    return_to: Option<String>,
}

fn challenge_page(
    state: &SigraState,
    status: Status,
    error: Option<String>,
    return_to: Option<String>,
) -> Reply {
    let mut context = Context::new();
    context.insert("error", &error);
    context.insert("return_to", &clean_return_to(return_to));
    context.insert("trust_days", &state.auth.config.mfa.trust_browser_days);
    Reply::page(status, "mfa", context)
}

/// Where a session that needs no challenge goes instead.
fn past_challenge(
    state: &SigraState,
    session: Option<&Authenticated>,
    return_to: Option<&str>,
) -> Reply {
    let config = &state.auth.config;
    match session {
        None => Reply::see_other(format!("{}/log_in", config.base_path)),
        Some(s) if deletion::is_pending(&s.user) => {
            Reply::see_other(format!("{}/settings/delete", config.base_path))
        }
        Some(_) => Reply::see_other(safe_return_to(return_to, &config.after_login_path)),
    }
}

#[get("/mfa?<return_to>")]
fn challenge(
    state: &State<SigraState>,
    session: LiveSession,
    _csrf: CsrfToken,
    return_to: Option<String>,
) -> Reply {
    match session.0.as_ref() {
        Some(s) if s.mfa_pending() => challenge_page(state, Status::Ok, None, return_to),
        other => past_challenge(state, other, return_to.as_deref()),
    }
}

#[post("/mfa", data = "<form>")]
async fn verify(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    session: LiveSession,
    form: CsrfForm<ChallengeForm>,
    meta: ClientMeta,
) -> Reply {
    let form = form.into_inner();
    let Some(current) = session.0.as_ref().filter(|s| s.mfa_pending()) else {
        return past_challenge(state, session.0.as_ref(), form.return_to.as_deref());
    };
    match mfa_totp::verify(
        &state.auth,
        current,
        &form.code,
        form.trust_browser,
        &meta.0,
    )
    .await
    {
        Ok(ChallengeOutcome::Verified(verified)) => {
            state.cookies.set_session(jar, &verified.session_token);
            if let Some(cookie) = &verified.trusted_browser {
                state.cookies.set_trusted_browser(jar, cookie.expose());
            }
            past_challenge(state, Some(current), form.return_to.as_deref())
        }
        Ok(ChallengeOutcome::Locked { until }) => {
            let message = format!(
                "Too many wrong codes. Try again after {}.",
                human_time(until)
            );
            challenge_page(
                state,
                Status::TooManyRequests,
                Some(message),
                form.return_to,
            )
        }
        Ok(ChallengeOutcome::NotRequired) => {
            past_challenge(state, Some(current), form.return_to.as_deref())
        }
        Ok(_) => challenge_page(
            state,
            Status::Unauthorized,
            Some(
                "That code is not right. Enter the newest code from your app, or a backup code."
                    .into(),
            ),
            form.return_to,
        ),
        Err(e) => Reply::failed(e),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![challenge, verify]
}
