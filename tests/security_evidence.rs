//! The security evidence stays true to the code: `docs/security/asvs.md` (the OWASP ASVS
//! 5.0 level 2 map) and `docs/security/threat-model.md` name, for every claim, the tests
//! that prove it, and these checks fail when such a name stops meaning anything.
//!
//! What is enforced:
//! - the ASVS map has rows for every chapter in scope (V1, V3, V6, V7, V8, V9, V10, V11),
//!   each row once, of five cells;
//! - every row's status is `applicable`, `n/a` or `gap`, and a row that is not
//!   `applicable` says why;
//! - every `applicable` row names at least one test;
//! - the summary table counts what the rows say;
//! - every test either document names, written `` `path::function` `` with the path
//!   relative to the repository root, exists: the file is there and holds
//!   `fn function(` (a `conformance!` test is written `async fn function(t: TestDb)`,
//!   which contains it).
//!
//! Why: the documents are read as proof. A renamed or deleted test would leave a row
//! claiming evidence that no longer exists, and nothing else would notice. What these
//! checks cannot see is whether a named test proves what its row claims; a change to the
//! documents needs a reviewer for that.
//!
//! Plain `#[test]`s: they read files only, no database.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The ASVS chapters an authentication library answers for (see the map's header).
const CHAPTERS: [u32; 8] = [1, 3, 6, 7, 8, 9, 10, 11];

/// The statuses a row may have.
const STATUSES: [&str; 3] = ["applicable", "n/a", "gap"];

const ASVS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/security/asvs.md");
const THREAT_MODEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../docs/security/threat-model.md"
);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// One row of the ASVS map.
#[derive(Debug)]
struct Row {
    line: usize,
    id: String,
    chapter: u32,
    status: String,
    evidence: String,
}

/// `V<chapter>.<section>.<item>` → the chapter.
fn chapter_of(id: &str) -> Option<u32> {
    let parts: Vec<&str> = id.strip_prefix('V')?.split('.').collect();
    let numeric = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if numeric { parts[0].parse().ok() } else { None }
}

/// The requirement rows of the map: table lines whose first cell is a requirement id.
fn rows(text: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        let Some(inner) = line.strip_prefix('|').and_then(|l| l.strip_suffix('|')) else {
            continue;
        };
        let cells: Vec<&str> = inner.split('|').map(str::trim).collect();
        let Some(chapter) = cells.first().and_then(|id| chapter_of(id)) else {
            continue;
        };
        assert_eq!(
            cells.len(),
            5,
            "asvs.md line {}: a row has five cells (ID, L, Requirement, Status, Evidence), \
             and no cell may contain `|`: {line}",
            index + 1
        );
        rows.push(Row {
            line: index + 1,
            id: cells[0].to_owned(),
            chapter,
            status: cells[3].to_owned(),
            evidence: cells[4].to_owned(),
        });
    }
    rows
}

fn asvs_rows() -> Vec<Row> {
    rows(&read(ASVS))
}

/// Every `` `path::function` `` in `text` whose path ends in `.rs`: (path, function).
/// Code spans are read line by line, so a stray backtick cannot shift the rest of the file.
fn test_references(text: &str) -> Vec<(String, String)> {
    text.lines()
        .flat_map(|line| line.split('`').skip(1).step_by(2))
        .filter_map(|span| {
            let (path, function) = span.rsplit_once("::")?;
            let path_ok = path.ends_with(".rs")
                && path
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_./-".contains(&b));
            let function_ok = function
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
                && function
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_');
            (path_ok && function_ok).then(|| (path.to_owned(), function.to_owned()))
        })
        .collect()
}

