//! Scheduled account deletion: `POST <base>/settings/delete` (sudo) schedules it and
//! logs out everywhere; `GET <base>/settings/delete` is the page a session of an account
//! with a pending deletion is sent to; `POST <base>/settings/delete/cancel` keeps the
//! account.

use rocket::http::{CookieJar, Status};
use rocket::{Route, State, get, post, routes};
use sigra_core::features::{deletion, human_time};
use tera::Context;

use crate::guards::{CsrfToken, NoFields, SecondFactorPassed, SigraForm, SudoUser};
use crate::respond::Reply;
use crate::state::SigraState;

fn page(delete_at: time::OffsetDateTime, logged_in: bool) -> Reply {
    let mut context = Context::new();
    context.insert("delete_at", &human_time(delete_at));
    context.insert("logged_in", &logged_in);
    let at = delete_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    Reply::page(Status::Ok, "deletion", context).with("delete_at", at)
}

#[post("/settings/delete", data = "<form>")]
async fn schedule(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    user: SudoUser,
    form: SigraForm<NoFields>,
) -> Reply {
    match deletion::schedule_deletion(&state.auth, user.authenticated(), form.meta()).await {
        Ok(delete_at) => {
            state.cookies.clear_auth(jar);
            page(delete_at, false)
        }
        Err(e) => Reply::failed(e),
    }
}

#[get("/settings/delete")]
fn pending(state: &State<SigraState>, session: SecondFactorPassed, _csrf: CsrfToken) -> Reply {
    let base = &state.auth.config.base_path;
    match session.authenticated().user.deletion_scheduled_at {
        Some(delete_at) => page(delete_at, true),
        None => Reply::see_other(format!("{base}/settings")),
    }
}

#[post("/settings/delete/cancel", data = "<form>")]
async fn cancel(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    session: SecondFactorPassed,
    form: SigraForm<NoFields>,
) -> Reply {
    let base = &state.auth.config.base_path;
    match deletion::cancel_deletion(&state.auth, session.authenticated(), form.meta()).await {
        Ok(rotated) => {
            if let Some(token) = rotated {
                state.cookies.set_session(jar, &token);
            }
            Reply::see_other(format!("{base}/settings?notice=deletion_cancelled"))
        }
        Err(e) => Reply::failed(e),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![schedule, pending, cancel]
}
