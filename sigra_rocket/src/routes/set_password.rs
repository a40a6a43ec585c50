//! `POST <base>/settings/set-password` (sudo): a first password for an account without one.

use rocket::http::{CookieJar, Status};
use rocket::{FromForm, Route, State, post, routes};
use sigra_core::features::set_password::set_password;
use tera::Context;

use crate::SecretField;
use crate::guards::{SigraForm, SudoUser};
use crate::respond::Reply;
use crate::state::SigraState;

/// The set-password form.
#[derive(Debug, FromForm)]
pub struct SetPasswordForm {
    password: SecretField,
    password_confirmation: SecretField,
}

#[post("/settings/set-password", data = "<form>")]
async fn set(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    user: SudoUser,
    form: SigraForm<SetPasswordForm>,
) -> Reply {
    let (form, meta) = form.into_parts();
    let (password, confirmation) = (form.password.into(), form.password_confirmation.into());
    match set_password(
        &state.auth,
        user.authenticated(),
        &password,
        &confirmation,
        &meta,
    )
    .await
    {
        Ok(Ok(token)) => {
            state.cookies.set_session(jar, &token);
            let base = &state.auth.config.base_path;
            Reply::see_other(format!("{base}/settings?notice=password_set"))
        }
        Ok(Err(errors)) => {
            let mut extra = Context::new();
            extra.insert("set_password_errors", &errors);
            if user.authenticated().user.has_password() {
                extra.insert(
                    "error_message",
                    "Your account already has a password; use change password.",
                );
            }
            let status = Status::UnprocessableEntity;
            super::settings::settings_page(state, &user, status, None, extra)
                .await
                .invalid_fields(&errors)
        }
        Err(e) => Reply::failed(e),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![set]
}
