//! An example Rocket app protected by Sigra: a public home page, a dashboard behind
//! `AuthenticatedUser` that greets by the display name asked at registration (custom
//! fields kept in `example_profiles`), a sudo-protected action, team notes (`/notes`) shared by the
//! members of the active organization and kept in the app's own table (`example_notes`)
//! in Sigra's database, and a small JSON API (`/api/notes`, each user's own notes, in
//! memory) behind `ApiCaller` and scopes. Its own pages are Tera templates in
//! `templates/`; it overrides one Sigra page in `templates/sigra/`.
//!
//! Its Cargo features are Sigra's, forwarded: the team notes need `organizations`, the
//! JSON API `api`; `--no-default-features --features sqlite` builds the app without
//! them.

#[macro_use]
extern crate rocket;

#[cfg(feature = "api")]
mod json_api;
mod profiles;
#[cfg(feature = "organizations")]
mod team_notes;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use rocket::figment::Figment;
use rocket::figment::providers::{Env, Format, Toml};
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::response::content::RawHtml;
use rocket::{Build, Config, Rocket, State};
use sigra_rocket::rocket_db_pools::Connection;
use sigra_rocket::{
    AuthenticatedUser, CsrfForm, CsrfToken, OptionalUser, Sigra, SigraDb, SudoUser,
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
async fn dashboard(
    pages: &State<Pages>,
    db: Connection<SigraDb>,
    user: AuthenticatedUser,
    csrf: CsrfToken,
    done: Option<bool>,
) -> Result<RawHtml<String>, Status> {
    let mut context = tera::Context::new();
    context.insert("email", user.email());
    let display_name = profiles::display_name(&db, user.id()).await;
    context.insert("display_name", &display_name);
    context.insert("csrf_token", csrf.as_str());
    context.insert("done", &done.unwrap_or(false));
    // The team notes and the organization pages need Sigra's `organizations` feature.
    context.insert("organizations", &cfg!(feature = "organizations"));
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
    let rocket = rocket::custom(figment)
        .attach(Sigra::fairing().user_fields(profiles::Profiles))
        .manage(pages)
        .mount(
            "/",
            routes![home, dashboard, danger, bench_open, bench_guarded],
        );
    let rocket = profiles::mount(rocket);
    #[cfg(feature = "organizations")]
    let rocket = team_notes::mount(rocket);
    #[cfg(feature = "api")]
    let rocket = json_api::mount(rocket);
    rocket
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
