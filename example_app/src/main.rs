//! An example Rocket app protected by Sigra: a public home page, a dashboard behind
//! `AuthenticatedUser`, a sudo-protected action, team notes (`/notes`) shared by the
//! members of the active organization and kept in the app's own table (`example_notes`)
//! in Sigra's database, and a small JSON API (`/api/notes`, each user's own notes, in
//! memory) behind `ApiCaller` and scopes. Its own pages are Tera templates in
//! `templates/`; it overrides one Sigra page in `templates/sigra/`.

#[macro_use]
extern crate rocket;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use rocket::fairing::AdHoc;
use rocket::figment::Figment;
use rocket::figment::providers::{Env, Format, Toml};
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::response::content::RawHtml;
use rocket::serde::json::{Json, Value, json};
use rocket::{Build, Config, Rocket, State};
use sigra_rocket::guards::{ApiCaller, Scope, Scoped};
use sigra_rocket::rocket_db_pools::{Connection, Database};
use sigra_rocket::sea_query::{Alias, Order, Query};
use sigra_rocket::sigra_core::store::{Backend, Db, Executor};
use sigra_rocket::{
    ActiveOrganization, AuthenticatedUser, CsrfForm, CsrfToken, OptionalUser, Sigra, SigraDb,
    SudoUser,
};

/// The app's own pages.
struct Pages(tera::Tera);

