//! Change email: `POST <base>/settings/email`, `GET/POST <base>/settings/confirm-email/<token>`,
//! `POST <base>/settings/email/cancel`.

use rocket::http::{CookieJar, Status};
use rocket::{FromForm, Route, State, get, post, routes};
use sigra_core::crypto::TokenKind;
use sigra_core::features::change_email::{self, ConfirmOutcome};
use tera::Context;

use crate::SecretField;
use crate::guards::{AuthenticatedUser, CsrfToken, NoFields, SigraForm};
use crate::respond::{EMAIL_TAKEN, Reply, token_page};
use crate::state::SigraState;

/// The change-email form.
#[derive(Debug, FromForm)]
pub struct ChangeEmailForm {
    #[field(default = String::new())]
    email: String,
    current_password: SecretField,
}

#[post("/settings/email", data = "<form>")]
async fn request(
    state: &State<SigraState>,
    user: AuthenticatedUser,
    form: SigraForm<ChangeEmailForm>,
) -> Reply {
    let (form, meta) = form.into_parts();
    let password = form.current_password.into();
    match change_email::request(
        &state.auth,
        user.authenticated(),
        &form.email,
        &password,
        &meta,
    )
    .await
    {
        Ok(Ok(_)) => {
            let base = &state.auth.config.base_path;
            Reply::see_other(format!("{base}/settings?notice=email_pending"))
        }
        Ok(Err(errors)) => {
            let mut extra = Context::new();
            extra.insert("change_email_errors", &errors);
            extra.insert(
                "change_email_form",
                &serde_json::json!({ "email": form.email.trim() }),
            );
            let status = Status::UnprocessableEntity;
            super::settings::settings_page(state, &user, status, None, extra)
                .await
                .invalid_fields(&errors)
        }
        Err(e) => Reply::failed(e),
    }
}

#[get("/settings/confirm-email/<token>")]
async fn page(state: &State<SigraState>, _csrf: CsrfToken, token: &str) -> Reply {
    match state.auth.link_valid(TokenKind::ChangeEmail, token).await {
        Ok(valid) => token_page("change_email", token, valid, Context::new()),
        Err(e) => Reply::failed(e),
    }
}

#[post("/settings/confirm-email/<token>", data = "<form>")]
async fn confirm(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    token: &str,
    form: SigraForm<NoFields>,
) -> Reply {
    match change_email::confirm(&state.auth, token, form.meta()).await {
        Ok(ConfirmOutcome::Changed) => {
            state.cookies.clear_auth(jar);
            let base = &state.auth.config.base_path;
            Reply::see_other(format!("{base}/log_in?notice=email_changed"))
        }
        Ok(ConfirmOutcome::AddressTaken) => {
            let mut context = Context::new();
            context.insert("taken", &true);
            context.insert("token", token);
            context.insert("valid", &false);
            context.insert("referrer_policy", "no-referrer");
            Reply::refused(EMAIL_TAKEN, "change_email", context)
        }
        Ok(_) => token_page("change_email", token, false, Context::new()),
        Err(e) => Reply::failed(e),
    }
}

#[post("/settings/email/cancel", data = "<form>")]
async fn cancel(
    state: &State<SigraState>,
    user: AuthenticatedUser,
    form: SigraForm<NoFields>,
) -> Reply {
    match change_email::cancel(&state.auth, user.authenticated(), form.meta()).await {
        Ok(()) => {
            let base = &state.auth.config.base_path;
            Reply::see_other(format!("{base}/settings?notice=email_change_cancelled"))
        }
        Err(e) => Reply::failed(e),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![request, page, confirm, cancel]
}
