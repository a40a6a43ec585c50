//! Email confirmation: `GET/POST <base>/confirm` (code), `GET/POST <base>/confirm/<token>`
//! (link), `POST <base>/confirm/resend`.

use rocket::http::Status;
use rocket::{FromForm, Route, State, get, post, routes};
use sigra_core::features::confirmation;
use tera::Context;

use super::{Reply, email_sent, token_page};
use crate::fairing::SigraState;
use crate::guards::{ClientMeta, CsrfForm, CsrfToken, NoFields};

/// The confirm-by-code form.
#[derive(Debug, FromForm)]
pub struct CodeForm {
    #[field(default = String::new())]
    email: String,
    #[field(default = String::new())]
    code: String,
}

/// The resend form.
#[derive(Debug, FromForm)]
pub struct ResendForm {
    #[field(default = String::new())]
    email: String,
}

fn code_page(status: Status, email: &str, error: Option<&str>) -> Reply {
    let mut context = Context::new();
    context.insert("form", &serde_json::json!({ "email": email }));
    context.insert("error", &error);
    Reply::page(status, "confirmation", context)
}

#[get("/confirm?<email>")]
fn page(_csrf: CsrfToken, email: Option<String>) -> Reply {
    code_page(Status::Ok, email.as_deref().unwrap_or_default(), None)
}

#[post("/confirm", data = "<form>")]
async fn by_code(state: &State<SigraState>, form: CsrfForm<CodeForm>, meta: ClientMeta) -> Reply {
    let form = form.into_inner();
    match confirmation::confirm_by_code(&state.auth, &form.email, &form.code, &meta.0).await {
        Ok(true) => Reply::see_other(format!(
            "{}/log_in?notice=confirmed",
            state.auth.config.base_path
        )),
        Ok(false) => code_page(
            Status::UnprocessableEntity,
            form.email.trim(),
            Some(
                "That code is not right, or it has expired. Check the latest mail or send a new code.",
            ),
        ),
        Err(e) => Reply::failed(e),
    }
}

#[get("/confirm/<token>")]
async fn link_page(state: &State<SigraState>, _csrf: CsrfToken, token: &str) -> Reply {
    match confirmation::link_valid(&state.auth, token).await {
        Ok(valid) => token_page("confirmation_link", token, valid, Context::new()),
        Err(e) => Reply::failed(e),
    }
}

#[post("/confirm/<token>", data = "<_form>", rank = 2)]
async fn by_link(
    state: &State<SigraState>,
    token: &str,
    _form: CsrfForm<NoFields>,
    meta: ClientMeta,
) -> Reply {
    match confirmation::confirm_by_link(&state.auth, token, &meta.0).await {
        Ok(true) => Reply::see_other(format!(
            "{}/log_in?notice=confirmed",
            state.auth.config.base_path
        )),
        Ok(false) => token_page("confirmation_link", token, false, Context::new()),
        Err(e) => Reply::failed(e),
    }
}

#[post("/confirm/resend", data = "<form>", rank = 1)]
async fn resend(state: &State<SigraState>, form: CsrfForm<ResendForm>, meta: ClientMeta) -> Reply {
    let email = form.into_inner().email;
    match confirmation::resend(&state.auth, &email, &meta.0).await {
        Ok(()) => email_sent(&email, "confirmation"),
        Err(e) => Reply::failed(e),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![page, by_code, link_page, by_link, resend]
}
