//! Sigra's pages: embedded Tera templates, each overridable by a host file
//! `templates/sigra/<page>.html.tera` (in Rocket's `template_dir`).
//!
//! Sigra renders its pages with a Tera instance of its own, so it never competes with
//! the host's `rocket_dyn_templates` fairing: a host app keeps its `Template::fairing()`.
//! To let the host's own templates extend Sigra's layout, register Sigra's templates
//! into it — the one line a host with its own Tera templates adds:
//!
//! ```no_run
//! # use rocket_dyn_templates::Template;
//! let templates = Template::try_custom(|engines| Ok(sigra_rocket::templates::register(&mut engines.tera)?));
//! ```
//!
//! Every template is registered under a name ending in `.html` (`sigra/login.html`), so
//! Tera autoescapes it, whether it is the embedded default or the host's file.

use std::path::{Path, PathBuf};

use rocket::figment::Figment;
use rocket::http::ContentType;
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
/// else Rocket's `template_dir`, else `templates` (relative to the working directory).
/// The fairing loads overrides from it when it exists; `sigra templates eject` copies the
/// defaults into it.
pub fn template_dir(figment: &Figment, config: &SigraConfig) -> PathBuf {
    config
        .template_dir
        .as_ref()
        .map(PathBuf::from)
        .or_else(|| figment.extract_inner::<PathBuf>("template_dir").ok())
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
            // rocket_dyn_templates names host files without extensions; alias them
            // under the `.html` name Sigra renders (and which Tera autoescapes).
            raw.push((html_name, format!("{{% extends \"{file_name}\" %}}")));
        } else {
            raw.push((html_name, (*source).to_owned()));
        }
    }
    tera.add_raw_templates(raw)
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
