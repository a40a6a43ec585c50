//! An example Rocket app protected by Sigra: a public home page, a dashboard behind
//! `AuthenticatedUser`, a sudo-protected action, and a small JSON API (`/api/notes`)
//! behind `ApiCaller` and scopes. Its own two pages are Tera templates in `templates/`;
//! it overrides one Sigra page in `templates/sigra/`.

#[macro_use]
extern crate rocket;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use rocket::figment::Figment;
use rocket::figment::providers::{Env, Format, Toml};
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::response::content::RawHtml;
use rocket::serde::json::{Json, Value, json};
use rocket::{Build, Config, Rocket, State};
use sigra_rocket::guards::{ApiCaller, Scope, Scoped};
use sigra_rocket::{AuthenticatedUser, CsrfForm, CsrfToken, OptionalUser, Sigra, SudoUser};

/// The app's own pages.
struct Pages(tera::Tera);

impl Pages {
    fn load() -> Result<Pages, tera::Error> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut tera = tera::Tera::default();
        tera.autoescape_on(vec![".html.tera"]);
        tera.add_template_files(["home", "dashboard"].map(|page| {
            let file = format!("{page}.html.tera");
            (dir.join(&file), Some(file))
        }))?;
        Ok(Pages(tera))
    }

    fn render(&self, page: &str, context: &tera::Context) -> Result<RawHtml<String>, Status> {
        self.0
            .render(&format!("{page}.html.tera"), context)
            .map(RawHtml)
            .map_err(|e| {
                eprintln!("rendering {page}: {e}");
                Status::InternalServerError
            })
    }
}

#[get("/")]
fn home(
    pages: &State<Pages>,
    user: OptionalUser,
    csrf: CsrfToken,
) -> Result<RawHtml<String>, Status> {
    let mut context = tera::Context::new();
    context.insert("email", &user.user().map(|u| u.email().to_owned()));
    context.insert("csrf_token", csrf.as_str());
    pages.render("home", &context)
}

#[get("/dashboard?<done>")]
fn dashboard(
    pages: &State<Pages>,
    user: AuthenticatedUser,
    csrf: CsrfToken,
    done: Option<bool>,
) -> Result<RawHtml<String>, Status> {
    let mut context = tera::Context::new();
    context.insert("email", user.email());
    context.insert("csrf_token", csrf.as_str());
    context.insert("done", &done.unwrap_or(false));
    pages.render("dashboard", &context)
}

#[derive(FromForm)]
struct Danger {
    #[field(default = String::new())]
    confirm: String,
}

/// A sensitive action: only within 15 minutes of entering the password.
#[post("/danger", data = "<form>")]
fn danger(user: SudoUser, form: CsrfForm<Danger>) -> Redirect {
    let _ = (&user, form.into_inner().confirm);
    Redirect::to("/dashboard?done=true")
}

// --- A small JSON API ------------------------------------------------------------------
// Called with `Authorization: Bearer <access token or API key>` (or from a logged-in
// browser with its session cookie and `X-CSRF-Token`). API keys carry the scopes their
// owner picked from `sigra.api_keys.scopes`; sessions and access tokens hold every scope.

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

// --- Benchmark routes (used by `bench/load.sh` and `bench/api.sh`) -----------------
// The same tiny text with and without the `AuthenticatedUser` guard, so the benchmark can
// measure what the guard costs per request. Not part of the example's features.

/// Benchmark route: no guard.
#[get("/bench/open")]
fn bench_open() -> &'static str {
    "ok"
}

/// Benchmark route: the same answer behind `AuthenticatedUser`.
#[get("/bench/guarded")]
fn bench_guarded(_user: AuthenticatedUser) -> &'static str {
    "ok"
}

/// Benchmark route: the same answer behind `ApiCaller` (access token, API key or session).
#[get("/bench/api")]
fn bench_api(_caller: ApiCaller) -> &'static str {
    "ok"
}

// --- End of benchmark routes ---------------------------------------------------------

/// Rocket's usual configuration (defaults, then `Rocket.toml`, then `ROCKET_*`), with the
/// file and templates found next to this crate wherever `cargo run` is started from.
fn figment() -> Figment {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let toml = std::env::var("ROCKET_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|_| here.join("Rocket.toml"));
    Figment::from(Config::default())
        .merge(("template_dir", here.join("templates")))
        .merge(Toml::file(toml).nested())
        .merge(Env::prefixed("ROCKET_").ignore(&["PROFILE"]).global())
        .select(rocket::figment::Profile::from_env_or(
            "ROCKET_PROFILE",
            default_profile(),
        ))
}

fn default_profile() -> rocket::figment::Profile {
    if cfg!(debug_assertions) {
        Config::DEBUG_PROFILE
    } else {
        Config::RELEASE_PROFILE
    }
}

fn app(figment: Figment, pages: Pages) -> Rocket<Build> {
    rocket::custom(figment)
        .attach(Sigra::fairing())
        .manage(pages)
        .manage(Notes::default())
        .mount(
            "/",
            routes![
                home,
                dashboard,
                danger,
                list_notes,
                add_note,
                bench_open,
                bench_guarded,
                bench_api
            ],
        )
}

#[launch]
fn rocket() -> _ {
    match Pages::load() {
        Ok(pages) => app(figment(), pages),
        Err(e) => {
            eprintln!("cannot load the example app's templates: {e}");
            std::process::exit(1)
        }
    }
}
