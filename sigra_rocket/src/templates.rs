//! Sigra's pages: embedded Tera templates, each overridable by a host file
//! `templates/sigra/<page>.html.tera` (in Rocket's `template_dir`).
//!
//! Sigra renders its pages with a Tera instance of its own, so it never competes with
//! the host's `rocket_dyn_templates` fairing.
//!
//! A host whose own pages extend Sigra's layout (`{% extends "sigra/layout.html" %}`, with
//! the [`LayoutContext`](crate::LayoutContext) guard filling `sigra`) attaches
//! [`fairing()`] in place of `Template::fairing()`:
//!
//! ```no_run
//! # #[macro_use] extern crate rocket;
//! use rocket_dyn_templates::{Template, context};
//! use sigra_rocket::{LayoutContext, Sigra};
//!
//! #[get("/")]
//! fn home(sigra: LayoutContext) -> Template {
//!     Template::render("home", context! { sigra })
//! }
//!
//! #[launch]
//! fn rocket() -> _ {
//!     rocket::build()
//!         .attach(sigra_rocket::templates::fairing())
//!         .attach(Sigra::fairing())
//!         .mount("/", routes![home])
//! }
//! ```
//!
//! Why not `Template::try_custom(…)` with Sigra's templates added in the callback:
//! `rocket_dyn_templates` loads every file of `template_dir` at once, and Tera refuses a
//! template whose parent is not loaded yet; that check runs before any callback, so a page
//! that extends Sigra's layout (or an override in `sigra/`, which does too) stops the
//! launch. [`fairing()`] gives `rocket_dyn_templates` a folder of empty files with the same
//! names (for the names and content types) and loads the real folder itself after Sigra's templates ([`register_with`]), naming files the way
//! `rocket_dyn_templates` does (`home.html.tera` is `home`). Trade-off: in debug builds
//! `rocket_dyn_templates` no longer reloads an edited template; restart the app. A host
//! whose templates never extend Sigra's keeps `Template::fairing()`, or uses [`register`]
//! in `Template::try_custom` to render Sigra's pages by name.
//!
//! Every template is registered under a name ending in `.html` (`sigra/login.html`), so
//! Tera autoescapes it, whether it is the embedded default or the host's file.

use std::path::{Path, PathBuf};

use rocket::fairing::{AdHoc, Fairing};
use rocket::figment::Figment;
use rocket::figment::value::magic::RelativePathBuf;
use rocket::http::ContentType;
use rocket_dyn_templates::Template;
use sigra_core::SigraConfig;
use tera::Tera;

