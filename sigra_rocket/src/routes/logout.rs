//! `DELETE <base>/log_out` (a POST form with `_method=DELETE`).

use rocket::http::CookieJar;
use rocket::{Route, State, delete, routes};
use sigra_core::features::logout;

use crate::guards::{LiveSession, NoFields, SigraForm};
use crate::respond::Reply;
use crate::state::SigraState;

#[delete("/log_out", data = "<form>")]
async fn log_out(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    session: LiveSession,
    form: SigraForm<NoFields>,
) -> Reply {
    let remember = jar
        .get(&state.cookies.remember)
        .map(|c| c.value().to_owned());
    let result = match &session.0 {
        // Logging out of an impersonation ends it and brings the admin back.
        #[cfg(feature = "admin")]
        Some(current) if current.session.impersonator_id.is_some() => {
            return super::impersonation::end(state, jar, current, form.meta()).await;
        }
        Some(current) => {
            logout::log_out(&state.auth, current, remember.as_deref(), form.meta()).await
        }
        None => match &remember {
            Some(cookie) => logout::forget(&state.auth, cookie).await,
            None => Ok(()),
        },
    };
    if let Err(e) = result {
        return Reply::failed(e);
    }
    state.cookies.clear_auth(jar);
    Reply::see_other(state.auth.config.after_logout_path.clone())
}

pub(crate) fn routes() -> Vec<Route> {
    routes![log_out]
}
