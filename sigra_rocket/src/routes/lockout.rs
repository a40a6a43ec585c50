//! `GET/POST <base>/unlock/<token>`: the unlock link mailed when an account locks.

use rocket::{Route, State, get, post, routes};
use sigra_core::crypto::TokenKind;
use sigra_core::features::lockout::{self, UnlockOutcome};
use tera::Context;

use crate::guards::{CsrfToken, NoFields, SigraForm};
use crate::respond::{Reply, token_page};
use crate::state::SigraState;

#[get("/unlock/<token>")]
async fn page(state: &State<SigraState>, _csrf: CsrfToken, token: &str) -> Reply {
    match state.auth.link_valid(TokenKind::Unlock, token).await {
        Ok(valid) => token_page("lockout", token, valid, Context::new()),
        Err(e) => Reply::failed(e),
    }
}

#[post("/unlock/<token>", data = "<form>")]
async fn unlock(state: &State<SigraState>, token: &str, form: SigraForm<NoFields>) -> Reply {
    match lockout::unlock(&state.auth, token, form.meta()).await {
        Ok(UnlockOutcome::Unlocked) => Reply::see_other(format!(
            "{}/log_in?notice=unlocked",
            state.auth.config.base_path
        )),
        Ok(_) => token_page("lockout", token, false, Context::new()),
        Err(e) => Reply::failed(e),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![page, unlock]
}
