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

use rocket::response::Redirect;
use rocket::{Build, Rocket};
use rocket_dyn_templates::{Template, context};
use sigra_rocket::rocket_db_pools::Connection;
use sigra_rocket::{AuthenticatedUser, CsrfForm, LayoutContext, Sigra, SigraDb, SudoUser};

#[get("/")]
fn home(sigra: LayoutContext) -> Template {
    Template::render("home", context! { sigra })
}

#[get("/dashboard?<done>")]
async fn dashboard(
    db: Connection<SigraDb>,
    user: AuthenticatedUser,
    sigra: LayoutContext,
    done: Option<bool>,
) -> Template {
    let display_name = profiles::display_name(&db, user.id()).await;
    Template::render(
        "dashboard",
        context! {
            sigra,
            email: user.email(),
            display_name,
            done: done.unwrap_or(false),
            // The team notes and the organization pages need Sigra's `organizations` feature.
            organizations: cfg!(feature = "organizations"),
        },
    )
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

/// Benchmark routes (the `bench` feature, off by default; `bench/*.sh` build with it): the
/// same tiny text with and without the `AuthenticatedUser` guard, so a benchmark measures
/// what the guard costs per request.
#[cfg(feature = "bench")]
mod bench {
    use sigra_rocket::AuthenticatedUser;

    /// No guard.
    #[get("/bench/open")]
    pub fn open() -> &'static str {
        "ok"
    }

    /// The same answer behind `AuthenticatedUser`.
    #[get("/bench/guarded")]
    pub fn guarded(_user: AuthenticatedUser) -> &'static str {
        "ok"
    }

    /// `bench/api.sh`: the same answer behind `ApiCaller` (access token, API key or
    /// session).
    #[cfg(feature = "api")]
    #[get("/bench/api")]
    pub fn api(_caller: sigra_rocket::ApiCaller) -> &'static str {
        "ok"
    }

    /// The routes, for `mount`.
    pub fn routes() -> Vec<rocket::Route> {
        #[allow(unused_mut)]
        let mut routes = routes![open, guarded];
        #[cfg(feature = "api")]
        routes.extend(routes![api]);
        routes
    }
}

/// The app on `rocket` (built from Rocket's ordinary configuration: `Rocket.toml`, then
/// `ROCKET_*` and `SIGRA_*` variables).
fn app(rocket: Rocket<Build>) -> Rocket<Build> {
    let rocket = rocket
        // The app's pages: rocket_dyn_templates, Sigra's templates loaded first so the
        // pages extend Sigra's layout.
        .attach(sigra_rocket::templates::fairing())
        .attach(Sigra::security_headers())
        .attach(Sigra::fairing().user_fields(profiles::Profiles))
        .mount("/", routes![home, dashboard, danger]);
    #[cfg(feature = "bench")]
    let rocket = rocket.mount("/", bench::routes());
    let rocket = profiles::mount(rocket);
    #[cfg(feature = "organizations")]
    let rocket = team_notes::mount(rocket);
    #[cfg(feature = "api")]
    let rocket = json_api::mount(rocket);
    rocket
}

#[launch]
fn rocket() -> _ {
    app(rocket::build())
}
