//! `GET/POST <base>/sudo?return_to=`: re-enter the password for sensitive actions.

use rocket::http::{CookieJar, Status};
use rocket::{FromForm, Route, State, get, post, routes};
use sigra_core::features::sudo::{self, SudoOutcome};
use tera::Context;

use super::{has_passkeys, linked_providers};
use crate::SecretField;
use crate::guards::{AuthenticatedUser, CsrfToken, SigraForm};
use crate::respond::{INVALID_PASSWORD, Refusal, Reply, clean_return_to, safe_return_to};
use crate::state::SigraState;

/// The sudo form.
#[derive(Debug, FromForm)]
pub struct SudoForm {
    password: SecretField,
}

pub(crate) async fn form_page(
    state: &SigraState,
    user: &AuthenticatedUser,
    refusal: Option<Refusal>,
    return_to: Option<String>,
) -> Reply {
    let mut context = Context::new();
    context.insert(
        "has_passkeys",
        &has_passkeys(state, user.authenticated()).await,
    );
    context.insert("email", user.email());
    context.insert("has_password", &user.authenticated().user.has_password());
    // Sudo through a provider: the providers this account is linked with.
    let linked = linked_providers(state, user.authenticated()).await;
    context.insert("linked_providers", &linked);
    context.insert("error", &refusal.map(|r| r.message));
    context.insert("return_to", &clean_return_to(return_to));
    match refusal {
        Some(refusal) => Reply::refused(refusal, "sudo", context),
        None => Reply::page(Status::Ok, "sudo", context),
    }
}

#[get("/sudo?<return_to>")]
async fn page(
    state: &State<SigraState>,
    user: AuthenticatedUser,
    _csrf: CsrfToken,
    return_to: Option<String>,
) -> Reply {
    form_page(state, &user, None, return_to).await
}

#[post("/sudo?<return_to>", data = "<form>")]
async fn confirm(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    user: AuthenticatedUser,
    form: SigraForm<SudoForm>,
    return_to: Option<String>,
) -> Reply {
    let (form, meta) = form.into_parts();
    let password = form.password.into();
    match sudo::confirm(&state.auth, user.authenticated(), &password, &meta).await {
        Ok(SudoOutcome::Confirmed(token)) => {
            state.cookies.set_session(jar, &token);
            let settings = format!("{}/settings", state.auth.config.base_path);
            Reply::see_other(safe_return_to(return_to.as_deref(), &settings))
        }
        Ok(_) => form_page(state, &user, Some(INVALID_PASSWORD), return_to).await,
        Err(e) => Reply::failed(e),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![page, confirm]
}
