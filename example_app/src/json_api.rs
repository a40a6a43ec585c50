//! A small JSON API (the `api` feature): `GET/POST /api/notes`, each user's own notes, in
//! memory. Called with `Authorization: Bearer <access token or API key>` (or from a
//! logged-in browser with its session cookie and `X-CSRF-Token`). API keys carry the
//! scopes their owner picked from `sigra.api_keys.scopes`; sessions and access tokens
//! hold every scope.

use std::collections::HashMap;
use std::sync::Mutex;

use rocket::http::Status;
use rocket::serde::json::{Json, Value, json};
use rocket::{Build, Rocket, State};
use sigra_rocket::guards::{Scope, Scoped};

/// Mounts the API on `rocket`.
pub fn mount(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket
        .manage(Notes::default())
        .mount("/", routes![list_notes, add_note])
}

/// May list notes.
struct NotesRead;
impl Scope for NotesRead {
    const NAME: &'static str = "notes:read";
}

/// May add notes.
struct NotesWrite;
impl Scope for NotesWrite {
    const NAME: &'static str = "notes:write";
}

/// Each user's notes, in memory (an example; a real app keeps them in its database).
#[derive(Default)]
struct Notes(Mutex<HashMap<uuid::Uuid, Vec<String>>>);

/// `GET /api/notes`: the caller's notes.
#[get("/api/notes")]
fn list_notes(notes: &State<Notes>, caller: Scoped<NotesRead>) -> Json<Value> {
    let id = caller.caller().user_id();
    let all = notes.0.lock().map(|n| n.get(&id).cloned()).ok().flatten();
    Json(json!({ "notes": all.unwrap_or_default() }))
}

#[derive(serde::Deserialize)]
struct NewNote {
    text: String,
}

/// `POST /api/notes` (`{"text": "…"}`): adds a note.
#[post("/api/notes", data = "<note>")]
fn add_note(
    notes: &State<Notes>,
    caller: Scoped<NotesWrite>,
    note: Json<NewNote>,
) -> (Status, Json<Value>) {
    let text: String = note.into_inner().text.chars().take(1000).collect();
    if let Ok(mut all) = notes.0.lock() {
        all.entry(caller.caller().user_id())
            .or_default()
            .push(text.clone());
    }
    (
        Status::Created,
        Json(json!({ "text": text, "via": caller.caller().via().name() })),
    )
}