/// The references among `refs` that name no existing function, as messages.
fn missing_tests(refs: &[(String, String)]) -> Vec<String> {
    let root = root();
    let mut files: BTreeMap<&str, Option<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (path, function) in refs {
        let source = files.entry(path.as_str()).or_insert_with(|| {
            let relative = Path::new(path);
            let inside = relative.is_relative()
                && relative
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)));
            if inside {
                std::fs::read_to_string(root.join(relative)).ok()
            } else {
                None
            }
        });
        match source {
            None => problems.push(format!("{path}::{function}: no file {path}")),
            Some(text) if !text.contains(&format!("fn {function}(")) => {
                problems.push(format!(
                    "{path}::{function}: {path} has no `fn {function}(`"
                ));
            }
            Some(_) => {}
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

#[test]
fn the_asvs_map_has_rows_for_every_chapter_in_scope() {
    let rows = asvs_rows();
    let present: BTreeSet<u32> = rows.iter().map(|r| r.chapter).collect();
    for chapter in CHAPTERS {
        assert!(
            present.contains(&chapter),
            "asvs.md has no row for chapter V{chapter}"
        );
    }
    let mut seen = BTreeSet::new();
    for row in &rows {
        assert!(
            seen.insert(row.id.as_str()),
            "asvs.md line {}: {} has a row already",
            row.line,
            row.id
        );
    }
}

#[test]
fn every_asvs_row_is_marked_applicable_na_or_gap() {
    for row in asvs_rows() {
        assert!(
            STATUSES.contains(&row.status.as_str()),
            "asvs.md line {}: {} has status {:?}, not one of {STATUSES:?}",
            row.line,
            row.id,
            row.status
        );
        assert!(
            !row.evidence.is_empty(),
            "asvs.md line {}: {} ({}) needs its evidence, reason or missing part",
            row.line,
            row.id,
            row.status
        );
    }
}

#[test]
fn every_applicable_asvs_row_names_a_test() {
    let bare: Vec<String> = asvs_rows()
        .iter()
        .filter(|r| r.status == "applicable" && test_references(&r.evidence).is_empty())
        .map(|r| format!("line {}: {}", r.line, r.id))
        .collect();
    assert!(
        bare.is_empty(),
        "applicable rows without a test (name one as `path::function`, or mark the row \
         `gap` with what is missing):\n{}",
        bare.join("\n")
    );
}

#[test]
fn the_asvs_summary_counts_the_rows() {
    let text = read(ASVS);
    let rows = rows(&text);
    // Summary lines: `| V<n> <name> | rows | applicable | n/a | gap |`, and `| all | … |`.
    let mut checked = 0;
    for line in text.lines() {
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        if cells.len() != 5 {
            continue;
        }
        let Ok(counts) = cells[1..]
            .iter()
            .map(|c| c.parse::<usize>())
            .collect::<Result<Vec<_>, _>>()
        else {
            continue;
        };
        let label = cells[0];
        let of_chapter = |r: &&Row| match label {
            "all" => true,
            _ => label
                .strip_prefix('V')
                .and_then(|rest| rest.split(' ').next())
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n == r.chapter),
        };
        let counted = |status: Option<&str>| {
            rows.iter()
                .filter(of_chapter)
                .filter(|r| status.is_none_or(|s| r.status == s))
                .count()
        };
        let actual = [
            counted(None),
            counted(Some("applicable")),
            counted(Some("n/a")),
            counted(Some("gap")),
        ];
        assert_eq!(
            counts, actual,
            "asvs.md summary line {label:?}: rows, applicable, n/a, gap"
        );
        checked += 1;
    }
    assert_eq!(
        checked,
        CHAPTERS.len() + 1,
        "asvs.md has a summary line per chapter and one for all"
    );
}

#[test]
fn the_asvs_map_names_only_tests_that_exist() {
    let refs = test_references(&read(ASVS));
    assert!(
        refs.len() > 100,
        "{} test references in asvs.md",
        refs.len()
    );
    let problems = missing_tests(&refs);
    assert!(
        problems.is_empty(),
        "asvs.md names tests that do not exist:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_threat_model_names_only_tests_that_exist() {
    let refs = test_references(&read(THREAT_MODEL));
    assert!(
        refs.len() > 50,
        "{} test references in threat-model.md",
        refs.len()
    );
    let problems = missing_tests(&refs);
    assert!(
        problems.is_empty(),
        "threat-model.md names tests that do not exist:\n{}",
        problems.join("\n")
    );
}

#[test]
fn a_reference_is_read_only_from_a_backticked_path_and_function() {
    let refs = test_references(
        "`tests/login.rs::log_in_issues_a_fresh_session_cookie_and_redirects`, \
         `sigra_core::features::login`, `sigra_core/src/crypto/keys.rs`, plain a.rs::b",
    );
    assert_eq!(
        refs,
        [(
            "tests/login.rs".to_owned(),
            "log_in_issues_a_fresh_session_cookie_and_redirects".to_owned()
        )]
    );
    let problems = missing_tests(&[
        ("tests/login.rs".into(), "no_such_test".into()),
        ("tests/nope.rs".into(), "x".into()),
        ("../Cargo.toml.rs".into(), "x".into()),
    ]);
    assert_eq!(problems.len(), 3, "{problems:?}");
}
