//! `sigra templates eject [PAGE…]`: copies Sigra's embedded default templates
//! ([`sigra_rocket::templates::defaults`]) into the app's template folder under `sigra/`,
//! where the fairing picks them up as overrides.
//!
//! Never clobbers: every target is checked first, and when any exists the run names each
//! one, copies nothing and fails, so a run is all or nothing and can be repeated once the
//! named files are moved away. Each file is then created with `create_new`, so a file
//! that appears meanwhile is not overwritten either (the run stops there, naming it).

use std::collections::BTreeSet;
use std::io::Write;

use sigra_rocket::templates::{DefaultTemplate, defaults};

use crate::settings::Settings;
use crate::{CliError, Status};

/// Copies the named pages (all when `pages` is empty) into `<template_dir>/sigra/`.
pub fn eject(settings: &Settings, pages: &[String]) -> Result<Status, CliError> {
    let chosen = select(pages)?;
    let dir = settings.template_dir();
    let existing: Vec<_> = chosen
        .iter()
        .map(|t| dir.join(&t.path))
        .filter(|target| target.symlink_metadata().is_ok())
        .collect();
    if !existing.is_empty() {
        for target in &existing {
            eprintln!("sigra: {} exists: not overwritten", target.display());
        }
        eprintln!(
            "sigra: nothing copied; move the file(s) above away (or name other pages) and run again"
        );
        return Ok(Status::Failed);
    }
    for template in &chosen {
        let target = dir.join(&template.path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                CliError::Failed(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .map_err(|e| CliError::Failed(format!("cannot create {}: {e}", target.display())))?;
        file.write_all(template.source.as_bytes())
            .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", target.display())))?;
        println!("ejected {}", target.display());
    }
    println!(
        "Ejected {} template(s) into {}: edit them there; the app loads them at its next launch.",
        chosen.len(),
        dir.join("sigra").display()
    );
    Ok(Status::Done)
}

/// The defaults of the named pages, in the order they are named (every default when none
/// is); an unknown name is a usage error listing the known ones.
fn select(pages: &[String]) -> Result<Vec<DefaultTemplate>, CliError> {
    let all = defaults();
    if pages.is_empty() {
        return Ok(all);
    }
    let mut chosen = Vec::new();
    let mut seen = BTreeSet::new();
    for page in pages {
        let page = page.trim_start_matches("sigra/");
        let found: Vec<&DefaultTemplate> = all.iter().filter(|t| t.page == page).collect();
        if found.is_empty() {
            let known: BTreeSet<&str> = all.iter().map(|t| t.page.as_str()).collect();
            let known: Vec<&str> = known.into_iter().collect();
            return Err(CliError::Usage(format!(
                "no default template `{page}`; the pages are: {}",
                known.join(", ")
            )));
        }
        for template in found {
            if seen.insert(template.path.clone()) {
                chosen.push(template.clone());
            }
        }
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_or_a_mail_selects_its_files() {
        let login = select(&["login".into()]).unwrap();
        assert_eq!(login.len(), 1);
        assert_eq!(login[0].path, "sigra/login.html.tera");
        let mail = select(&["email/reset_password".into(), "login".into()]).unwrap();
        let paths: Vec<&str> = mail.iter().map(|t| t.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "sigra/email/reset_password.txt.tera",
                "sigra/email/reset_password.html.tera",
                "sigra/login.html.tera",
            ]
        );
        let err = select(&["logn".into()]).unwrap_err().to_string();
        assert!(
            err.contains("`logn`") && err.contains("email/reset_password"),
            "{err}"
        );
        assert_eq!(select(&[]).unwrap().len(), defaults().len());
    }
}
