//! Password reset: `GET/POST <base>/reset-password`, `GET/POST <base>/reset-password/<token>`.

use rocket::http::Status;
use rocket::{FromForm, Route, State, get, post, routes};
use sigra_core::features::reset_password::{self, ResetErrors, ResetOutcome};
use tera::Context;

use crate::SecretField;
use crate::guards::{CsrfToken, SigraForm};
use crate::respond::{Reply, email_sent, token_page};
use crate::state::SigraState;

/// The request form.
#[derive(Debug, FromForm)]
pub struct RequestForm {
    #[field(default = String::new())]
    email: String,
}

/// The new-password form.
#[derive(Debug, FromForm)]
pub struct ResetForm {
    password: SecretField,
    password_confirmation: SecretField,
}

#[get("/reset-password")]
fn page(_csrf: CsrfToken) -> Reply {
    let mut context = Context::new();
    context.insert("form", &serde_json::json!({ "email": "" }));
    Reply::page(Status::Ok, "reset_password", context)
}

#[post("/reset-password", data = "<form>")]
async fn request(state: &State<SigraState>, form: SigraForm<RequestForm>) -> Reply {
    let (form, meta) = form.into_parts();
    let email = form.email;
    match reset_password::request(&state.auth, &email, &meta).await {
        Ok(()) => email_sent(&email, "reset_password"),
        Err(e) => Reply::failed(e),
    }
}

/// The new-password page of a reset link: 404 `invalid_link` when the link is dead
/// (`email` is `None`), 422 `invalid_fields` when `errors` has any.
fn edit_page(state: &SigraState, token: &str, email: Option<&str>, errors: &ResetErrors) -> Reply {
    let mut context = Context::new();
    context.insert("email", &email);
    context.insert("errors", errors);
    context.insert("password_min", &state.auth.config.password.min_length);
    context.insert("password_max", &state.auth.config.password.max_length);
    if email.is_some() && !errors.is_empty() {
        context.insert("token", token);
        context.insert("valid", &true);
        context.insert("referrer_policy", "no-referrer");
        return Reply::invalid("reset_password_edit", context, errors);
    }
    token_page("reset_password_edit", token, email.is_some(), context)
}

#[get("/reset-password/<token>")]
async fn edit(state: &State<SigraState>, _csrf: CsrfToken, token: &str) -> Reply {
    match reset_password::find(&state.auth, token).await {
        Ok(user) => edit_page(
            state,
            token,
            user.as_ref().map(|u| u.email.as_str()),
            &ResetErrors::default(),
        ),
        Err(e) => Reply::failed(e),
    }
}

#[post("/reset-password/<token>", data = "<form>")]
async fn reset(state: &State<SigraState>, token: &str, form: SigraForm<ResetForm>) -> Reply {
    let (form, meta) = form.into_parts();
    let (password, confirmation) = (form.password.into(), form.password_confirmation.into());
    match reset_password::reset(&state.auth, token, &password, &confirmation, &meta).await {
        Ok(ResetOutcome::Done) => Reply::see_other(format!(
            "{}/log_in?notice=password_reset",
            state.auth.config.base_path
        )),
        Ok(ResetOutcome::Invalid(errors)) => {
            let email = reset_password::find(&state.auth, token)
                .await
                .ok()
                .flatten()
                .map(|u| u.email);
            edit_page(state, token, email.as_deref(), &errors)
        }
        Ok(_) => edit_page(state, token, None, &ResetErrors::default()),
        Err(e) => Reply::failed(e),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![page, request, edit, reset]
}
