//! The second factor.
//!
//! - `GET <base>/settings/mfa`: the button that starts enrolling an authenticator app, or,
//!   when on, the backup-code count and the regenerate and turn-off buttons. It changes
//!   nothing and shows no secret.
//! - `POST <base>/settings/mfa/totp/setup` (sudo): makes a fresh secret and shows it (QR
//!   code, key). Sudo, because whoever holds a session without it (a stolen cookie) could
//!   otherwise enroll their own authenticator and lock the owner out.
//! - `POST <base>/settings/mfa/totp` (sudo): confirm enrollment with a `code`.
//! - `DELETE <base>/settings/mfa/totp` (a POST with `_method=DELETE`, sudo): turn it off.
//! - `GET/POST <base>/mfa?return_to=`: the challenge after the first factor (`code`: an
//!   authenticator or backup code; `trust_browser`).

use rocket::http::{CookieJar, Status};
use rocket::{FromForm, Route, State, delete, get, post, routes};
use sigra_core::features::mfa::{self, ChallengeOutcome};
use sigra_core::features::mfa_totp::{self, Enrollment, EnrollmentOutcome};
use sigra_core::features::sessions::Authenticated;
use sigra_core::features::{backup_codes, deletion, human_time};
use sigra_core::secret::SecretString;
use tera::Context;

use crate::guards::{
    AuthenticatedUser, ClientMeta, CsrfForm, CsrfToken, LiveSession, NoFields, SudoUser,
};
use crate::respond::{Reply, clean_return_to, safe_return_to};
use crate::state::SigraState;

/// A form with one code.
#[derive(Debug, FromForm)]
pub struct CodeForm {
    #[field(default = String::new())]
    code: String,
}

/// The challenge form.
#[derive(Debug, FromForm)]
pub struct ChallengeForm {
    #[field(default = String::new())]
    code: String,
    #[field(default = false)]
    trust_browser: bool,
    return_to: Option<String>,
}

fn notice_text(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "disabled" => Some("Two-step verification is off."),
        _ => None,
    }
}

/// The MFA settings page of `user_id`, whose second factor is `enabled`. `enrollment`
/// is shown while it is off; `codes` are backup codes to show once.
pub(crate) async fn settings_page(
    state: &SigraState,
    user_id: uuid::Uuid,
    enabled: bool,
    status: Status,
    enrollment: Option<&Enrollment>,
    codes: Option<&[SecretString]>,
    mut context: Context,
) -> Reply {
    context.insert("enabled", &enabled);
    if enabled {
        match backup_codes::remaining(&state.auth, user_id).await {
            Ok(left) => context.insert("backup_codes_left", &left),
            Err(e) => return Reply::failed(e),
        }
    }
    if let Some(e) = enrollment {
        context.insert("secret", e.secret.expose());
        context.insert("otpauth_uri", e.otpauth_uri.expose());
        context.insert("qr_svg", &e.qr_svg);
    }
    if let Some(codes) = codes {
        let shown: Vec<&str> = codes.iter().map(SecretString::expose).collect();
        context.insert("backup_codes", &shown);
    }
    Reply::page(status, "mfa_totp", context)
}

#[get("/settings/mfa?<notice>")]
async fn page(
    state: &State<SigraState>,
    user: AuthenticatedUser,
    _csrf: CsrfToken,
    notice: Option<String>,
) -> Reply {
    let mut context = Context::new();
    context.insert("notice", &notice_text(notice.as_deref()));
    let me = user.authenticated();
    let enabled = me.user.mfa_enabled_at.is_some();
    settings_page(state, me.user.id, enabled, Status::Ok, None, None, context).await
}

#[post("/settings/mfa/totp/setup", data = "<_form>")]
async fn setup(
    state: &State<SigraState>,
    user: SudoUser,
    _form: CsrfForm<NoFields>,
    _meta: ClientMeta,
) -> Reply {
    let me = user.authenticated();
    match mfa_totp::start_enrollment(&state.auth, me).await {
        Ok(Some(enrollment)) => {
            let context = Context::new();
            settings_page(
                state,
                me.user.id,
                false,
                Status::Ok,
                Some(&enrollment),
                None,
                context,
            )
            .await
        }
        Ok(None) => Reply::see_other(format!("{}/settings/mfa", state.auth.config.base_path)),
        Err(e) => Reply::failed(e),
    }
}

#[post("/settings/mfa/totp", data = "<form>")]
async fn enable(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    user: SudoUser,
    form: CsrfForm<CodeForm>,
    meta: ClientMeta,
) -> Reply {
    let me = user.authenticated();
    let code = form.into_inner().code;
    match mfa_totp::confirm_enrollment(&state.auth, me, &code, &meta.0).await {
        Ok(EnrollmentOutcome::Enabled {
            session_token,
            backup_codes,
        }) => {
            state.cookies.set_session(jar, &session_token);
            let mut context = Context::new();
            context.insert("notice", "Two-step verification is on.");
            let codes = Some(backup_codes.as_slice());
            settings_page(state, me.user.id, true, Status::Ok, None, codes, context).await
        }
        Ok(EnrollmentOutcome::InvalidCode) => {
            let enrollment = match mfa_totp::pending_enrollment(&state.auth, me).await {
                Ok(e) => e,
                Err(e) => return Reply::failed(e),
            };
            let mut context = Context::new();
            context.insert(
                "code_error",
                "That code is not right. Check the time on your phone and try the newest code.",
            );
            let status = Status::UnprocessableEntity;
            settings_page(
                state,
                me.user.id,
                false,
                status,
                enrollment.as_ref(),
                None,
                context,
            )
            .await
        }
        Ok(_) => Reply::see_other(format!("{}/settings/mfa", state.auth.config.base_path)),
        Err(e) => Reply::failed(e),
    }
}

#[delete("/settings/mfa/totp", data = "<_form>")]
async fn disable(
    state: &State<SigraState>,
    user: SudoUser,
    _form: CsrfForm<NoFields>,
    meta: ClientMeta,
) -> Reply {
    match mfa_totp::disable(&state.auth, user.authenticated(), &meta.0).await {
        Ok(_) => Reply::see_other(format!(
            "{}/settings/mfa?notice=disabled",
            state.auth.config.base_path
        )),
        Err(e) => Reply::failed(e),
    }
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
    Reply::page(status, "mfa_challenge", context)
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
    match mfa::verify(
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
    routes![page, setup, enable, disable, challenge, verify]
}
