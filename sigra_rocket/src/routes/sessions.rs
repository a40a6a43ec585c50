//! The sessions listed on the settings page: revoke one, or all but this one.

use rocket::http::{CookieJar, Status};
use rocket::{Route, State, delete, post, routes};
use sigra_core::features::sessions::{self, RevokeOutcome};
use uuid::Uuid;

use crate::guards::{AuthenticatedUser, NoFields, SigraForm};
use crate::respond::Reply;
use crate::state::SigraState;

#[delete("/settings/sessions/<id>", data = "<form>")]
async fn revoke(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    user: AuthenticatedUser,
    id: &str,
    form: SigraForm<NoFields>,
) -> Reply {
    let Ok(id) = Uuid::parse_str(id) else {
        return Reply::Error(Status::NotFound);
    };
    match sessions::revoke(&state.auth, user.authenticated(), id, form.meta()).await {
        Ok(_) if id == user.session_id() => {
            state.cookies.clear_auth(jar);
            Reply::see_other(state.auth.config.after_logout_path.clone())
        }
        Ok(RevokeOutcome::Revoked) => Reply::see_other(format!(
            "{}/settings?notice=revoked",
            state.auth.config.base_path
        )),
        Ok(_) => Reply::Error(Status::NotFound),
        Err(e) => Reply::failed(e),
    }
}

#[post("/settings/sessions/others", data = "<form>")]
async fn revoke_others(
    state: &State<SigraState>,
    user: AuthenticatedUser,
    form: SigraForm<NoFields>,
) -> Reply {
    match sessions::revoke_others(&state.auth, user.authenticated(), form.meta()).await {
        Ok(_) => Reply::see_other(format!(
            "{}/settings?notice=others_revoked",
            state.auth.config.base_path
        )),
        Err(e) => Reply::failed(e),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![revoke, revoke_others]
}
