//! One feature, one name (DESIGN §2): every `sigra_core/src/features/<name>.rs` has a
//! route module `sigra_rocket/src/routes/<name>.rs`, a test file `tests/<name>.rs` and a
//! README heading naming `` `<name>` ``; every route module has a core module of its
//! name. The exceptions are listed in [`EXEMPT`], each with its reason.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A place a feature's name must appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// `sigra_core/src/features/<name>.rs`
    Core,
    /// `sigra_rocket/src/routes/<name>.rs`
    Route,
    /// `tests/<name>.rs`
    Test,
    /// A README heading containing `` `<name>` ``.
    Readme,
}

use Part::{Core, Readme, Route, Test};

/// Names that lack some of the parts, and why.
const EXEMPT: &[(&str, &[Part], &str)] = &[
    (
        "change",
        &[Route, Test, Readme],
        "the unit of work every flow ends in, not a feature; tested through the flows",
    ),
    (
        "new_device",
        &[Route],
        "a mail the log-in flows send; the sessions page is its link target",
    ),
    (
        "password_upgrade",
        &[Route],
        "an offline job host code runs (wrap_bcrypt_hashes); no page",
    ),
    (
        "trusted_browser",
        &[Route],
        "the cookie the MFA challenge sets (routes/mfa.rs); no page of its own",
    ),
    (
        "json",
        &[Core],
        "JSON mode's own endpoints (GET csrf, GET openapi.json) for every feature; tested in tests/json.rs",
    ),
    (
        "assets",
        &[Core],
        "the stylesheet Sigra's pages load; web-only, not a feature",
    ),
    (
        "dev_mailbox",
        &[Core],
        "a development view of the mail outbox; web-only, not a feature",
    ),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The stems of the `.rs` files in `dir` (under the workspace root), `mod.rs` aside.
fn modules(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|stem| stem != "mod")
        .collect()
}

/// The names in backticks of the README's headings.
fn readme_headings() -> BTreeSet<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    readme
        .lines()
        .filter(|line| line.starts_with('#'))
        .flat_map(|line| line.split('`').skip(1).step_by(2).map(str::to_owned))
        .collect()
}

fn exempt(name: &str, part: Part) -> bool {
    EXEMPT
        .iter()
        .any(|(n, parts, _)| *n == name && parts.contains(&part))
}

/// What `names` lack of `part`, as `name: what is missing` lines.
fn missing(names: &BTreeSet<String>, part: Part, present: &BTreeSet<String>) -> Vec<String> {
    let place = |name: &str| match part {
        Core => format!("sigra_core/src/features/{name}.rs"),
        Route => format!("sigra_rocket/src/routes/{name}.rs"),
        Test => format!("tests/{name}.rs"),
        Readme => format!("README heading with `{name}`"),
    };
    names
        .iter()
        .filter(|name| !present.contains(*name) && !exempt(name, part))
        .map(|name| format!("{name}: no {}", place(name)))
        .collect()
}

#[test]
fn every_feature_has_a_route_module_a_test_file_and_a_readme_heading_of_its_name() {
    let features = modules("sigra_core/src/features");
    assert!(features.contains("login"), "{features:?}");
    let mut problems = missing(&features, Route, &modules("sigra_rocket/src/routes"));
    problems.extend(missing(&features, Test, &modules("tests")));
    problems.extend(missing(&features, Readme, &readme_headings()));
    assert!(
        problems.is_empty(),
        "add the missing part, or an entry with its reason to EXEMPT in tests/layout.rs:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_route_module_has_a_feature_of_its_name() {
    let routes = modules("sigra_rocket/src/routes");
    assert!(routes.contains("login"), "{routes:?}");
    let problems = missing(&routes, Core, &modules("sigra_core/src/features"));
    assert!(
        problems.is_empty(),
        "add the missing part, or an entry with its reason to EXEMPT in tests/layout.rs:\n{}",
        problems.join("\n")
    );
}