/// The embedded default pages, by name.
pub const PAGES: &[(&str, &str)] = &[
    (
        "layout",
        include_str!("../templates/sigra/layout.html.tera"),
    ),
    (
        "macros",
        include_str!("../templates/sigra/macros.html.tera"),
    ),
    (
        "registration",
        include_str!("../templates/sigra/registration.html.tera"),
    ),
    (
        "registration_sent",
        include_str!("../templates/sigra/registration_sent.html.tera"),
    ),
    ("login", include_str!("../templates/sigra/login.html.tera")),
    ("sudo", include_str!("../templates/sigra/sudo.html.tera")),
    (
        "settings",
        include_str!("../templates/sigra/settings.html.tera"),
    ),
    (
        "deletion",
        include_str!("../templates/sigra/deletion.html.tera"),
    ),
    (
        "mfa_totp",
        include_str!("../templates/sigra/mfa_totp.html.tera"),
    ),
    ("mfa", include_str!("../templates/sigra/mfa.html.tera")),
    (
        "api_keys",
        include_str!("../templates/sigra/api_keys.html.tera"),
    ),
    (
        "passkeys",
        include_str!("../templates/sigra/passkeys.html.tera"),
    ),
    ("oauth", include_str!("../templates/sigra/oauth.html.tera")),
    (
        "confirmation",
        include_str!("../templates/sigra/confirmation.html.tera"),
    ),
    (
        "confirmation_link",
        include_str!("../templates/sigra/confirmation_link.html.tera"),
    ),
    (
        "magic_link",
        include_str!("../templates/sigra/magic_link.html.tera"),
    ),
    (
        "email_sent",
        include_str!("../templates/sigra/email_sent.html.tera"),
    ),
    (
        "reset_password",
        include_str!("../templates/sigra/reset_password.html.tera"),
    ),
    (
        "reset_password_edit",
        include_str!("../templates/sigra/reset_password_edit.html.tera"),
    ),
    (
        "lockout",
        include_str!("../templates/sigra/lockout.html.tera"),
    ),
    (
        "change_email",
        include_str!("../templates/sigra/change_email.html.tera"),
    ),
    ("error", include_str!("../templates/sigra/error.html.tera")),
    ("admin", include_str!("../templates/sigra/admin.html.tera")),
    (
        "admin_users",
        include_str!("../templates/sigra/admin_users.html.tera"),
    ),
    (
        "admin_user",
        include_str!("../templates/sigra/admin_user.html.tera"),
    ),
    (
        "admin_organizations",
        include_str!("../templates/sigra/admin_organizations.html.tera"),
    ),
    (
        "admin_organization",
        include_str!("../templates/sigra/admin_organization.html.tera"),
    ),
    ("audit", include_str!("../templates/sigra/audit.html.tera")),
    (
        "audit_verify",
        include_str!("../templates/sigra/audit_verify.html.tera"),
    ),
    (
        "organizations",
        include_str!("../templates/sigra/organizations.html.tera"),
    ),
    (
        "organization",
        include_str!("../templates/sigra/organization.html.tera"),
    ),
    (
        "invitation",
        include_str!("../templates/sigra/invitation.html.tera"),
    ),
    (
        "dev_mailbox",
        include_str!("../templates/sigra/dev_mailbox.html.tera"),
    ),
];

/// The stylesheet served at `<base_path>/assets/sigra.css`.
pub const STYLESHEET: &str = include_str!("../templates/sigra/assets/sigra.css");

/// The script served at `<base_path>/assets/sigra.js` (conveniences such as copying a
/// new API key; every page works without it).
pub const SCRIPT: &str = include_str!("../templates/sigra/assets/sigra.js");

/// The script served at `<base_path>/assets/sigra-webauthn.js`: the browser half of
/// passkey ceremonies (WebAuthn needs script; the pages' other ways in do not). The
/// `passkeys` feature's.
#[cfg(feature = "passkeys")]
pub const WEBAUTHN_SCRIPT: &str = include_str!("../templates/sigra/assets/sigra-webauthn.js");

/// The folder whose `sigra/` holds the host's page and mail overrides: `sigra.template_dir`,
/// else Rocket's `template_dir` (read as `rocket_dyn_templates` reads it: a path in
/// `Rocket.toml` is relative to that file), else `templates` (relative to the working
/// directory).
/// The fairing loads overrides from it when it exists; `sigra templates eject` copies the
/// defaults into it.
pub fn template_dir(figment: &Figment, config: &SigraConfig) -> PathBuf {
    config
        .template_dir
        .as_ref()
        .map(PathBuf::from)
        .or_else(|| {
            figment
                .extract_inner::<RelativePathBuf>("template_dir")
                .ok()
                .map(|dir| dir.relative())
        })
        .unwrap_or_else(|| PathBuf::from("templates"))
}

/// One embedded default template, as a host would copy it to override it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DefaultTemplate {
    /// The page it belongs to: `login`, or `email/<kind>` for a mail (`email/layout` for
    /// the mails' shared HTML layout). A mail has two files (text and HTML).
    pub page: String,
    /// Its path under the template folder: `sigra/login.html.tera`,
    /// `sigra/email/reset_password.txt.tera`.
    pub path: String,
    /// The default source.
    pub source: &'static str,
}

