//! `GET <base>/settings/export` (sudo): the account's own data as a JSON download.

use rocket::http::{ContentType, Header, Status};
use rocket::{Responder, Route, State, get, routes};
use sigra_core::features::data_export;

use crate::guards::{ClientMeta, SudoUser};
use crate::state::SigraState;

#[derive(Responder)]
struct Download {
    body: (ContentType, String),
    disposition: Header<'static>,
}

#[get("/settings/export")]
async fn export(
    state: &State<SigraState>,
    user: SudoUser,
    meta: ClientMeta,
) -> Result<Download, Status> {
    let data = data_export::export(&state.auth, user.authenticated(), &meta.0)
        .await
        .map_err(|e| {
            log::error!("data export failed ({}): {e}", e.reason());
            Status::InternalServerError
        })?;
    let body = serde_json::to_string_pretty(&data).map_err(|_| Status::InternalServerError)?;
    Ok(Download {
        body: (ContentType::JSON, body),
        disposition: Header::new(
            "Content-Disposition",
            "attachment; filename=\"account-data.json\"",
        ),
    })
}

pub(crate) fn routes() -> Vec<Route> {
    routes![export]
}
