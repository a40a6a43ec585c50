//! Email confirmation: `GET/POST <base>/confirm` (code), `GET/POST <base>/confirm/<token>`
//! (link), `POST <base>/confirm/resend`.

use rocket::http::{CookieJar, Status};
use rocket::{FromForm, Route, State, get, post, routes};
use sigra_core::crypto::TokenKind;
use sigra_core::features::confirmation;
use tera::Context;

use crate::guards::{CsrfToken, LiveSession, NoFields, SigraForm};
use crate::respond::{INVALID_CODE, Reply, email_sent, token_page};
use crate::state::SigraState;

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

fn code_page(email: &str, error: Option<&str>) -> Reply {
    let mut context = Context::new();
    context.insert("form", &serde_json::json!({ "email": email }));
    context.insert("error", &error);
    match error {
        Some(_) => Reply::refused(INVALID_CODE, "confirmation", context),
        None => Reply::page(Status::Ok, "confirmation", context),
    }
}

#[get("/confirm?<email>")]
fn page(_csrf: CsrfToken, email: Option<String>) -> Reply {
    code_page(email.as_deref().unwrap_or_default(), None)
}

#[post("/confirm", data = "<form>")]
async fn by_code(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    session: LiveSession,
    form: SigraForm<CodeForm>,
) -> Reply {
    let (form, meta) = form.into_parts();
    let current = session.0.as_ref();
    match confirmation::confirm_by_code(&state.auth, &form.email, &form.code, current, &meta).await
    {
        Ok(Some(confirmed)) => after_confirmation(state, jar, confirmed),
        Ok(None) => code_page(
            form.email.trim(),
            Some(
                "That code is not right, or it has expired. Check the latest mail or send a new code.",
            ),
        ),
        Err(e) => Reply::failed(e),
    }
}

/// A browser signed in to the confirmed account keeps its session under a new token and
/// goes to the settings page; any other goes to the log-in page.
fn after_confirmation(
    state: &SigraState,
    jar: &CookieJar<'_>,
    confirmed: confirmation::Confirmed,
) -> Reply {
    let base = &state.auth.config.base_path;
    match confirmed.session_token {
        Some(token) => {
            state.cookies.set_session(jar, &token);
            Reply::see_other(format!("{base}/settings?notice=confirmed"))
        }
        None => Reply::see_other(format!("{base}/log_in?notice=confirmed")),
    }
}

#[get("/confirm/<token>")]
async fn link_page(state: &State<SigraState>, _csrf: CsrfToken, token: &str) -> Reply {
    match state.auth.link_valid(TokenKind::Confirmation, token).await {
        Ok(valid) => token_page("confirmation_link", token, valid, Context::new()),
        Err(e) => Reply::failed(e),
    }
}

#[post("/confirm/<token>", data = "<form>", rank = 2)]
async fn by_link(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    session: LiveSession,
    token: &str,
    form: SigraForm<NoFields>,
) -> Reply {
    match confirmation::confirm_by_link(&state.auth, token, session.0.as_ref(), form.meta()).await {
        Ok(Some(confirmed)) => after_confirmation(state, jar, confirmed),
        Ok(None) => token_page("confirmation_link", token, false, Context::new()),
        Err(e) => Reply::failed(e),
    }
}

#[post("/confirm/resend", data = "<form>", rank = 1)]
async fn resend(state: &State<SigraState>, form: SigraForm<ResendForm>) -> Reply {
    let (form, meta) = form.into_parts();
    match confirmation::resend(&state.auth, &form.email, &meta).await {
        Ok(()) => email_sent(&form.email, "confirmation"),
        Err(e) => Reply::failed(e),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![page, by_code, link_page, by_link, resend]
}