/// Every embedded default page and mail template, pages first, in a stable order (read
/// only: what an override replaces).
pub fn defaults() -> Vec<DefaultTemplate> {
    let pages = PAGES.iter().map(|(page, source)| DefaultTemplate {
        page: (*page).to_owned(),
        path: format!("sigra/{page}.html.tera"),
        source,
    });
    let mails = sigra_core::mail::default_files()
        .iter()
        .map(|(file, source)| {
            let kind = file.split('.').next().unwrap_or(file);
            DefaultTemplate {
                page: format!("email/{kind}"),
                path: format!("sigra/email/{file}"),
                source,
            }
        });
    pages.chain(mails).collect()
}

/// A Tera template name for a page: `sigra/<page>.html`.
pub fn name(page: &str) -> String {
    format!("sigra/{page}.html")
}

/// Adds Sigra's default pages to `tera`, leaving any page the host already defines
/// (as `sigra/<page>` from a file, or `sigra/<page>.html`) in charge.
pub fn register(tera: &mut Tera) -> Result<(), tera::Error> {
    let existing: Vec<String> = tera.get_template_names().map(str::to_owned).collect();
    let mut raw = Vec::new();
    for (page, source) in PAGES {
        let html_name = name(page);
        let file_name = format!("sigra/{page}");
        if existing.contains(&html_name) {
            continue;
        }
        if existing.contains(&file_name) {
            raw.push(alias(&file_name));
        } else {
            raw.push((html_name, (*source).to_owned()));
        }
    }
    tera.add_raw_templates(raw)
}

/// rocket_dyn_templates names a host file without extensions (`sigra/login`): the
/// template that makes it Sigra's `sigra/login.html` (the name Sigra renders, and which
/// Tera autoescapes).
fn alias(file_name: &str) -> (String, String) {
    (
        format!("{file_name}.html"),
        format!("{{% extends \"{file_name}\" %}}"),
    )
}

/// Adds Sigra's default pages to `tera`, then every `*.tera` file under `dir` (when it
/// exists) named as `rocket_dyn_templates` names it (`home.html.tera` is `home`,
/// `sigra/login.html.tera` is `sigra/login`), so the host's files may extend
/// `sigra/layout.html`. A host file `sigra/<page>` then stands in for Sigra's
/// `sigra/<page>.html` (an overridden layout is the one every page extends).
pub fn register_with(tera: &mut Tera, dir: &Path) -> Result<(), tera::Error> {
    tera.add_raw_templates(PAGES.iter().map(|(page, source)| (name(page), *source)))?;
    let mut files = Vec::new();
    if dir.is_dir() {
        collect_templates(dir, dir, &mut files)?;
    }
    let names: Vec<String> = files.iter().map(|(_, name)| name.clone()).collect();
    tera.add_template_files(files.into_iter().map(|(path, name)| (path, Some(name))))?;
    let aliases: Vec<(String, String)> = PAGES
        .iter()
        .map(|(page, _)| format!("sigra/{page}"))
        .filter(|file_name| names.contains(file_name))
        .map(|file_name| alias(&file_name))
        .collect();
    tera.add_raw_templates(aliases)
}

/// The `*.tera` files under `dir`, with `rocket_dyn_templates`' names relative to `root`.
fn collect_templates(
    root: &Path,
    dir: &Path,
    out: &mut Vec<(PathBuf, String)>,
) -> Result<(), tera::Error> {
    let unreadable = |e: std::io::Error| {
        tera::Error::msg(format!(
            "cannot read the template folder {}: {e}",
            dir.display()
        ))
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(unreadable)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(unreadable)?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_templates(root, &path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "tera") {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            // `home.html.tera` → `home`: the engine's extension, then the data type's.
            let stem = relative.with_extension("");
            let name = stem.with_extension("");
            let name = name.to_string_lossy().replace('\\', "/");
            out.push((path, name));
        }
    }
    Ok(())
}

