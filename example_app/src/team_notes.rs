//! Team notes (`/notes`, the `organizations` feature): notes that belong to the active
//! organization. Every member of it reads and adds them, nobody else sees them. They live
//! in the app's own table, `example_notes`, in Sigra's database (`Connection<SigraDb>`),
//! and every query on it is scoped with `Membership::scope`, so a request only ever
//! reaches its organization's rows.

use rocket::fairing::AdHoc;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{Build, Rocket, Route};
use rocket_dyn_templates::{Template, context};
use sigra_rocket::rocket_db_pools::{Connection, Database};
use sigra_rocket::sea_query::{Alias, Order, Query};
use sigra_rocket::sigra_core::store::{Backend, Db, Executor};
use sigra_rocket::{ActiveOrganization, AuthenticatedUser, CsrfForm, LayoutContext, SigraDb};

/// Mounts the notes on `rocket` and creates their table at launch.
pub fn mount(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket.attach(org_notes_table()).mount("/", routes())
}

fn routes() -> Vec<Route> {
    routes![org_notes, add_org_note]
}

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
#[derive(Debug, serde::Serialize)]
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
    // Rows read as tuples: sqlx decodes those without its derive macros.
    let rows: Vec<(String, String)> = db.fetch_all(&stmt).await.map_err(|e| {
        eprintln!("team notes: listing the notes of {}: {e}", org.slug());
        Status::InternalServerError
    })?;
    Ok(rows
        .into_iter()
        .map(|(body, author)| OrgNote { body, author })
        .collect())
}

/// Renders the team notes page, with a refused draft and why when there is one.
async fn render_org_notes(
    sigra: LayoutContext,
    db: &Db,
    org: &ActiveOrganization,
    refused: Option<(&str, &str)>,
) -> Result<Template, Status> {
    let notes = org_notes_of(db, org).await?;
    let (error, draft) = refused.unzip();
    Ok(Template::render(
        "notes",
        context! {
            sigra,
            org_name: org.name(),
            role: org.role().as_str(),
            notes,
            max_chars: ORG_NOTE_MAX_CHARS,
            error,
            draft: draft.unwrap_or_default(),
        },
    ))
}

/// `GET /notes`: the active organization's notes and a form to add one.
#[get("/notes")]
async fn org_notes(
    db: Connection<SigraDb>,
    org: ActiveOrganization,
    sigra: LayoutContext,
) -> Result<Template, Status> {
    render_org_notes(sigra, &db, &org, None).await
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
    Refused(Box<(Status, Template)>),
}

/// `POST /notes` (`body`, `_csrf`): adds a note to the active organization, written by
/// the caller.
#[post("/notes", data = "<form>")]
async fn add_org_note(
    db: Connection<SigraDb>,
    org: ActiveOrganization,
    user: AuthenticatedUser,
    sigra: LayoutContext,
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
        let page = render_org_notes(sigra, &db, &org, Some((&why, &draft))).await?;
        return Ok(OrgNotePosted::Refused(Box::new((
            Status::UnprocessableEntity,
            page,
        ))));
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
