//! `POST <base>/settings/password`: change the password from the settings page.

use rocket::http::{CookieJar, Status};
use rocket::{FromForm, Route, State, post, routes};
use sigra_core::features::change_password::{ChangePasswordInput, change_password};
use tera::Context;

use crate::SecretField;
use crate::guards::{AuthenticatedUser, SigraForm};
use crate::respond::Reply;
use crate::state::SigraState;

/// The change-password form.
#[derive(Debug, FromForm)]
pub struct ChangePasswordForm {
    current_password: SecretField,
    password: SecretField,
    password_confirmation: SecretField,
}

#[post("/settings/password", data = "<form>")]
async fn change(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    user: AuthenticatedUser,
    form: SigraForm<ChangePasswordForm>,
) -> Reply {
    let (form, meta) = form.into_parts();
    let input = ChangePasswordInput {
        current_password: form.current_password.into(),
        password: form.password.into(),
        password_confirmation: form.password_confirmation.into(),
    };
    match change_password(&state.auth, user.authenticated(), &input, &meta).await {
        Ok(Ok(token)) => {
            state.cookies.set_session(jar, &token);
            let base = &state.auth.config.base_path;
            Reply::see_other(format!("{base}/settings?notice=password_changed"))
        }
        Ok(Err(errors)) => {
            let mut extra = Context::new();
            extra.insert("password_errors", &errors);
            let status = Status::UnprocessableEntity;
            super::settings::settings_page(state, &user, status, None, extra)
                .await
                .invalid_fields(&errors)
        }
        Err(e) => Reply::failed(e),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![change]
}
