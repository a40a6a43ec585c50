//! `GET /dev/mailbox` and `GET /dev/mailbox/json`: mail Sigra sent, for development.
//! Mounted only when `sigra.dev_mailbox` is on (the default in debug builds).

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{Route, State, get, routes};
use sigra_core::mail::StoredMail;

use tera::Context;

use crate::guards::OptionalUser;
use crate::respond::Reply;
use crate::state::SigraState;

fn links(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
        .map(|w| w.trim_end_matches(['.', ',', ')', '>']).to_owned())
        .collect()
}

#[get("/mailbox")]
fn mailbox(state: &State<SigraState>, _user: OptionalUser) -> Reply {
    let Some(mailbox) = state.dev_mailbox.as_ref() else {
        return Reply::Error(Status::NotFound);
    };
    let mails: Vec<_> = mailbox
        .list()
        .into_iter()
        .map(|m| {
            serde_json::json!({
                "id": m.id,
                "to": m.to.join(", "),
                "subject": m.subject,
                "sent_at": super::human_time(m.sent_at),
                "links": links(&m.text),
                "text": m.text,
            })
        })
        .collect();
    let mut context = Context::new();
    context.insert("mails", &mails);
    Reply::page(Status::Ok, "dev_mailbox", context)
}

#[get("/mailbox/json")]
fn mailbox_json(state: &State<SigraState>) -> Result<Json<Vec<StoredMail>>, Status> {
    let mailbox = state.dev_mailbox.as_ref().ok_or(Status::NotFound)?;
    Ok(Json(mailbox.list()))
}

/// The dev mailbox routes, mounted at `/dev`.
pub fn routes() -> Vec<Route> {
    routes![mailbox, mailbox_json]
}
