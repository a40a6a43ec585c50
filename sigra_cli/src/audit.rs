//! `sigra audit verify`: walks the audit log's hash chain
//! ([`sigra_core::features::audit::verify`]) and prints what it found; exits non-zero
//! naming the first broken link. Reads only: events not sealed yet are counted, not
//! sealed (the app's worker seals them).

use sigra_core::features::audit::{Verification, verify as verify_chain};

use crate::settings::Settings;
use crate::{CliError, Status};

/// Verifies the chain and prints the report.
pub async fn verify(settings: &Settings) -> Result<Status, CliError> {
    let auth = settings.auth(false).await?;
    let report = verify_chain(&auth).await?;
    auth.db.close().await;
    print!("{}", render(&report));
    Ok(if report.is_intact() {
        Status::Done
    } else {
        Status::Failed
    })
}

/// The report as text.
fn render(report: &Verification) -> String {
    let mut out = format!(
        "Audit chain: {} sealed event(s) checked; head at #{} with hash {}\n",
        report.checked, report.head_seq, report.head_hash
    );
    out.push_str(&format!(
        "Not sealed yet (not covered): {} event(s)\n",
        report.unsealed
    ));
    match &report.broken {
        None => out.push_str(
            "INTACT: every sealed event matches its link. Keep the head hash elsewhere to \
             detect a rewritten chain.\n",
        ),
        Some(broken) => {
            let event = broken
                .event_id
                .map_or_else(|| "no event".to_owned(), |id| format!("event {id}"));
            out.push_str(&format!(
                "BROKEN at link #{} ({event}): {} ({})\n",
                broken.seq,
                broken.problem,
                explain(broken.problem)
            ));
        }
    }
    out
}

/// What each problem of a broken link means.
fn explain(problem: &str) -> &'static str {
    match problem {
        "gap" => "a position is missing: a link was deleted",
        "prev_hash" => "not linked to the previous event: links were reordered",
        "missing" => "the event's row was deleted",
        "hash" => "the event or its link was changed",
        "personal" => "the event's IP, user agent or details were changed",
        "head" => "the chain ends before its head: links were deleted from its end",
        _ => "see sigra_core::features::audit",
    }
}
