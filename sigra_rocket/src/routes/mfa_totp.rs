//! The second factor's settings: enrolling an authenticator app, turning it off.
//!
//! - `GET <base>/settings/mfa`: the button that starts enrolling an authenticator app, or,
//!   when on, the backup-code count and the regenerate and turn-off buttons. It changes
//!   nothing and shows no secret.
//! - `POST <base>/settings/mfa/totp/setup` (sudo): makes a fresh secret and shows it (QR
//!   code, key). Sudo, because whoever holds a session without it (a stolen cookie) could
//!   otherwise enroll their own authenticator and lock the owner out.
//! - `POST <base>/settings/mfa/totp` (sudo): confirm enrollment with a `code`.
//! - `DELETE <base>/settings/mfa/totp` (a POST with `_method=DELETE`, sudo): turn it off.
//!
//! The challenge after the first factor is `super::mfa`.

use rocket::http::{CookieJar, Status};
use rocket::{FromForm, Route, State, delete, get, post, routes};
use sigra_core::features::backup_codes;
use sigra_core::features::mfa_totp::{self, Enrollment, EnrollmentOutcome};
use sigra_core::secret::SecretString;
use tera::Context;

use crate::guards::{AuthenticatedUser, CsrfToken, NoFields, SigraForm, SudoUser};
use crate::respond::{INVALID_CODE, Reply};
use crate::state::SigraState;

/// A form with one code.
#[derive(Debug, FromForm)]
pub struct CodeForm {
    #[field(default = String::new())]
    code: String,
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
    // What a JSON client gets: the same facts as the page, secrets only where the page
    // shows them (the enrollment key once, fresh backup codes once).
    let mut data = serde_json::Map::new();
    context.insert("enabled", &enabled);
    data.insert("enabled".into(), enabled.into());
    if enabled {
        match backup_codes::remaining(&state.auth, user_id).await {
            Ok(left) => {
                context.insert("backup_codes_left", &left);
                data.insert("backup_codes_left".into(), left.into());
            }
            Err(e) => return Reply::failed(e),
        }
    }
    if let Some(e) = enrollment {
        context.insert("secret", e.secret.expose());
        context.insert("otpauth_uri", e.otpauth_uri.expose());
        context.insert("qr_svg", &e.qr_svg);
        data.insert("secret".into(), e.secret.expose().into());
        data.insert("otpauth_uri".into(), e.otpauth_uri.expose().into());
    }
    if let Some(codes) = codes {
        let shown: Vec<&str> = codes.iter().map(SecretString::expose).collect();
        context.insert("backup_codes", &shown);
        data.insert("backup_codes".into(), shown.into());
    }
    let reply = if status == Status::Ok {
        Reply::page(status, "mfa_totp", context)
    } else {
        Reply::refused(INVALID_CODE, "mfa_totp", context)
    };
    data.into_iter()
        .fold(reply, |reply, (k, v)| reply.with(&k, v))
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
    let enabled = match mfa_totp::app_enabled(&state.auth, me.user.id).await {
        Ok(enabled) => enabled,
        Err(e) => return Reply::failed(e),
    };
    settings_page(state, me.user.id, enabled, Status::Ok, None, None, context).await
}

#[post("/settings/mfa/totp/setup", data = "<_form>")]
async fn setup(state: &State<SigraState>, user: SudoUser, _form: SigraForm<NoFields>) -> Reply {
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
    form: SigraForm<CodeForm>,
) -> Reply {
    let me = user.authenticated();
    let (form, meta) = form.into_parts();
    let code = form.code;
    match mfa_totp::confirm_enrollment(&state.auth, me, &code, &meta).await {
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

#[delete("/settings/mfa/totp", data = "<form>")]
async fn disable(state: &State<SigraState>, user: SudoUser, form: SigraForm<NoFields>) -> Reply {
    match mfa_totp::disable(&state.auth, user.authenticated(), form.meta()).await {
        Ok(_) => Reply::see_other(format!(
            "{}/settings/mfa?notice=disabled",
            state.auth.config.base_path
        )),
        Err(e) => Reply::failed(e),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![page, setup, enable, disable]
}
