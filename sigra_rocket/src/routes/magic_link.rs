//! Magic links: `POST <base>/magic-link`, `GET/POST <base>/magic-link/<token>`.

use rocket::http::CookieJar;
use rocket::{FromForm, Route, State, get, post, routes};
use sigra_core::crypto::TokenKind;
use sigra_core::features::login::LoginOutcome;
use sigra_core::features::magic_link;
use tera::Context;

use crate::guards::{CsrfToken, LiveSession, SigraForm};
use crate::respond::{Reply, email_sent, token_page};
use crate::state::SigraState;

/// The request form.
#[derive(Debug, FromForm)]
pub struct RequestForm {
    #[field(default = String::new())]
    email: String,
}

/// The landing page's form.
#[derive(Debug, FromForm)]
pub struct UseForm {
    #[field(default = false)]
    remember_me: bool,
}

#[post("/magic-link", data = "<form>")]
async fn request(state: &State<SigraState>, form: SigraForm<RequestForm>) -> Reply {
    let (form, meta) = form.into_parts();
    let email = form.email;
    match magic_link::request(&state.auth, &email, &meta).await {
        Ok(()) => email_sent(&email, "magic_link"),
        Err(e) => Reply::failed(e),
    }
}

#[get("/magic-link/<token>")]
async fn page(state: &State<SigraState>, _csrf: CsrfToken, token: &str) -> Reply {
    match state.auth.link_valid(TokenKind::MagicLink, token).await {
        Ok(valid) => token_page("magic_link", token, valid, Context::new()),
        Err(e) => Reply::failed(e),
    }
}

#[post("/magic-link/<token>", data = "<form>")]
async fn log_in(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    session: LiveSession,
    token: &str,
    form: SigraForm<UseForm>,
) -> Reply {
    let (form, meta) = form.into_parts();
    let remember_me = form.remember_me;
    let previous = session.0.as_ref();
    let trusted = state.cookies.trusted_browser(jar);
    let outcome = match magic_link::log_in(
        &state.auth,
        token,
        remember_me,
        previous,
        trusted.as_deref(),
        &meta,
    )
    .await
    {
        Ok(outcome) => outcome,
        Err(e) => return Reply::failed(e),
    };
    let next = state.auth.config.after_login_path.clone();
    if let Some(reply) = super::login::logged_in(state, jar, &outcome, next) {
        return reply;
    }
    match outcome {
        LoginOutcome::Unconfirmed { email } => super::login::unconfirmed_page(&email),
        _ => token_page("magic_link", token, false, Context::new()),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![request, page, log_in]
}
