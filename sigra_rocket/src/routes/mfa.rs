//! `GET/POST <base>/mfa?return_to=`: the challenge after the first factor (`code`: an
//! authenticator or backup code; `trust_browser`). Enrollment lives in `super::mfa_totp`.

use rocket::http::{CookieJar, Status};
use rocket::{FromForm, Route, State, get, post, routes};
use sigra_core::features::mfa::{self, ChallengeOutcome};
use sigra_core::features::sessions::Authenticated;
use sigra_core::features::{deletion, human_time};
use tera::Context;

use super::has_passkeys;
use crate::guards::{CsrfToken, LiveSession, SigraForm};
use crate::respond::{
    INVALID_MFA_CODE, MFA_LOCKED, Refusal, Reply, clean_return_to, safe_return_to,
};
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

pub(crate) async fn challenge_page(
    state: &SigraState,
    current: &Authenticated,
    refused: Option<(Refusal, String)>,
    return_to: Option<String>,
) -> Reply {
    let mut context = Context::new();
    context.insert("has_passkeys", &has_passkeys(state, current).await);
    context.insert("error", &refused.as_ref().map(|(_, message)| message));
    context.insert("return_to", &clean_return_to(return_to));
    context.insert("trust_days", &state.auth.config.mfa.trust_browser_days);
    match refused {
        Some((refusal, _)) => Reply::refused(refusal, "mfa", context),
        None => Reply::page(Status::Ok, "mfa", context),
    }
}

/// Where a session that needs no challenge goes instead.
pub(crate) fn past_challenge(
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
async fn challenge(
    state: &State<SigraState>,
    session: LiveSession,
    _csrf: CsrfToken,
    return_to: Option<String>,
) -> Reply {
    match session.0.as_ref() {
        Some(s) if s.mfa_pending() => challenge_page(state, s, None, return_to).await,
        other => past_challenge(state, other, return_to.as_deref()),
    }
}

#[post("/mfa", data = "<form>")]
async fn verify(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    session: LiveSession,
    form: SigraForm<ChallengeForm>,
) -> Reply {
    let (form, meta) = form.into_parts();
    let Some(current) = session.0.as_ref().filter(|s| s.mfa_pending()) else {
        return past_challenge(state, session.0.as_ref(), form.return_to.as_deref());
    };
    match mfa::verify(&state.auth, current, &form.code, form.trust_browser, &meta).await {
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
            let wait = (until - state.auth.clock.now()).whole_seconds().max(1);
            challenge_page(state, current, Some((MFA_LOCKED, message)), form.return_to)
                .await
                .retry_after(wait.unsigned_abs())
        }
        Ok(ChallengeOutcome::NotRequired) => {
            past_challenge(state, Some(current), form.return_to.as_deref())
        }
        Ok(_) => challenge_page(
            state,
            current,
            Some((
                INVALID_MFA_CODE,
                "That code is not right. Enter the newest code from your app, or a backup code."
                    .into(),
            )),
            form.return_to,
        )
        .await,
        Err(e) => Reply::failed(e),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![challenge, verify]
}
