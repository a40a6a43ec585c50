//! `GET/POST <base>/register`.

use rocket::http::Status;
use rocket::{FromForm, Route, State, get, post, routes};
use sigra_core::features::registration::{self, RegistrationErrors, RegistrationInput};
use tera::Context;

use crate::SecretField;
use crate::guards::{ClientMeta, CsrfForm, CsrfToken, OptionalUser};
use crate::respond::Reply;
use crate::state::SigraState;

/// The registration form.
#[derive(Debug, FromForm)]
pub struct RegistrationForm {
    #[field(default = String::new())]
    email: String,
    password: SecretField,
}

fn form_page(
    state: &SigraState,
    status: Status,
    email: &str,
    errors: &RegistrationErrors,
) -> Reply {
    let mut context = Context::new();
    context.insert("form", &serde_json::json!({ "email": email }));
    context.insert("errors", errors);
    context.insert("password_min", &state.auth.config.password.min_length);
    context.insert("password_max", &state.auth.config.password.max_length);
    Reply::page(status, "registration", context)
}

#[get("/register")]
fn page(state: &State<SigraState>, user: OptionalUser, _csrf: CsrfToken) -> Reply {
    if user.0.is_some() {
        return Reply::see_other(state.auth.config.after_login_path.clone());
    }
    form_page(state, Status::Ok, "", &RegistrationErrors::default())
}

#[post("/register", data = "<form>")]
async fn register(
    state: &State<SigraState>,
    form: CsrfForm<RegistrationForm>,
    meta: ClientMeta,
) -> Reply {
    let form = form.into_inner();
    let input = RegistrationInput {
        email: form.email.clone(),
        password: form.password.into(),
    };
    match registration::register(&state.auth, &input, &meta.0).await {
        Ok(Ok(sent)) => {
            let mut context = Context::new();
            context.insert("email", &sent.email);
            Reply::page(Status::Ok, "registration_sent", context)
        }
        Ok(Err(errors)) => form_page(
            state,
            Status::UnprocessableEntity,
            form.email.trim(),
            &errors,
        ),
        Err(e) => Reply::failed(e),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![page, register]
}