/// `rocket_dyn_templates`' fairing for a host whose templates extend Sigra's layout: the
/// host's `Template` responder, with Sigra's templates loaded first and then the files of
/// Rocket's `template_dir` (see the module's documentation for why it hands
/// `rocket_dyn_templates` a folder of empty stand-ins). Sigra's own pages still take their overrides
/// from the same folder.
pub fn fairing() -> impl Fairing {
    AdHoc::try_on_ignite("Templates (Sigra's, then the app's)", |rocket| async move {
        let dir = rocket
            .figment()
            .extract_inner::<RelativePathBuf>("template_dir")
            .map(|dir| dir.relative())
            .unwrap_or_else(|_| PathBuf::from("templates"));
        let names = match name_stubs(&dir) {
            Ok(names) => names,
            Err(e) => {
                log::error!("templates: {e}");
                return Err(rocket);
            }
        };
        let mut figment = rocket.figment().clone().merge(("template_dir", names));
        // Sigra's fairing reads its overrides from `sigra.template_dir` first: keep it on
        // the host's folder, whichever fairing ignites first.
        if figment.find_value("sigra.template_dir").is_err() {
            figment = figment.merge(("sigra.template_dir", dir.clone()));
        }
        let templates =
            Template::try_custom(move |engines| Ok(register_with(&mut engines.tera, &dir)?));
        Ok(rocket.configure(figment).attach(templates))
    })
}

/// A folder of empty files named like the host's templates under `dir`, for
/// `rocket_dyn_templates` to scan: it takes each template's content type from its file
/// name (`home.html.tera` is HTML) and knows only the names it found, while the templates
/// themselves come from [`register_with`]. One folder per host folder, under the system's
/// temporary folder, shared by the launches that use it (a stand-in is only ever added:
/// one left by a template since deleted is an empty page nobody renders).
fn name_stubs(dir: &Path) -> Result<PathBuf, tera::Error> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut hasher);
    let stubs = std::env::temp_dir()
        .join("sigra-template-names")
        .join(format!("{:016x}", hasher.finish()));
    let failed =
        |e: std::io::Error| tera::Error::msg(format!("cannot write {}: {e}", stubs.display()));
    std::fs::create_dir_all(&stubs).map_err(failed)?;
    let mut files = Vec::new();
    if dir.is_dir() {
        collect_templates(dir, dir, &mut files)?;
    }
    for (path, _) in files {
        let stub = stubs.join(path.strip_prefix(dir).unwrap_or(&path));
        if let Some(parent) = stub.parent() {
            std::fs::create_dir_all(parent).map_err(failed)?;
        }
        if !stub.exists() {
            std::fs::write(&stub, "").map_err(failed)?;
        }
    }
    Ok(stubs)
}

/// Sigra's own template engine: the defaults, overridden by files under
/// `<template_dir>/sigra/`.
#[derive(Debug)]
pub struct Pages {
    tera: Tera,
}

impl Pages {
    /// Loads the defaults and the host's overrides from `template_dir`, if it exists.
    pub fn load(template_dir: Option<&Path>) -> Result<Pages, tera::Error> {
        let mut tera = Tera::default();
        tera.autoescape_on(vec![".html"]);
        let mut raw: Vec<(String, String)> = Vec::new();
        for (page, source) in PAGES {
            let file = template_dir.map(|dir| dir.join("sigra").join(format!("{page}.html.tera")));
            let text = match file {
                Some(path) if path.is_file() => std::fs::read_to_string(&path).map_err(|e| {
                    tera::Error::msg(format!("cannot read {}: {e}", path.display()))
                })?,
                _ => (*source).to_owned(),
            };
            raw.push((name(page), text));
        }
        tera.add_raw_templates(raw)?;
        Ok(Pages { tera })
    }

    /// Renders a page.
    pub fn render(
        &self,
        page: &str,
        context: &tera::Context,
    ) -> Result<(ContentType, String), tera::Error> {
        self.tera
            .render(&name(page), context)
            .map(|html| (ContentType::HTML, html))
    }
}
