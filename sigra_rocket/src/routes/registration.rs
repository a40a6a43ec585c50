//! `GET/POST <base>/register`, with the host's custom fields when it declared some
//! ([`super::user_fields`]): the page renders them, the form (url-encoded or JSON) sends
//! them by their names next to `email` and `password`.

use rocket::http::Status;
use rocket::{Route, State, get, post, routes};
use sigra_core::features::registration::{self, RegistrationErrors, RegistrationInput};
use sigra_core::features::user_fields::UserFieldValues;
use tera::Context;

use super::user_fields::{WithUserFields, user_fields_view};
use crate::SecretField;
use crate::guards::{CsrfToken, OptionalUser, SigraForm};
use crate::respond::Reply;
use crate::state::SigraState;

/// The registration form.
#[derive(Debug, rocket::FromForm)]
pub struct RegistrationForm {
    #[field(default = String::new())]
    email: String,
    password: SecretField,
}

fn form_page(
    state: &SigraState,
    email: &str,
    sent: &UserFieldValues,
    errors: &RegistrationErrors,
) -> Reply {
    let mut context = Context::new();
    context.insert("form", &serde_json::json!({ "email": email }));
    context.insert("errors", errors);
    context.insert("user_fields", &user_fields_view(state, sent, errors));
    context.insert("password_min", &state.auth.config.password.min_length);
    context.insert("password_max", &state.auth.config.password.max_length);
    if errors.is_empty() {
        Reply::page(Status::Ok, "registration", context)
    } else {
        Reply::invalid("registration", context, errors)
    }
}

#[get("/register")]
fn page(state: &State<SigraState>, user: OptionalUser, _csrf: CsrfToken) -> Reply {
    if user.0.is_some() {
        return Reply::see_other(state.auth.config.after_login_path.clone());
    }
    form_page(
        state,
        "",
        &UserFieldValues::new(),
        &RegistrationErrors::default(),
    )
}

#[post("/register", data = "<form>")]
async fn register(
    state: &State<SigraState>,
    form: SigraForm<WithUserFields<RegistrationForm>>,
) -> Reply {
    let (WithUserFields { form, user_fields }, meta) = form.into_parts();
    let input = RegistrationInput {
        email: form.email.clone(),
        password: form.password.into(),
        user_fields,
    };
    match registration::register(&state.auth, &input, &meta).await {
        Ok(Ok(sent)) => {
            let mut context = Context::new();
            context.insert("email", &sent.email);
            Reply::page(Status::Ok, "registration_sent", context)
                .with("next", format!("{}/confirm", state.auth.config.base_path))
        }
        Ok(Err(errors)) => form_page(state, form.email.trim(), &input.user_fields, &errors),
        Err(e) => Reply::failed(e),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![page, register]
}
