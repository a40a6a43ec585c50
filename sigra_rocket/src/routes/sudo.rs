//! `GET/POST <base>/sudo?return_to=`: re-enter the password for sensitive actions.

use rocket::http::{CookieJar, Status};
use rocket::{FromForm, Route, State, get, post, routes};
use sigra_core::features::sudo::{self, SudoOutcome};
use tera::Context;

use crate::SecretField;
use crate::guards::{AuthenticatedUser, ClientMeta, CsrfForm, CsrfToken};
use crate::respond::{Reply, clean_return_to, safe_return_to};
use crate::state::SigraState;

/// The sudo form.
#[derive(Debug, FromForm)]
pub struct SudoForm {
    password: SecretField,
}

fn form_page(
    user: &AuthenticatedUser,
    status: Status,
    error: Option<&str>,
    return_to: Option<String>,
) -> Reply {
    let mut context = Context::new();
    context.insert("email", user.email());
    context.insert("error", &error);
    context.insert("return_to", &clean_return_to(return_to));
    Reply::page(status, "sudo", context)
}

#[get("/sudo?<return_to>")]
fn page(user: AuthenticatedUser, _csrf: CsrfToken, return_to: Option<String>) -> Reply {
    form_page(&user, Status::Ok, None, return_to)
}

#[post("/sudo?<return_to>", data = "<form>")]
async fn confirm(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    user: AuthenticatedUser,
    form: CsrfForm<SudoForm>,
    meta: ClientMeta,
    return_to: Option<String>,
) -> Reply {
    let password = form.into_inner().password.into();
    match sudo::confirm(&state.auth, user.authenticated(), &password, &meta.0).await {
        Ok(SudoOutcome::Confirmed(token)) => {
            state.cookies.set_session(jar, &token);
            let settings = format!("{}/settings", state.auth.config.base_path);
            Reply::see_other(safe_return_to(return_to.as_deref(), &settings))
        }
        Ok(_) => form_page(
            &user,
            Status::Unauthorized,
            Some("That password is not right."),
            return_to,
        ),
        Err(e) => Reply::failed(e),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![page, confirm]
}
