//! `POST <base>/settings/mfa/backup-codes` (sudo): a new set of backup codes, shown once.

use rocket::http::Status;
use rocket::{Route, State, post, routes};
use sigra_core::features::backup_codes;
use tera::Context;

use crate::guards::{NoFields, SigraForm, SudoUser};
use crate::respond::Reply;
use crate::state::SigraState;

#[post("/settings/mfa/backup-codes", data = "<form>")]
async fn regenerate(state: &State<SigraState>, user: SudoUser, form: SigraForm<NoFields>) -> Reply {
    let me = user.authenticated();
    match backup_codes::regenerate(&state.auth, me, form.meta()).await {
        Ok(Some(codes)) => {
            let mut context = Context::new();
            context.insert(
                "notice",
                "New backup codes are ready. The old ones no longer work.",
            );
            let codes = Some(codes.as_slice());
            super::mfa_totp::settings_page(
                state,
                me.user.id,
                true,
                Status::Ok,
                None,
                codes,
                context,
            )
            .await
        }
        Ok(None) => Reply::see_other(format!("{}/settings/mfa", state.auth.config.base_path)),
        Err(e) => Reply::failed(e),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![regenerate]
}