impl Pages {
    fn load() -> Result<Pages, tera::Error> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut tera = tera::Tera::default();
        tera.autoescape_on(vec![".html.tera"]);
        tera.add_template_files(["home", "dashboard", "notes"].map(|page| {
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

// --- Team notes ------------------------------------------------------------------------
// Notes that belong to the active organization: every member of it reads and adds them,
// nobody else sees them. They live in the app's own table, `example_notes`, in Sigra's
// database (`Connection<SigraDb>`), and every query on it is scoped with
// `Membership::scope`, so a request only ever reaches its organization's rows.

/// The app's table of team notes.
const ORG_NOTES: &str = "example_notes";

/// The longest note, in characters.
const ORG_NOTE_MAX_CHARS: usize = 1000;

/// Creates `example_notes` when missing. Attached after `Sigra::fairing()`, whose ignite
/// step opens the pool and runs Sigra's migrations (the table refers to
/// `sigra_organizations`: deleting an organization deletes its notes).
fn org_notes_table() -> AdHoc {
    AdHoc::try_on_ignite("Example app: team notes table", |rocket| async move {
        let Some(db) = SigraDb::fetch(&rocket).map(|pool| pool.db().clone()) else {
            eprintln!(
                "team notes: the `sigra` database is not open (attach Sigra::fairing() first)"
            );
            return Err(rocket);
        };
        match create_org_notes_table(&db).await {
            Ok(()) => Ok(rocket),
            Err(e) => {
                eprintln!("team notes: cannot create table {ORG_NOTES}: {e}");
                Err(rocket)
            }
        }
    })
}

/// The DDL of `example_notes` on each backend. Ids are UUIDv7, so ordering by id is
/// ordering by creation.
async fn create_org_notes_table(db: &Db) -> Result<(), sqlx::Error> {
    // One table on every backend; only the UUID column type differs.
    let uuid = match db.backend() {
        Backend::Sqlite => "BLOB",
        Backend::Postgres => "UUID",
        Backend::MySql => "BINARY(16)",
        _ => {
            return Err(sqlx::Error::Configuration(
                "the team notes support SQLite, PostgreSQL and MySQL only".into(),
            ));
        }
    };
    let table = format!(
        "CREATE TABLE IF NOT EXISTS example_notes (
            id {uuid} NOT NULL PRIMARY KEY,
            organization_id {uuid} NOT NULL,
            author TEXT NOT NULL,
            body TEXT NOT NULL,
            CONSTRAINT example_notes_org_fk FOREIGN KEY (organization_id)
                REFERENCES sigra_organizations (id) ON DELETE CASCADE
        )"
    );
    // MySQL indexes the foreign key by itself (and has no `CREATE INDEX IF NOT EXISTS`).
    let index = "CREATE INDEX IF NOT EXISTS example_notes_organization_idx \
                 ON example_notes (organization_id)";
    let statements = match db.backend() {
        Backend::MySql => vec![table],
        _ => vec![table, index.to_owned()],
    };
    for sql in statements {
        let sql = sqlx::AssertSqlSafe(sql);
        match db {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(drop)?,
            #[cfg(feature = "postgres")]
            Db::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(drop)?,
            #[cfg(feature = "mysql")]
            Db::MySql(pool) => sqlx::query(sql).execute(pool).await.map(drop)?,
            _ => {}
        }
    }
    Ok(())
}

/// A team note as the page shows it.
#[derive(Debug, serde::Serialize, sqlx::FromRow)]
struct OrgNote {
    body: String,
    author: String,
}

/// The active organization's notes, newest first.
async fn org_notes_of(db: &Db, org: &ActiveOrganization) -> Result<Vec<OrgNote>, Status> {
    let stmt = Query::select()
        .columns([Alias::new("body"), Alias::new("author")])
        .from(Alias::new(ORG_NOTES))
        .cond_where(org.scope(Alias::new("organization_id")))
        .order_by(Alias::new("id"), Order::Desc)
        .to_owned();
    db.fetch_all(&stmt).await.map_err(|e| {
        eprintln!("team notes: listing the notes of {}: {e}", org.slug());
        Status::InternalServerError
    })
}

/// Renders the team notes page, with a refused draft and why when there is one.
async fn render_org_notes(
    pages: &Pages,
    db: &Db,
    org: &ActiveOrganization,
    csrf: &CsrfToken,
    refused: Option<(&str, &str)>,
) -> Result<RawHtml<String>, Status> {
    let notes = org_notes_of(db, org).await?;
    let (error, draft) = refused.unzip();
    let mut context = tera::Context::new();
    context.insert("org_name", org.name());
    context.insert("role", org.role().as_str());
    context.insert("notes", &notes);
    context.insert("csrf_token", csrf.as_str());
    context.insert("max_chars", &ORG_NOTE_MAX_CHARS);
    context.insert("error", &error);
    context.insert("draft", draft.unwrap_or_default());
    pages.render("notes", &context)
}

/// `GET /notes`: the active organization's notes and a form to add one.
#[get("/notes")]
async fn org_notes(
    pages: &State<Pages>,
    db: Connection<SigraDb>,
    org: ActiveOrganization,
    csrf: CsrfToken,
) -> Result<RawHtml<String>, Status> {
    render_org_notes(pages, &db, &org, &csrf, None).await
}

#[derive(FromForm)]
struct NoteForm {
    #[field(default = String::new())]
    body: String,
}

/// What `POST /notes` answers.
#[derive(Responder)]
enum OrgNotePosted {
    /// Added: back to the list (303).
    Added(Box<Redirect>),
    /// Refused (empty or too long): the page again, with the draft and why.
    Refused((Status, RawHtml<String>)),
}

/// `POST /notes` (`body`, `_csrf`): adds a note to the active organization, written by
/// the caller.
#[post("/notes", data = "<form>")]
async fn add_org_note(
    pages: &State<Pages>,
    db: Connection<SigraDb>,
    org: ActiveOrganization,
    user: AuthenticatedUser,
    csrf: CsrfToken,
    form: CsrfForm<NoteForm>,
) -> Result<OrgNotePosted, Status> {
    let draft = form.into_inner().body;
    let body = draft.trim();
    let chars = body.chars().count();
    if chars == 0 || chars > ORG_NOTE_MAX_CHARS {
        let why = if chars == 0 {
            "Write something first.".to_owned()
        } else {
            format!("A note holds at most {ORG_NOTE_MAX_CHARS} characters; this one has {chars}.")
        };
        let page = render_org_notes(pages, &db, &org, &csrf, Some((&why, &draft))).await?;
        return Ok(OrgNotePosted::Refused((Status::UnprocessableEntity, page)));
    }
    let stmt = Query::insert()
        .into_table(Alias::new(ORG_NOTES))
        .columns([
            Alias::new("id"),
            Alias::new("organization_id"),
            Alias::new("author"),
            Alias::new("body"),
        ])
        .values([
            uuid::Uuid::now_v7().into(),
            org.org_id().into(),
            user.email().to_owned().into(),
            body.to_owned().into(),
        ])
        .map(|stmt| stmt.to_owned())
        .map_err(|e| {
            eprintln!("team notes: building the insert: {e}");
            Status::InternalServerError
        })?;
    db.execute(&stmt).await.map_err(|e| {
        eprintln!("team notes: adding a note to {}: {e}", org.slug());
        Status::InternalServerError
    })?;
    Ok(OrgNotePosted::Added(Box::new(Redirect::to("/notes"))))
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
        .attach(org_notes_table())
        .manage(pages)
        .manage(Notes::default())
        .mount(
            "/",
            routes![
                home,
                dashboard,
                danger,
                org_notes,
                add_org_note,
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
